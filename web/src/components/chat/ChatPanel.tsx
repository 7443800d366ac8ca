import { useEffect, useLayoutEffect, useMemo, useRef, useState, type FormEvent } from 'react';
import { errorMessage } from '../../api/client';
import { moderationApi } from '../../api/endpoints';
import type { ChannelDetail } from '../../api/types';
import { chatConnection } from '../../lib/chat';
import { durationWords, formatCount, formatWait } from '../../lib/format';
import { listKeyTarget } from '../../lib/keys';
import { useAuthStore } from '../../stores/auth';
import { useChatStore } from '../../stores/chat';
import { useUiStore } from '../../stores/ui';
import { GearIcon, SmileIcon, UsersIcon } from '../icons';
import { ChatLine, type ModHandlers } from './ChatLine';
import { ChatSettingsMenu } from './ChatSettings';
import { EmotePicker } from './EmotePicker';

const MAX_LEN = 500;

function useNow(active: boolean, ms = 250): number {
  const [now, setNow] = useState(() => Date.now());
  useEffect(() => {
    if (!active) return;
    setNow(Date.now());
    const id = setInterval(() => setNow(Date.now()), ms);
    return () => clearInterval(id);
  }, [active, ms]);
  return now;
}

export function ChatPanel({ channel, canModerate, privileged }: { channel: ChannelDetail; canModerate: boolean; privileged: boolean }) {
  const user = useAuthStore((s) => s.user);
  const openAuth = useUiStore((s) => s.openAuth);
  const toast = useUiStore((s) => s.toast);
  const status = useChatStore((s) => s.status);
  const retryAt = useChatStore((s) => s.retryAt);
  const joined = useChatStore((s) => s.joined);
  const messages = useChatStore((s) => s.messages);
  const viewerCount = useChatStore((s) => s.viewerCount);
  const room = useChatStore((s) => s.room);
  const notice = useChatStore((s) => s.notice);
  const cooldownUntil = useChatStore((s) => s.cooldownUntil);
  const emotes = useChatStore((s) => s.emotes);
  const emoteMap = useChatStore((s) => s.emoteMap);
  const identity = useChatStore((s) => s.identity);
  const clearNotice = useChatStore((s) => s.clearNotice);
  const setCooldown = useChatStore((s) => s.setCooldown);

  const [text, setText] = useState('');
  const [pickerOpen, setPickerOpen] = useState(false);
  const [settingsOpen, setSettingsOpen] = useState(false);
  const [pinned, setPinned] = useState(true);
  const [actionsId, setActionsId] = useState<string | null>(null);
  const listRef = useRef<HTMLOListElement>(null);
  const inputRef = useRef<HTMLInputElement>(null);
  const emoteButtonRef = useRef<HTMLButtonElement>(null);
  const settingsButtonRef = useRef<HTMLButtonElement>(null);
  const lastAction = useRef<HTMLElement | null>(null);

  const now = useNow(cooldownUntil !== null || retryAt !== null);
  const waitLeft = cooldownUntil ? Math.max(0, (cooldownUntil - now) / 1000) : 0;
  useEffect(() => {
    if (cooldownUntil !== null && waitLeft <= 0) setCooldown(null);
  }, [cooldownUntil, waitLeft, setCooldown]);

  // keep the newest line in view unless the reader scrolled up
  useLayoutEffect(() => {
    const el = listRef.current;
    if (el && pinned) el.scrollTop = el.scrollHeight;
  }, [messages, pinned]);

  const onScroll = () => {
    const el = listRef.current;
    if (!el) return;
    setPinned(el.scrollHeight - el.scrollTop - el.clientHeight < 40);
  };

  const me = user?.username ?? null;
  const connected = status === 'open';

  const send = (e?: FormEvent) => {
    e?.preventDefault();
    const body = text.trim();
    if (!body || !user) return;
    if (waitLeft > 0) return;
    if (!chatConnection.send(body)) {
      toast('Chat is not connected yet — try again in a moment.', 'error');
      return;
    }
    setText('');
    clearNotice();
    if (room.slowModeSeconds > 0 && !privileged) {
      setCooldown(Date.now() + room.slowModeSeconds * 1000);
    }
  };

  const insertEmote = (code: string) => {
    const el = inputRef.current;
    const start = el?.selectionStart ?? text.length;
    const end = el?.selectionEnd ?? text.length;
    const before = text.slice(0, start);
    const after = text.slice(end);
    const pre = before && !/\s$/.test(before) ? ' ' : '';
    const post = after.startsWith(' ') ? '' : ' ';
    const next = `${before}${pre}${code}${post}${after}`.slice(0, MAX_LEN);
    setText(next);
    requestAnimationFrame(() => {
      const pos = (before + pre + code + post).length;
      el?.focus();
      el?.setSelectionRange(pos, pos);
    });
  };

  const mod = useMemo<ModHandlers>(
    () => ({
      onDelete: (m) => {
        moderationApi.deleteMessage(channel.id, m.id).catch((err) => toast(errorMessage(err), 'error'));
      },
      onTimeout: (m, seconds) => {
        if (m.userId === null) return;
        moderationApi
          .timeout(channel.id, m.userId, seconds)
          .then(() => toast(`${m.username} is timed out for ${durationWords(seconds)}.`, 'success'))
          .catch((err) => toast(errorMessage(err), 'error'));
      },
      onBan: (m) => {
        if (m.userId === null) return;
        moderationApi
          .ban(channel.id, m.userId)
          .then(() => toast(`${m.username} is banned.`, 'success'))
          .catch((err) => toast(errorMessage(err), 'error'));
      },
      onFocus: (m, el) => {
        lastAction.current = el;
        setActionsId(m.id);
      },
    }),
    [channel.id, toast],
  );

  // The moderator's message actions are one Tab stop: those of the message
  // last focused, else of the newest message; the arrows move between messages.
  // (a deleted message has none: then the next message's, or the one before)
  const actionable = (m: (typeof messages)[number]) => canModerate && m.kind === 'chat' && !m.deleted;
  const at = messages.findIndex((m) => m.id === actionsId);
  const tabbableId =
    (at >= 0
      ? (messages.slice(at).find(actionable) ?? messages.slice(0, at).reverse().find(actionable))
      : [...messages].reverse().find(actionable)
    )?.id ?? null;

  // the focused action went away with its message: focus the actions that took its place
  useLayoutEffect(() => {
    const el = lastAction.current;
    if (!el || el.isConnected) return;
    lastAction.current = null;
    if (document.activeElement === document.body || document.activeElement === null) {
      listRef.current?.querySelector<HTMLElement>('[data-mod-action][tabindex="0"]')?.focus();
    }
  }, [messages]);
  useEffect(() => {
    // the mouse took over: no focus to restore
    const forget = () => (lastAction.current = null);
    document.addEventListener('mousedown', forget);
    return () => document.removeEventListener('mousedown', forget);
  }, []);

  const onListKey = (e: React.KeyboardEvent<HTMLOListElement>) => {
    const target = e.target as HTMLElement;
    if (!target.matches('[data-mod-action]')) return;
    const lines = Array.from(listRef.current?.querySelectorAll<HTMLElement>('li') ?? []).filter((li) =>
      li.querySelector('[data-mod-action]'),
    );
    const line = target.closest('li') as HTMLElement;
    const buttons = Array.from(line.querySelectorAll<HTMLElement>('[data-mod-action]'));
    const col = buttons.indexOf(target);
    if (e.key === 'ArrowLeft' || e.key === 'ArrowRight') {
      const next = listKeyTarget(e.key, col, buttons.length, 'horizontal');
      if (next !== null) {
        e.preventDefault();
        buttons[next].focus();
      }
      return;
    }
    const row = listKeyTarget(e.key, lines.indexOf(line), lines.length);
    if (row === null) return;
    e.preventDefault();
    const there = Array.from(lines[row].querySelectorAll<HTMLElement>('[data-mod-action]'));
    const to = there[Math.min(col, there.length - 1)];
    to?.focus();
    to?.scrollIntoView({ block: 'nearest' });
  };

  const modes: string[] = [];
  if (room.slowModeSeconds > 0) modes.push(`Slow mode ${room.slowModeSeconds}s`);
  if (room.followerOnly) modes.push(room.followerOnlyMinutes > 0 ? `Followers-only (${durationWords(room.followerOnlyMinutes * 60)})` : 'Followers-only');
  if (room.subscriberOnly) modes.push('Subscribers-only');
  if (room.emoteOnly) modes.push('Emote-only');
  if (room.uniqueChat) modes.push('Unique chat');

  const shownViewers = viewerCount ?? (channel.isLive ? channel.viewerCount : null);
  const ownerName = channel.user.username.toLowerCase();

  let placeholder = 'Send a message';
  if (!connected) placeholder = status === 'reconnecting' ? 'Reconnecting to chat…' : 'Connecting to chat…';
  else if (waitLeft > 0) placeholder = `Wait ${formatWait(waitLeft)}`;
  else if (room.emoteOnly && !privileged) placeholder = 'Emote-only mode: send emotes';

  return (
    <section aria-label="Stream chat" className="relative flex h-full min-h-0 flex-col bg-surface-1" data-testid="chat">
      <header className="relative flex h-11 shrink-0 items-center justify-between border-b border-line px-3">
        <h2 className="text-xs font-bold uppercase tracking-wide">Stream chat</h2>
        <div className="flex items-center gap-2">
          {shownViewers !== null && (
            <span className="flex items-center gap-1 text-xs text-muted" data-testid="chat-viewers">
              <UsersIcon size={14} /> <span aria-hidden="true">{formatCount(shownViewers)}</span>
              <span className="sr-only">{shownViewers === 1 ? '1 viewer' : `${shownViewers} viewers`}</span>
            </span>
          )}
          {canModerate && (
            <button
              ref={settingsButtonRef}
              type="button"
              className="rounded p-1 text-muted hover:bg-surface-3 hover:text-ink"
              aria-label="Chat settings"
              aria-expanded={settingsOpen}
              data-chat-settings-toggle
              onClick={() => setSettingsOpen((o) => !o)}
            >
              <GearIcon size={18} />
            </button>
          )}
        </div>
        {settingsOpen && (
          <ChatSettingsMenu
            channelId={channel.id}
            onClose={(refocus) => {
              setSettingsOpen(false);
              if (refocus) settingsButtonRef.current?.focus();
            }}
          />
        )}
      </header>

      {status === 'reconnecting' && (
        <p className="shrink-0 bg-warn/15 px-3 py-1 text-xs text-warn" role="status">
          Chat connection lost.{' '}
          {retryAt && retryAt > now ? `Reconnecting in ${Math.ceil((retryAt - now) / 1000)} s…` : 'Reconnecting…'}
        </p>
      )}

      <ol
        ref={listRef}
        onScroll={onScroll}
        onKeyDown={onListKey}
        onBlur={(e) => {
          if (e.relatedTarget && !e.currentTarget.contains(e.relatedTarget as Node)) lastAction.current = null;
        }}
        className="min-h-0 flex-1 overflow-y-auto py-2"
        aria-live="polite"
        aria-relevant="additions"
        aria-label="Chat messages"
        data-testid="chat-messages"
      >
        {messages.length === 0 && (
          <li className="px-3 py-6 text-center text-sm text-muted">
            {joined ? `Welcome to the chat room! Say hello to ${channel.user.displayName}.` : 'Joining the chat…'}
          </li>
        )}
        {messages.map((m) => (
          <ChatLine
            key={m.id}
            m={m}
            emoteMap={emoteMap}
            me={me}
            canModerate={canModerate}
            protectedUser={
              m.username.toLowerCase() === ownerName || (!!identity && identity.userId !== null && m.userId === identity.userId)
            }
            mod={mod}
            tabbable={m.id === tabbableId}
          />
        ))}
      </ol>

      {!pinned && (
        <button
          type="button"
          className="absolute bottom-28 left-1/2 -translate-x-1/2 rounded-full bg-brand px-3 py-1 text-xs font-semibold shadow-lg"
          onClick={() => setPinned(true)}
        >
          More messages below
        </button>
      )}

      <div className="relative shrink-0 border-t border-line p-2">
        {modes.length > 0 && (
          <p className="mb-1.5 flex flex-wrap gap-1">
            <span className="sr-only">Room modes:</span>
            {modes.map((m) => (
              <span key={m} className="rounded bg-surface-3 px-1.5 py-0.5 text-[11px] text-muted">
                {m}
              </span>
            ))}
          </p>
        )}
        {notice && (
          <div role="alert" className="mb-1.5 flex items-start gap-2 rounded bg-live/15 px-2 py-1.5 text-xs text-[#ff8a80]" data-testid="chat-notice">
            <span className="flex-1">
              {notice.text}
              {waitLeft > 0 && <> You can chat again in {formatWait(waitLeft)}.</>}
            </span>
            <button type="button" className="text-muted hover:text-ink" aria-label="Dismiss" onClick={clearNotice}>
              ×
            </button>
          </div>
        )}

        {user ? (
          <form onSubmit={send} className="relative flex flex-col gap-1.5">
            {pickerOpen && (
              <EmotePicker
                emotes={emotes}
                channelName={channel.user.displayName}
                onPick={(code) => insertEmote(code)}
                onClose={(refocus) => {
                  setPickerOpen(false);
                  if (refocus) emoteButtonRef.current?.focus();
                }}
              />
            )}
            <div className="relative">
              <label htmlFor="chat-input" className="sr-only">
                Chat message
              </label>
              <input
                id="chat-input"
                ref={inputRef}
                className="input pr-10"
                placeholder={placeholder}
                maxLength={MAX_LEN}
                autoComplete="off"
                value={text}
                disabled={!connected}
                onChange={(e) => setText(e.target.value)}
                onKeyDown={(e) => {
                  if (e.key === 'Escape' && pickerOpen) {
                    e.preventDefault();
                    setPickerOpen(false);
                  }
                }}
                aria-describedby={waitLeft > 0 ? 'chat-wait' : undefined}
              />
              <button
                ref={emoteButtonRef}
                type="button"
                className="absolute right-1 top-1/2 -translate-y-1/2 rounded p-1 text-muted hover:bg-surface-3 hover:text-ink"
                aria-label="Emotes"
                aria-expanded={pickerOpen}
                data-emote-toggle
                onClick={() => setPickerOpen((o) => !o)}
              >
                <SmileIcon size={20} />
              </button>
            </div>
            <div className="flex items-center justify-between gap-2">
              <span id="chat-wait" className="text-xs text-muted" aria-live="polite">
                {waitLeft > 0
                  ? `${room.slowModeSeconds > 0 ? 'Slow mode' : 'Wait'}: ${formatWait(waitLeft)}`
                  : text.length > MAX_LEN - 50
                    ? `${MAX_LEN - text.length} characters left`
                    : ''}
              </span>
              <button type="submit" className="btn-primary" disabled={!connected || !text.trim() || waitLeft > 0}>
                Chat
              </button>
            </div>
          </form>
        ) : (
          <button type="button" className="btn-primary w-full" onClick={() => openAuth('login')}>
            Log in to chat
          </button>
        )}
      </div>
    </section>
  );
}
