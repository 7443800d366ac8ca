import { useEffect, useId, useRef, useState } from 'react';
import { errorMessage } from '../../api/client';
import { moderationApi } from '../../api/endpoints';
import { useChatStore } from '../../stores/chat';
import { useUiStore } from '../../stores/ui';

export const SLOW_OPTIONS = [0, 3, 5, 10, 30, 60, 120];
export const FOLLOWER_OPTIONS: Array<[number, string]> = [
  [-1, 'Off'],
  [0, 'Any follower'],
  [10, '10 minutes'],
  [30, '30 minutes'],
  [60, '1 hour'],
  [1440, '1 day'],
  [10080, '1 week'],
];

/** Room-mode controls, shared by the chat panel's menu and the dashboard. */
export function RoomModeControls({ channelId, compact = false }: { channelId: number; compact?: boolean }) {
  const room = useChatStore((s) => s.room);
  const setRoom = useChatStore((s) => s.setRoom);
  const toast = useUiStore((s) => s.toast);
  const [busy, setBusy] = useState(false);

  // while a change is on its way the controls ignore input, but stay enabled: a disabled control loses the focus
  const run = async (fn: () => Promise<unknown>, optimistic: Parameters<typeof setRoom>[0], undo: Parameters<typeof setRoom>[0]) => {
    if (busy) return;
    setBusy(true);
    setRoom(optimistic);
    try {
      await fn();
    } catch (err) {
      setRoom(undo);
      toast(errorMessage(err), 'error');
    } finally {
      setBusy(false);
    }
  };

  const row = `flex items-center justify-between gap-3 ${compact ? 'py-1.5' : 'py-2'}`;
  return (
    <div className="flex flex-col text-sm">
      <label className={row}>
        <span>Slow mode</span>
        <select
          className="rounded border border-line bg-surface-0 px-2 py-1"
          value={SLOW_OPTIONS.includes(room.slowModeSeconds) ? room.slowModeSeconds : 0}
          aria-busy={busy}
          onChange={(e) => {
            const v = Number(e.target.value);
            void run(() => moderationApi.setSlowMode(channelId, v > 0, v > 0 ? v : 0), { slowModeSeconds: v }, { slowModeSeconds: room.slowModeSeconds });
          }}
        >
          {SLOW_OPTIONS.map((v) => (
            <option key={v} value={v}>
              {v === 0 ? 'Off' : `${v} s`}
            </option>
          ))}
        </select>
      </label>
      <label className={row}>
        <span>Followers-only</span>
        <select
          className="rounded border border-line bg-surface-0 px-2 py-1"
          value={room.followerOnly ? (FOLLOWER_OPTIONS.some(([m]) => m === room.followerOnlyMinutes) ? room.followerOnlyMinutes : 0) : -1}
          aria-busy={busy}
          onChange={(e) => {
            const v = Number(e.target.value);
            void run(
              () => moderationApi.setFollowerOnly(channelId, v >= 0, Math.max(0, v)),
              { followerOnly: v >= 0, followerOnlyMinutes: Math.max(0, v) },
              { followerOnly: room.followerOnly, followerOnlyMinutes: room.followerOnlyMinutes },
            );
          }}
        >
          {FOLLOWER_OPTIONS.map(([v, l]) => (
            <option key={v} value={v}>
              {l}
            </option>
          ))}
        </select>
      </label>
      <Toggle
        label="Subscribers-only"
        on={room.subscriberOnly}
        busy={busy}
        onChange={(v) => void run(() => moderationApi.setSubscriberOnly(channelId, v), { subscriberOnly: v }, { subscriberOnly: !v })}
        className={row}
      />
      <Toggle
        label="Emote-only"
        on={room.emoteOnly}
        busy={busy}
        onChange={(v) => void run(() => moderationApi.setEmoteOnly(channelId, v), { emoteOnly: v }, { emoteOnly: !v })}
        className={row}
      />
      <Toggle
        label="Unique chat"
        on={room.uniqueChat}
        busy={busy}
        onChange={(v) => void run(() => moderationApi.setUniqueChat(channelId, v), { uniqueChat: v }, { uniqueChat: !v })}
        className={row}
      />
    </div>
  );
}

function Toggle({
  label,
  on,
  busy,
  onChange,
  className,
}: {
  label: string;
  on: boolean;
  busy?: boolean;
  onChange: (v: boolean) => void;
  className: string;
}) {
  const id = useId();
  return (
    <div className={className}>
      <span id={id}>{label}</span>
      <button
        type="button"
        role="switch"
        aria-checked={on}
        aria-labelledby={id}
        aria-busy={busy}
        onClick={() => {
          if (!busy) onChange(!on);
        }}
        className={`relative h-5 w-9 rounded-full transition-colors ${on ? 'bg-brand' : 'bg-surface-3'}`}
      >
        <span className={`absolute top-0.5 h-4 w-4 rounded-full bg-white transition-all ${on ? 'left-4.5' : 'left-0.5'}`} />
      </button>
    </div>
  );
}

/** The chat panel's settings popup; refocus: give focus back to its button (Escape, Clear chat). */
export function ChatSettingsMenu({ channelId, onClose }: { channelId: number; onClose: (refocus: boolean) => void }) {
  const ref = useRef<HTMLDivElement>(null);
  const toast = useUiStore((s) => s.toast);
  useEffect(() => {
    ref.current?.querySelector<HTMLElement>('select, button')?.focus();
    const onDoc = (e: MouseEvent) => {
      const t = e.target as HTMLElement;
      if (ref.current && !ref.current.contains(t) && !t.closest('[data-chat-settings-toggle]')) onClose(false);
    };
    document.addEventListener('mousedown', onDoc);
    return () => document.removeEventListener('mousedown', onDoc);
  }, [onClose]);
  return (
    <div
      ref={ref}
      role="dialog"
      aria-label="Chat settings"
      className="absolute right-2 top-full z-20 mt-1 w-64 rounded-md border border-line bg-surface-1 p-3 shadow-2xl"
      onKeyDown={(e) => {
        if (e.key === 'Escape') {
          e.preventDefault();
          e.stopPropagation();
          onClose(true);
        }
      }}
    >
      <h3 className="mb-1 text-xs font-semibold uppercase tracking-wide text-muted">Room modes</h3>
      <RoomModeControls channelId={channelId} compact />
      <button
        type="button"
        className="btn-secondary mt-2 w-full"
        onClick={async () => {
          try {
            await moderationApi.clear(channelId);
            onClose(true);
          } catch (err) {
            toast(errorMessage(err), 'error');
          }
        }}
      >
        Clear chat
      </button>
    </div>
  );
}
