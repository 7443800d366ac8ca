import { memo, useState } from 'react';
import type { ChatMessage } from '../../lib/chatProtocol';
import { mentionsUser, segmentMessage, type EmoteInfo } from '../../lib/message';
import { nameColor } from '../../lib/color';
import { clockTime } from '../../lib/format';
import { BadgeIcon, orderBadges } from './Badges';
import { BanIcon, ClockIcon, TrashIcon } from '../icons';

export interface ModHandlers {
  onDelete: (m: ChatMessage) => void;
  onTimeout: (m: ChatMessage, seconds: number) => void;
  onBan: (m: ChatMessage) => void;
  /** focus came to one of this message's actions (el) */
  onFocus: (m: ChatMessage, el: HTMLElement) => void;
}

function Body({ m, emoteMap, me }: { m: ChatMessage; emoteMap: Map<string, EmoteInfo>; me: string | null }) {
  const segs = segmentMessage(m.text, m.emotes, emoteMap, me);
  return (
    <>
      {segs.map((s, i) => {
        switch (s.kind) {
          case 'emote':
            return (
              <img
                key={i}
                src={s.url}
                alt={s.code}
                title={s.code}
                className="mx-0.5 inline-block h-7 w-7 align-middle"
                loading="lazy"
                decoding="async"
              />
            );
          case 'mention':
            return (
              <span key={i} className={`rounded px-0.5 font-semibold ${s.self ? 'bg-brand/40 text-white' : 'text-ink'}`}>
                {s.text}
              </span>
            );
          case 'link':
            return (
              <a key={i} href={s.href} target="_blank" rel="noopener noreferrer nofollow ugc" className="text-brand-soft underline">
                {s.text}
              </a>
            );
          default:
            return <span key={i}>{s.text}</span>;
        }
      })}
    </>
  );
}

export const ChatLine = memo(function ChatLine({
  m,
  emoteMap,
  me,
  canModerate,
  protectedUser,
  mod,
  tabbable,
}: {
  m: ChatMessage;
  emoteMap: Map<string, EmoteInfo>;
  me: string | null;
  canModerate: boolean;
  /** the author cannot be timed out or banned (the broadcaster, oneself) */
  protectedUser: boolean;
  mod: ModHandlers;
  /** this message's actions are the chat list's Tab stop (the others: arrow keys) */
  tabbable: boolean;
}) {
  const [confirmBan, setConfirmBan] = useState(false);

  if (m.kind !== 'chat') {
    return (
      <li className={`px-3 py-1 text-sm ${m.kind === 'error' ? 'text-[#ff8a80]' : 'text-muted'}`} data-kind={m.kind}>
        {m.text}
      </li>
    );
  }

  const color = m.color ?? nameColor(m.username);
  const mentioned = !m.deleted && !!me && m.username.toLowerCase() !== me.toLowerCase() && mentionsUser(m.text, me);
  const name = m.displayName && m.displayName.toLowerCase() === m.username.toLowerCase() ? m.displayName : `${m.displayName} (${m.username})`;

  return (
    <li
      className={`group relative px-3 py-1 text-sm leading-6 break-words ${mentioned ? 'border-l-2 border-brand bg-brand/15' : 'hover:bg-white/5'}`}
      data-message-id={m.id}
      data-kind="chat"
      data-mentioned={mentioned ? 'true' : undefined}
    >
      <span className="mr-1 text-xs text-muted tabular-nums">{clockTime(m.timestamp)}</span>
      {orderBadges(m.badges).map((b, i) => (
        <BadgeIcon key={i} badge={b} />
      ))}
      <span className="font-bold" style={{ color }}>
        {name}
      </span>
      {m.deleted ? (
        <>
          <span>: </span>
          <span className="italic text-muted">
            {canModerate ? <s className="opacity-70">{m.text}</s> : '<message deleted>'}
          </span>
        </>
      ) : m.action ? (
        <span className="italic" style={{ color }} data-action="true">
          {' '}
          <Body m={m} emoteMap={emoteMap} me={me} />
        </span>
      ) : (
        <>
          <span>: </span>
          <Body m={m} emoteMap={emoteMap} me={me} />
        </>
      )}

      {canModerate && !m.deleted && (
        <span
          className="absolute right-1 top-0.5 flex items-center gap-0.5 rounded bg-surface-3 p-0.5 opacity-0 shadow group-focus-within:opacity-100 group-hover:opacity-100"
          onFocus={(e) => mod.onFocus(m, e.target)}
        >
          <button
            type="button"
            data-mod-action
            tabIndex={tabbable ? 0 : -1}
            className="rounded p-1 hover:bg-line"
            aria-label={`Delete message from ${m.username}`}
            title="Delete message"
            onClick={() => mod.onDelete(m)}
          >
            <TrashIcon size={14} />
          </button>
          {!protectedUser && m.userId !== null && (
            <>
              <button
                type="button"
                data-mod-action
                tabIndex={tabbable ? 0 : -1}
                className="rounded p-1 hover:bg-line"
                aria-label={`Time out ${m.username} for 10 minutes`}
                title="Time out for 10 minutes"
                onClick={() => mod.onTimeout(m, 600)}
              >
                <ClockIcon size={14} />
              </button>
              {confirmBan ? (
                <button
                  type="button"
                  data-mod-action
                  tabIndex={tabbable ? 0 : -1}
                  className="rounded bg-live px-1.5 py-0.5 text-xs font-semibold text-white"
                  aria-label={`Confirm ban of ${m.username}`}
                  onClick={() => {
                    setConfirmBan(false);
                    mod.onBan(m);
                  }}
                  onBlur={() => setConfirmBan(false)}
                  autoFocus
                >
                  Ban?
                </button>
              ) : (
                <button
                  type="button"
                  data-mod-action
                  tabIndex={tabbable ? 0 : -1}
                  className="rounded p-1 hover:bg-line"
                  aria-label={`Ban ${m.username}`}
                  title="Ban"
                  onClick={() => setConfirmBan(true)}
                >
                  <BanIcon size={14} />
                </button>
              )}
            </>
          )}
        </span>
      )}
    </li>
  );
});
