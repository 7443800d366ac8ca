// The video player: hls.js on an HLS playlist (a live master playlist, a
// VOD or a clip), with quality menu, live-edge indicator, volume, theatre
// mode and fullscreen. hls.js is loaded on demand so pages without video
// do not pay for it.
import type HlsType from 'hls.js';
import type { ErrorData, Level } from 'hls.js';
import { useCallback, useEffect, useId, useRef, useState } from 'react';
import { usePlayerStore } from '../../stores/player';
import { backoffDelay } from '../../lib/backoff';
import { focusItemByKey, keyBelongsTo } from '../../lib/keys';
import { behindLabel, formatDuration } from '../../lib/format';
import {
  ExitFullscreenIcon,
  FullscreenIcon,
  GearIcon,
  MuteIcon,
  PauseIcon,
  PlayIcon,
  TheatreIcon,
  VolumeIcon,
} from '../icons';

export type PlayerSource = { kind: 'live'; channel: string } | { kind: 'vod'; url: string };

export interface QualityLevel {
  index: number;
  height: number;
  bitrate: number;
  label: string;
}

export function liveUrl(channel: string): string {
  return `/hls/${encodeURIComponent(channel)}/master.m3u8`;
}

export function levelLabel(level: Pick<Level, 'height' | 'bitrate' | 'name'> & { frameRate?: number }): string {
  if (level.name && /\d+p/.test(level.name)) return level.name;
  if (level.height) {
    const fps = level.frameRate && level.frameRate > 49 ? Math.round(level.frameRate) : 0;
    return `${level.height}p${fps ? fps : ''}`;
  }
  if (level.bitrate) return `${Math.round(level.bitrate / 1000)} kbps`;
  return level.name || 'Source';
}

/** Seconds behind the live edge beyond which the "go live" button shows. */
const BEHIND_SLACK = 4;

type State = 'loading' | 'playing' | 'paused' | 'buffering' | 'waiting' | 'error';

export function Player({
  source,
  poster,
  title,
  autoPlay = true,
  startMuted = false,
  showTheatre = false,
  onUnavailable,
}: {
  source: PlayerSource;
  poster?: string | null;
  title?: string;
  autoPlay?: boolean;
  startMuted?: boolean;
  showTheatre?: boolean;
  /** the live playlist went away (stream ended): the page may refetch the channel */
  onUnavailable?: () => void;
}) {
  const videoRef = useRef<HTMLVideoElement>(null);
  const boxRef = useRef<HTMLDivElement>(null);
  const hlsRef = useRef<HlsType | null>(null);
  const hideTimer = useRef<ReturnType<typeof setTimeout> | null>(null);
  const onUnavailableRef = useRef(onUnavailable);
  onUnavailableRef.current = onUnavailable;

  const volume = usePlayerStore((s) => s.volume);
  const muted = usePlayerStore((s) => s.muted);
  const theatre = usePlayerStore((s) => s.theatre);
  const prefs = usePlayerStore.getState;

  const [state, setState] = useState<State>('loading');
  const [message, setMessage] = useState<string | null>(null);
  const [levels, setLevels] = useState<QualityLevel[]>([]);
  const [currentLevel, setCurrentLevel] = useState(-1);
  const [autoLevel, setAutoLevel] = useState(true);
  const [selectedLevel, setSelectedLevel] = useState(-1);
  const [behind, setBehind] = useState(0);
  const [targetLatency, setTargetLatency] = useState(6);
  const [autoMuted, setAutoMuted] = useState(false);
  const [fullscreen, setFullscreen] = useState(false);
  const [controlsVisible, setControlsVisible] = useState(true);
  const [menuOpen, setMenuOpen] = useState(false);
  const [time, setTime] = useState({ current: 0, duration: 0 });
  const [reloadNonce, setReloadNonce] = useState(0);
  const menuId = useId();
  const qualityButtonRef = useRef<HTMLButtonElement>(null);

  const isLive = source.kind === 'live';
  const src = source.kind === 'live' ? liveUrl(source.channel) : source.url;

  // --- load the source -------------------------------------------------------
  useEffect(() => {
    const video = videoRef.current;
    if (!video) return;
    let cancelled = false;
    let retryTimer: ReturnType<typeof setTimeout> | null = null;
    let failures = 0;
    setState('loading');
    setMessage(null);
    setLevels([]);
    setCurrentLevel(-1);
    setAutoLevel(true);
    setSelectedLevel(-1);

    const tryPlay = () => {
      if (!autoPlay) {
        setState('paused');
        return;
      }
      video.play().catch(() => {
        // autoplay with sound refused: start muted and offer to unmute
        if (cancelled) return;
        video.muted = true;
        setAutoMuted(true);
        video.play().catch(() => setState('paused'));
      });
    };

    const load = async () => {
      if (!/\.m3u8(\?|$)/i.test(src)) {
        // a progressive file (e.g. a clip's MP4): the browser plays it itself
        video.src = src;
        video.addEventListener('loadedmetadata', tryPlay, { once: true });
        video.addEventListener(
          'error',
          () => {
            if (cancelled) return;
            setState('error');
            setMessage("This video can't be played right now.");
          },
          { once: true },
        );
        return;
      }
      const { default: Hls } = await import('hls.js');
      if (cancelled) return;

      if (!Hls.isSupported()) {
        if (video.canPlayType('application/vnd.apple.mpegurl')) {
          video.src = src;
          video.addEventListener('loadedmetadata', tryPlay, { once: true });
          return;
        }
        setState('error');
        setMessage('This browser cannot play HLS video.');
        return;
      }

      const hls = new Hls({
        lowLatencyMode: true,
        backBufferLength: 30,
        maxLiveSyncPlaybackRate: 1.25,
        manifestLoadingMaxRetry: 1,
        levelLoadingMaxRetry: 3,
        fragLoadingMaxRetry: 4,
      });
      hlsRef.current = hls;

      hls.on(Hls.Events.MANIFEST_PARSED, (_e, data) => {
        failures = 0;
        const list = data.levels.map((l: Level, index: number) => ({
          index,
          height: l.height,
          bitrate: l.bitrate,
          label: levelLabel(l),
        }));
        setLevels(list);
        const pref = prefs().quality;
        if (pref !== null) {
          const match = list.find((l) => l.height === pref);
          if (match) {
            hls.currentLevel = match.index;
            setAutoLevel(false);
            setSelectedLevel(match.index);
          }
        }
        tryPlay();
      });

      hls.on(Hls.Events.LEVEL_SWITCHED, (_e, data) => setCurrentLevel(data.level));
      hls.on(Hls.Events.LEVEL_UPDATED, () => {
        const t = hls.targetLatency;
        if (t && Number.isFinite(t)) setTargetLatency(t);
      });

      hls.on(Hls.Events.ERROR, (_e, data: ErrorData) => {
        if (!data.fatal) return;
        if (data.type === Hls.ErrorTypes.MEDIA_ERROR && failures < 3) {
          failures++;
          hls.recoverMediaError();
          return;
        }
        const status = data.response?.code ?? 0;
        hls.destroy();
        hlsRef.current = null;
        if (cancelled) return;
        if (isLive) {
          if (status === 404 || status === 410) {
            setState('waiting');
            setMessage('Waiting for the stream to start…');
            if (failures >= 1) onUnavailableRef.current?.();
          } else {
            setState('error');
            setMessage('The stream stopped loading. Reconnecting…');
          }
          const delay = Math.min(backoffDelay(failures), 10_000);
          failures++;
          retryTimer = setTimeout(() => {
            if (!cancelled) load().catch(() => undefined);
          }, delay);
        } else {
          setState('error');
          setMessage(status === 404 ? 'This video is no longer available.' : "This video can't be played right now.");
        }
      });

      hls.loadSource(src);
      hls.attachMedia(video);
    };

    load().catch(() => {
      if (cancelled) return;
      setState('error');
      setMessage('The player failed to load.');
    });

    return () => {
      cancelled = true;
      if (retryTimer) clearTimeout(retryTimer);
      hlsRef.current?.destroy();
      hlsRef.current = null;
      video.removeAttribute('src');
      video.load();
    };
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [src, isLive, autoPlay, reloadNonce]);

  // --- volume ------------------------------------------------------------------
  useEffect(() => {
    const video = videoRef.current;
    if (!video) return;
    video.volume = volume;
    video.muted = muted || autoMuted || startMuted;
  }, [volume, muted, autoMuted, startMuted]);

  // --- media events --------------------------------------------------------------
  useEffect(() => {
    const video = videoRef.current;
    if (!video) return;
    const onPlaying = () => {
      setState('playing');
      setMessage(null);
    };
    const onPause = () => setState((s) => (s === 'error' || s === 'waiting' ? s : 'paused'));
    const onWaiting = () => setState((s) => (s === 'playing' ? 'buffering' : s));
    const onTime = () => setTime({ current: video.currentTime, duration: video.duration });
    video.addEventListener('playing', onPlaying);
    video.addEventListener('pause', onPause);
    video.addEventListener('waiting', onWaiting);
    video.addEventListener('timeupdate', onTime);
    video.addEventListener('durationchange', onTime);
    return () => {
      video.removeEventListener('playing', onPlaying);
      video.removeEventListener('pause', onPause);
      video.removeEventListener('waiting', onWaiting);
      video.removeEventListener('timeupdate', onTime);
      video.removeEventListener('durationchange', onTime);
    };
  }, []);

  // --- live latency --------------------------------------------------------------
  useEffect(() => {
    if (!isLive) return;
    const id = setInterval(() => {
      const video = videoRef.current;
      if (!video) return;
      const hls = hlsRef.current;
      let b = hls && Number.isFinite(hls.latency) ? hls.latency : NaN;
      if (!Number.isFinite(b) && video.seekable.length > 0) {
        b = video.seekable.end(video.seekable.length - 1) - video.currentTime;
      }
      setBehind(Number.isFinite(b) ? Math.max(0, b) : 0);
    }, 1000);
    return () => clearInterval(id);
  }, [isLive]);

  // --- fullscreen ----------------------------------------------------------------
  useEffect(() => {
    const on = () => setFullscreen(document.fullscreenElement === boxRef.current);
    document.addEventListener('fullscreenchange', on);
    return () => document.removeEventListener('fullscreenchange', on);
  }, []);

  // --- actions -----------------------------------------------------------------------
  const togglePlay = useCallback(() => {
    const video = videoRef.current;
    if (!video) return;
    if (video.paused) {
      video.play().catch(() => undefined);
    } else {
      video.pause();
    }
  }, []);

  const toggleMute = useCallback(() => {
    if (autoMuted) {
      setAutoMuted(false);
      prefs().setMuted(false);
      return;
    }
    prefs().toggleMuted();
  }, [autoMuted, prefs]);

  const toggleFullscreen = useCallback(() => {
    const box = boxRef.current;
    const video = videoRef.current as (HTMLVideoElement & { webkitEnterFullscreen?: () => void }) | null;
    if (!box) return;
    if (document.fullscreenElement) {
      void document.exitFullscreen();
    } else if (box.requestFullscreen) {
      box.requestFullscreen().catch(() => undefined);
    } else if (video?.webkitEnterFullscreen) {
      video.webkitEnterFullscreen();
    }
  }, []);

  const goLive = useCallback(() => {
    const video = videoRef.current;
    if (!video) return;
    const hls = hlsRef.current;
    const pos = hls?.liveSyncPosition;
    if (pos !== null && pos !== undefined && Number.isFinite(pos)) {
      video.currentTime = pos;
    } else if (video.seekable.length > 0) {
      video.currentTime = Math.max(0, video.seekable.end(video.seekable.length - 1) - 3);
    }
    video.play().catch(() => undefined);
  }, []);

  /** Closes the quality menu; back to its button unless focus went elsewhere. */
  const closeMenu = useCallback((refocus: boolean) => {
    setMenuOpen(false);
    if (refocus) qualityButtonRef.current?.focus();
  }, []);

  const chooseLevel = useCallback(
    (index: number) => {
      const hls = hlsRef.current;
      closeMenu(true);
      if (!hls) return;
      if (index < 0) {
        hls.currentLevel = -1;
        setAutoLevel(true);
        setSelectedLevel(-1);
        prefs().setQuality(null);
      } else {
        hls.currentLevel = index;
        setAutoLevel(false);
        setSelectedLevel(index);
        prefs().setQuality(levels[index]?.height ?? null);
      }
    },
    [levels, prefs, closeMenu],
  );

  const poke = useCallback(() => {
    setControlsVisible(true);
    if (hideTimer.current) clearTimeout(hideTimer.current);
    hideTimer.current = setTimeout(() => setControlsVisible(false), 3000);
  }, []);
  useEffect(() => () => {
    if (hideTimer.current) clearTimeout(hideTimer.current);
  }, []);

  const onKeyDown = (e: React.KeyboardEvent) => {
    const target = e.target as HTMLElement;
    // a control does its own job with its keys (Space presses the mute button, arrows move the volume)
    if (target.closest('[role="menu"]')) return;
    if (target !== e.currentTarget && keyBelongsTo(target, e.key)) return;
    if (e.altKey || e.ctrlKey || e.metaKey) return;
    const video = videoRef.current;
    poke();
    switch (e.key) {
      case ' ':
      case 'k':
        e.preventDefault();
        togglePlay();
        break;
      case 'm':
        toggleMute();
        break;
      case 'f':
        toggleFullscreen();
        break;
      case 't':
        if (showTheatre) prefs().toggleTheatre();
        break;
      case 'ArrowUp':
        e.preventDefault();
        prefs().setVolume(prefs().volume + 0.1);
        break;
      case 'ArrowDown':
        e.preventDefault();
        prefs().setVolume(prefs().volume - 0.1);
        break;
      case 'ArrowRight':
        if (!isLive && video) video.currentTime = Math.min(video.duration || 0, video.currentTime + 10);
        break;
      case 'ArrowLeft':
        if (!isLive && video) video.currentTime = Math.max(0, video.currentTime - 10);
        break;
    }
  };

  const paused = state === 'paused';
  const showControls = controlsVisible || paused || menuOpen || state !== 'playing';
  const soundOff = muted || autoMuted || startMuted || volume === 0;
  const atLiveEdge = behind <= targetLatency + BEHIND_SLACK;
  const activeLabel =
    currentLevel >= 0 && levels[currentLevel] ? levels[currentLevel].label : levels.length ? levels[0].label : '';

  return (
    <div
      ref={boxRef}
      className={`group relative w-full overflow-hidden bg-black ${fullscreen ? 'h-full' : 'aspect-video'}`}
      tabIndex={0}
      role="region"
      aria-label={title ? `Video player: ${title}` : 'Video player'}
      data-testid="player"
      data-state={state}
      data-level={currentLevel}
      data-auto-level={autoLevel ? 'true' : 'false'}
      data-live={isLive ? 'true' : 'false'}
      onKeyDown={onKeyDown}
      onMouseMove={poke}
      onMouseLeave={() => setControlsVisible(false)}
    >
      <video
        ref={videoRef}
        className="h-full w-full bg-black object-contain"
        playsInline
        poster={poster ?? undefined}
        onClick={togglePlay}
        onDoubleClick={toggleFullscreen}
        aria-label={title ?? 'Video'}
      />

      {(state === 'loading' || state === 'buffering') && (
        <div className="pointer-events-none absolute inset-0 flex items-center justify-center" role="status">
          <span className="h-12 w-12 animate-spin rounded-full border-4 border-white/20 border-t-white" aria-hidden="true" />
          <span className="sr-only">Loading video</span>
        </div>
      )}

      {(state === 'waiting' || state === 'error') && message && (
        <div className="absolute inset-0 flex flex-col items-center justify-center gap-3 bg-black/70 p-4 text-center" role="status">
          <p className="font-semibold">{message}</p>
          {!isLive && (
            <button type="button" className="btn-secondary" onClick={() => setReloadNonce((n) => n + 1)}>
              Try again
            </button>
          )}
        </div>
      )}

      {paused && (
        <button
          type="button"
          className="absolute left-1/2 top-1/2 flex h-16 w-16 -translate-x-1/2 -translate-y-1/2 items-center justify-center rounded-full bg-black/60 text-white hover:bg-brand"
          aria-label="Play"
          onClick={togglePlay}
        >
          <PlayIcon size={32} />
        </button>
      )}

      {autoMuted && (
        <button
          type="button"
          className="absolute left-3 top-3 flex items-center gap-2 rounded-md bg-black/75 px-3 py-1.5 text-sm font-semibold hover:bg-brand"
          onClick={toggleMute}
        >
          <MuteIcon size={18} /> Click to unmute
        </button>
      )}

      <div
        className={`absolute inset-x-0 bottom-0 bg-gradient-to-t from-black/85 to-transparent px-2 pb-1.5 pt-8 transition-opacity duration-200 focus-within:opacity-100 ${
          showControls ? 'opacity-100' : 'opacity-0'
        }`}
      >
        {!isLive && time.duration > 0 && Number.isFinite(time.duration) && (
          <input
            type="range"
            aria-label="Seek"
            className="mb-1 h-1 w-full cursor-pointer accent-brand"
            min={0}
            max={time.duration}
            step={0.1}
            value={time.current}
            aria-valuetext={`${formatDuration(time.current)} of ${formatDuration(time.duration)}`}
            onChange={(e) => {
              const v = Number(e.target.value);
              if (videoRef.current) videoRef.current.currentTime = v;
            }}
          />
        )}
        <div className="flex items-center gap-1 text-white">
          <button type="button" className="rounded p-1.5 hover:bg-white/15" aria-label={paused ? 'Play' : 'Pause'} onClick={togglePlay}>
            {paused ? <PlayIcon /> : <PauseIcon />}
          </button>
          <button type="button" className="rounded p-1.5 hover:bg-white/15" aria-label={soundOff ? 'Unmute' : 'Mute'} onClick={toggleMute}>
            {soundOff ? <MuteIcon /> : <VolumeIcon />}
          </button>
          <input
            type="range"
            aria-label="Volume"
            className="hidden w-20 cursor-pointer accent-brand sm:block"
            min={0}
            max={1}
            step={0.05}
            value={soundOff ? 0 : volume}
            aria-valuetext={`${Math.round((soundOff ? 0 : volume) * 100)}%`}
            onChange={(e) => {
              setAutoMuted(false);
              prefs().setVolume(Number(e.target.value));
            }}
          />

          {isLive ? (
            atLiveEdge ? (
              <span className="ml-2 flex items-center gap-1.5 text-xs font-bold uppercase" data-testid="live-indicator">
                <span className="h-2 w-2 rounded-full bg-live" aria-hidden="true" /> Live
              </span>
            ) : (
              <button
                type="button"
                className="ml-2 flex items-center gap-1.5 rounded bg-white/10 px-2 py-1 text-xs font-semibold hover:bg-brand"
                onClick={goLive}
                data-testid="live-indicator"
              >
                <span className="h-2 w-2 rounded-full bg-muted" aria-hidden="true" />
                {behindLabel(behind)} — go live
              </button>
            )
          ) : (
            time.duration > 0 &&
            Number.isFinite(time.duration) && (
              <span className="ml-2 text-xs tabular-nums">
                {formatDuration(time.current)} / {formatDuration(time.duration)}
              </span>
            )
          )}

          <div className="ml-auto flex items-center gap-1">
            {levels.length > 1 && (
              <div className="relative">
                <button
                  ref={qualityButtonRef}
                  type="button"
                  className="flex items-center gap-1 rounded p-1.5 text-xs font-semibold hover:bg-white/15"
                  aria-label={`Quality: ${autoLevel ? `Auto (${activeLabel})` : activeLabel}`}
                  aria-haspopup="menu"
                  aria-expanded={menuOpen}
                  aria-controls={menuOpen ? menuId : undefined}
                  data-testid="quality-button"
                  onClick={() => setMenuOpen((o) => !o)}
                >
                  <GearIcon />
                  <span className="hidden sm:inline">{autoLevel ? `Auto${activeLabel ? ` (${activeLabel})` : ''}` : activeLabel}</span>
                </button>
                {menuOpen && (
                  <QualityMenu
                    id={menuId}
                    levels={levels}
                    auto={autoLevel}
                    current={selectedLevel}
                    onChoose={chooseLevel}
                    onClose={closeMenu}
                  />
                )}
              </div>
            )}
            {showTheatre && (
              <button
                type="button"
                className="hidden rounded p-1.5 hover:bg-white/15 md:block"
                aria-label={theatre ? 'Exit theatre mode' : 'Theatre mode'}
                aria-pressed={theatre}
                onClick={() => prefs().toggleTheatre()}
              >
                <TheatreIcon />
              </button>
            )}
            <button
              type="button"
              className="rounded p-1.5 hover:bg-white/15"
              aria-label={fullscreen ? 'Exit fullscreen' : 'Fullscreen'}
              onClick={toggleFullscreen}
            >
              {fullscreen ? <ExitFullscreenIcon /> : <FullscreenIcon />}
            </button>
          </div>
        </div>
      </div>
    </div>
  );
}

function QualityMenu({
  id,
  levels,
  auto,
  current,
  onChoose,
  onClose,
}: {
  id: string;
  levels: QualityLevel[];
  auto: boolean;
  current: number;
  onChoose: (index: number) => void;
  /** refocus: give focus back to the quality button (Escape), not when it went elsewhere */
  onClose: (refocus: boolean) => void;
}) {
  const ref = useRef<HTMLDivElement>(null);
  useEffect(() => {
    const el = ref.current;
    el?.querySelector<HTMLElement>('[aria-checked="true"]')?.focus();
    const onDoc = (e: MouseEvent) => {
      if (el && !el.contains(e.target as Node) && !(e.target as HTMLElement).closest('[data-testid="quality-button"]')) onClose(false);
    };
    document.addEventListener('mousedown', onDoc);
    return () => document.removeEventListener('mousedown', onDoc);
  }, [onClose]);

  const sorted = [...levels].sort((a, b) => b.height - a.height || b.bitrate - a.bitrate);
  const item = 'flex w-full items-center justify-between gap-4 px-3 py-1.5 text-left text-sm hover:bg-white/10 focus:bg-white/10 focus:outline-none';
  return (
    <div
      ref={ref}
      id={id}
      role="menu"
      aria-label="Video quality"
      className="absolute bottom-full right-0 z-10 mb-2 min-w-40 overflow-hidden rounded-md bg-surface-1/95 py-1 shadow-xl"
      onKeyDown={(e) => {
        if (e.key === 'Escape') {
          e.preventDefault();
          e.stopPropagation();
          onClose(true);
          return;
        }
        const items = Array.from(ref.current?.querySelectorAll<HTMLElement>('[role="menuitemradio"]') ?? []);
        if (focusItemByKey(e.key, items)) {
          e.preventDefault();
          e.stopPropagation();
        }
      }}
      onBlur={(e) => {
        // Tab (or a click) took focus out of the menu: it closes
        const to = e.relatedTarget as HTMLElement | null;
        if (to && !e.currentTarget.contains(to) && !to.closest('[data-testid="quality-button"]')) onClose(false);
      }}
    >
      <button type="button" role="menuitemradio" tabIndex={-1} aria-checked={auto} className={item} onClick={() => onChoose(-1)}>
        <span>Auto</span>
        {auto && <span aria-hidden="true">✓</span>}
      </button>
      {sorted.map((l) => (
        <button
          key={l.index}
          type="button"
          role="menuitemradio"
          tabIndex={-1}
          aria-checked={!auto && current === l.index}
          data-level-index={l.index}
          className={item}
          onClick={() => onChoose(l.index)}
        >
          <span>{l.label}</span>
          {!auto && current === l.index && <span aria-hidden="true">✓</span>}
        </button>
      ))}
    </div>
  );
}
