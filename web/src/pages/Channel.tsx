import { Link } from '@tanstack/react-router';
import { useCallback, useEffect, useState, type KeyboardEvent } from 'react';
import { ApiError, errorMessage } from '../api/client';
import { channelApi, emoteApi, moderationApi, streamApi } from '../api/endpoints';
import type { ChannelDetail, Clip, Vod } from '../api/types';
import { Avatar } from '../components/Avatar';
import { ClipCard, LiveBadge, VodCard } from '../components/Cards';
import { ChatPanel } from '../components/chat/ChatPanel';
import { Dialog } from '../components/Dialog';
import { ClipIcon, CopyIcon, HeartIcon, StarIcon } from '../components/icons';
import { Player } from '../components/player/Player';
import { EmptyState, ErrorState, Spinner } from '../components/States';
import { SubscribeDialog } from '../components/SubscribeDialog';
import { parseRoomState } from '../lib/chatProtocol';
import { chatConnection } from '../lib/chat';
import { followersLabel, formatCount, formatDate, timeAgo } from '../lib/format';
import { listKeyTarget } from '../lib/keys';
import { useAsync, useTitle } from '../lib/useAsync';
import { useAuthStore } from '../stores/auth';
import { useChatStore } from '../stores/chat';
import { usePlayerStore } from '../stores/player';
import { useUiStore } from '../stores/ui';
import { NotFoundPage } from './NotFound';

type Tab = 'about' | 'videos' | 'clips';
const TABS: Tab[] = ['about', 'videos', 'clips'];
const TAB_LABEL: Record<Tab, string> = { about: 'About', videos: 'Videos', clips: 'Clips' };

/** Live video, else the latest VOD, else an offline card. */
function ChannelVideo({ channel, onUnavailable }: { channel: ChannelDetail; onUnavailable: () => void }) {
  const vods = useAsync(
    () => (channel.isLive ? Promise.resolve({ vods: [] as Vod[] }) : streamApi.vods(channel.id, 1)),
    [channel.id, channel.isLive],
  );

  if (channel.isLive) {
    return (
      <Player
        source={{ kind: 'live', channel: channel.name }}
        poster={channel.thumbnailUrl}
        title={`${channel.user.displayName}: ${channel.title}`}
        showTheatre
        onUnavailable={onUnavailable}
      />
    );
  }
  const latest = vods.data?.vods.find((v) => v.vodUrl);
  if (latest && latest.vodUrl) {
    return (
      <div className="relative">
        <Player
          source={{ kind: 'vod', url: latest.vodUrl }}
          poster={latest.thumbnailUrl}
          title={latest.title}
          showTheatre
        />
        <div className="pointer-events-none absolute left-3 top-3 rounded bg-black/75 px-2 py-1 text-xs">
          <span className="font-semibold">Offline</span> · latest broadcast: {latest.title} ({timeAgo(latest.startedAt)})
        </div>
      </div>
    );
  }
  return (
    <div
      className="relative flex aspect-video w-full flex-col items-center justify-center gap-3 overflow-hidden bg-surface-0 text-center"
      data-testid="offline-card"
    >
      {channel.offlineBannerUrl && (
        <img src={channel.offlineBannerUrl} alt="" className="absolute inset-0 h-full w-full object-cover opacity-40" />
      )}
      <div className="relative flex flex-col items-center gap-3 p-4">
        <Avatar name={channel.name} url={channel.user.avatarUrl} size={72} />
        <p className="text-lg font-bold">{channel.user.displayName} is offline</p>
        <p className="text-sm text-muted">{vods.loading ? 'Looking for past broadcasts…' : 'Follow to know when they go live.'}</p>
      </div>
    </div>
  );
}

function VideosTab({ channel }: { channel: ChannelDetail }) {
  const q = useAsync(() => streamApi.vods(channel.id, 24), [channel.id]);
  if (q.loading) return <Spinner />;
  if (q.error) return <ErrorState error={q.error} title="Couldn't load past broadcasts" onRetry={q.reload} />;
  if (!q.data?.vods.length) return <EmptyState title="No past broadcasts yet" />;
  return (
    <div className="grid grid-cols-1 gap-4 sm:grid-cols-2 xl:grid-cols-3">
      {q.data.vods.map((v) => (
        <VodCard key={v.id} vod={v} channelName={channel.name} />
      ))}
    </div>
  );
}

function ClipsTab({ channel }: { channel: ChannelDetail }) {
  const q = useAsync(() => channelApi.clips(channel.name, 24), [channel.name]);
  if (q.loading) return <Spinner />;
  if (q.error) return <ErrorState error={q.error} title="Couldn't load clips" onRetry={q.reload} />;
  if (!q.data?.clips.length) return <EmptyState title="No clips yet">Clip a great moment while the channel is live.</EmptyState>;
  return (
    <div className="grid grid-cols-1 gap-4 sm:grid-cols-2 xl:grid-cols-3">
      {q.data.clips.map((c) => (
        <ClipCard key={c.id} clip={c} />
      ))}
    </div>
  );
}

function AboutTab({ channel }: { channel: ChannelDetail }) {
  return (
    <div className="card space-y-3">
      <h2 className="text-lg font-bold">About {channel.user.displayName}</h2>
      <p className="text-sm text-muted">
        {followersLabel(channel.followerCount)} · {formatCount(channel.subscriberCount)}{' '}
        {channel.subscriberCount === 1 ? 'subscriber' : 'subscribers'}
        {channel.createdAt ? ` · since ${formatDate(channel.createdAt)}` : ''}
      </p>
      {channel.description && <p className="whitespace-pre-line text-sm">{channel.description}</p>}
      {channel.user.bio && channel.user.bio !== channel.description && <p className="whitespace-pre-line text-sm text-muted">{channel.user.bio}</p>}
      {!channel.description && !channel.user.bio && <p className="text-sm text-muted">This channel has no description yet.</p>}
    </div>
  );
}

function ClipDialog({ clip, onClose }: { clip: Clip; onClose: () => void }) {
  const url = `${window.location.origin}/clip/${clip.slug}`;
  const toast = useUiStore((s) => s.toast);
  return (
    <Dialog title="Clip created" onClose={onClose}>
      <p className="mb-3 text-sm text-muted">Your clip “{clip.title}” is ready to share.</p>
      <div className="flex gap-2">
        <input className="input" readOnly value={url} aria-label="Clip link" onFocus={(e) => e.currentTarget.select()} />
        <button
          type="button"
          className="btn-secondary"
          aria-label="Copy clip link"
          onClick={() =>
            navigator.clipboard?.writeText(url).then(
              () => toast('Link copied.', 'success'),
              () => toast('Copy failed — select the link and copy it.', 'error'),
            )
          }
        >
          <CopyIcon size={16} />
        </button>
      </div>
      <div className="mt-4 flex justify-end">
        <Link to="/clip/$slug" params={{ slug: clip.slug }} className="btn-primary" target="_blank" rel="noopener">
          Open clip
        </Link>
      </div>
    </Dialog>
  );
}

export function ChannelPage({ name }: { name: string }) {
  const user = useAuthStore((s) => s.user);
  const authLoading = useAuthStore((s) => s.loading);
  const openAuth = useUiStore((s) => s.openAuth);
  const toast = useUiStore((s) => s.toast);
  const theatre = usePlayerStore((s) => s.theatre);
  const streamEpoch = useChatStore((s) => s.streamEpoch);
  const emotes = useChatStore((s) => s.emotes);
  const identity = useChatStore((s) => s.identity);
  const liveViewers = useChatStore((s) => s.viewerCount);

  // refetch when the viewer signs in or out (isFollowing / isSubscribed) and on stream events
  const q = useAsync(() => channelApi.get(name), [name, user?.id, streamEpoch]);
  const channel = q.data?.channel;
  const setChannelData = q.setData;
  useTitle(channel ? `${channel.user.displayName}${channel.isLive ? ' (live)' : ''}` : name);

  const [tab, setTab] = useState<Tab>('about');
  const [subOpen, setSubOpen] = useState(false);
  const [busy, setBusy] = useState<string | null>(null);
  const [clip, setClip] = useState<Clip | null>(null);

  const channelId = channel?.id ?? null;

  // chat room
  useEffect(() => {
    if (channelId === null) return;
    chatConnection.join(channelId);
    return () => chatConnection.join(null);
  }, [channelId]);

  // emotes (locks depend on the viewer's subscription) and room modes
  const loadEmotes = useCallback(() => {
    if (channelId === null) return;
    emoteApi.available(channelId).then(
      (r) => useChatStore.getState().setEmotes(r.emotes),
      () => useChatStore.getState().setEmotes([]),
    );
  }, [channelId]);
  useEffect(() => {
    loadEmotes();
  }, [loadEmotes, user?.id, channel?.isSubscribed]);
  useEffect(() => {
    if (channelId === null) return;
    moderationApi.filters(channelId).then(
      (r) => useChatStore.getState().setRoom(parseRoomState(r.filters)),
      () => undefined,
    );
  }, [channelId]);

  // keep live state and viewer count fresh
  const reload = q.reload;
  useEffect(() => {
    const id = setInterval(() => {
      if (document.visibilityState === 'visible') reload();
    }, 60_000);
    return () => clearInterval(id);
  }, [reload]);

  if (q.error instanceof ApiError && q.error.status === 404) return <NotFoundPage what="Channel not found" />;
  if (!channel) {
    return q.error ? (
      <div className="p-6">
        <ErrorState error={q.error} title="Couldn't load this channel" onRetry={q.reload} />
      </div>
    ) : (
      <Spinner label="Loading channel" />
    );
  }

  const isOwner =
    channel.isOwner === true ||
    (!!user && (user.id === channel.user.id || user.username.toLowerCase() === channel.user.username.toLowerCase()));
  const canModerate =
    !!user &&
    (isOwner || user.role === 'admin' || user.role === 'moderator' || channel.isModerator === true || identity?.role === 'admin');
  const subTier = channel.isSubscribed ? (channel.subscriptionTier ?? 1) : null;

  const requireLogin = () => {
    openAuth('login');
  };

  const toggleFollow = async () => {
    if (!user) return requireLogin();
    if (busy === 'follow' || authLoading) return;
    setBusy('follow');
    const was = channel.isFollowing;
    setChannelData((d) =>
      d ? { channel: { ...d.channel, isFollowing: !was, followerCount: Math.max(0, d.channel.followerCount + (was ? -1 : 1)) } } : d,
    );
    try {
      if (was) await channelApi.unfollow(channel.name);
      else await channelApi.follow(channel.name);
    } catch (err) {
      setChannelData((d) =>
        d ? { channel: { ...d.channel, isFollowing: was, followerCount: Math.max(0, d.channel.followerCount + (was ? 1 : -1)) } } : d,
      );
      toast(errorMessage(err), 'error');
    } finally {
      setBusy(null);
    }
  };

  const makeClip = async () => {
    if (!user) return requireLogin();
    if (busy === 'clip') return;
    setBusy('clip');
    try {
      const r = await streamApi.createClip(channel.name, 30);
      setClip(r.clip);
    } catch (err) {
      toast(errorMessage(err), 'error');
    } finally {
      setBusy(null);
    }
  };

  const info = (
    <div className="flex flex-col gap-3 p-3 sm:flex-row sm:items-start sm:p-4">
      <div className="flex min-w-0 flex-1 gap-3">
        <Avatar name={channel.name} url={channel.user.avatarUrl} size={56} live={channel.isLive} />
        <div className="min-w-0">
          <h1 className="flex items-center gap-2 text-lg font-bold">
            <span className="truncate">{channel.user.displayName}</span>
            {channel.isLive && <LiveBadge />}
          </h1>
          <p className="truncate font-semibold" title={channel.title} data-testid="channel-title">
            {channel.title}
          </p>
          <p className="flex flex-wrap items-center gap-x-2 text-sm text-muted">
            {channel.category && (
              <Link to="/category/$slug" params={{ slug: channel.category.slug }} className="text-brand-soft hover:underline">
                {channel.category.name}
              </Link>
            )}
            {channel.tags?.map((t) => (
              <span key={t} className="rounded-full bg-surface-3 px-2 py-0.5 text-xs">
                {t}
              </span>
            ))}
          </p>
          <p className="text-sm text-muted">
            {followersLabel(channel.followerCount)}
            {channel.isLive && <> · {formatCount(liveViewers ?? channel.viewerCount)} watching</>}
          </p>
        </div>
      </div>
      <div className="flex shrink-0 flex-wrap items-center gap-2">
        {isOwner ? (
          <Link to="/dashboard" className="btn-secondary">
            Creator Dashboard
          </Link>
        ) : (
          <>
            <button
              type="button"
              className={channel.isFollowing ? 'btn-secondary' : 'btn-primary'}
              aria-pressed={channel.isFollowing}
              aria-disabled={busy === 'follow' || authLoading}
              onClick={toggleFollow}
              data-testid="follow-button"
            >
              <HeartIcon size={16} filled={channel.isFollowing} />
              {channel.isFollowing ? 'Following' : 'Follow'}
            </button>
            <button
              type="button"
              className="btn-secondary"
              onClick={() => (user ? setSubOpen(true) : requireLogin())}
              data-testid="subscribe-button"
              aria-label={subTier ? `Subscribed at Tier ${subTier}: renew or change tier` : `Subscribe to ${channel.user.displayName}`}
            >
              <StarIcon size={16} filled={!!subTier} />
              {subTier ? `Subscribed (Tier ${subTier})` : 'Subscribe'}
            </button>
          </>
        )}
        {channel.isLive && (
          <button
            type="button"
            className="btn-secondary"
            onClick={makeClip}
            aria-disabled={busy === 'clip'}
            aria-label="Clip the last 30 seconds"
            title="Clip the last 30 seconds"
            data-testid="clip-button"
          >
            <ClipIcon size={16} />
            {busy === 'clip' ? 'Clipping…' : 'Clip'}
          </button>
        )}
      </div>
    </div>
  );

  // one tab stop; the arrows, Home and End choose a section (rendered twice: beside and below the chat)
  const onTabKey = (e: KeyboardEvent<HTMLButtonElement>, where: string) => {
    const next = listKeyTarget(e.key, TABS.indexOf(tab), TABS.length, 'horizontal');
    if (next === null) return;
    e.preventDefault();
    setTab(TABS[next]);
    document.getElementById(`${where}-tab-${TABS[next]}`)?.focus();
  };
  const tabs = (where: string) => (
    <div className="p-3 sm:p-4">
      <div role="tablist" aria-label="Channel sections" className="mb-4 flex gap-6 border-b border-line">
        {TABS.map((t) => (
          <button
            key={t}
            id={`${where}-tab-${t}`}
            type="button"
            role="tab"
            aria-selected={tab === t}
            aria-controls={`${where}-tabpanel`}
            tabIndex={tab === t ? 0 : -1}
            className={`border-b-2 px-1 pb-2 text-sm font-semibold ${tab === t ? 'border-brand text-brand-soft' : 'border-transparent text-muted hover:text-ink'}`}
            onClick={() => setTab(t)}
            onKeyDown={(e) => onTabKey(e, where)}
          >
            {TAB_LABEL[t]}
          </button>
        ))}
      </div>
      <div role="tabpanel" id={`${where}-tabpanel`} aria-labelledby={`${where}-tab-${tab}`}>
        {tab === 'about' && <AboutTab channel={channel} />}
        {tab === 'videos' && <VideosTab channel={channel} />}
        {tab === 'clips' && <ClipsTab channel={channel} />}
      </div>
    </div>
  );

  return (
    <div className="flex flex-col lg:h-[calc(100vh-3.5rem)] lg:flex-row" data-testid="channel-page" data-channel-id={channel.id}>
      <div className="min-w-0 flex-1 lg:overflow-y-auto">
        <div className={theatre ? 'bg-black lg:flex lg:h-[calc(100vh-3.5rem)] lg:items-center' : ''}>
          <div className={theatre ? 'mx-auto w-full lg:max-w-[calc((100vh-3.5rem)*16/9)]' : ''}>
            <ChannelVideo channel={channel} onUnavailable={q.reload} />
          </div>
        </div>
        {info}
        <div className="hidden lg:block">{tabs('side')}</div>
      </div>
      <div className="h-[70vh] border-l border-line lg:h-auto lg:w-[340px] lg:shrink-0">
        <ChatPanel channel={channel} canModerate={canModerate} privileged={canModerate || isOwner} />
      </div>
      <div className="lg:hidden">{tabs('below')}</div>

      {subOpen && (
        <SubscribeDialog
          channel={channel}
          emotes={emotes}
          currentTier={subTier}
          onClose={() => setSubOpen(false)}
          onSubscribed={(tier) => {
            setSubOpen(false);
            setChannelData((d) =>
              d
                ? {
                    channel: {
                      ...d.channel,
                      isSubscribed: true,
                      subscriptionTier: tier,
                      subscriberCount: d.channel.isSubscribed ? d.channel.subscriberCount : d.channel.subscriberCount + 1,
                    },
                  }
                : d,
            );
            toast(`You're subscribed to ${channel.user.displayName} at Tier ${tier}.`, 'success');
            loadEmotes();
          }}
        />
      )}
      {clip && <ClipDialog clip={clip} onClose={() => setClip(null)} />}
    </div>
  );
}
