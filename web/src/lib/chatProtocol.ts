// The chat WebSocket protocol (/ws/chat): frame shapes and normalisation.
//
// Client → server: {type:"auth"} (identity comes from the session cookie),
// {type:"join"|"leave", channelId}, {type:"chat", channelId, text, messageId}.
// Server → client: auth_success, joined, chat, viewer_update, left, error,
// and the moderation / room events relayed from the channel.

import type { EmoteRange } from './message';

export interface Badge {
  type: string;
  label?: string;
  tier?: number;
  months?: number;
}

export interface ChatMessage {
  /** server id (string form) or a local id for system lines */
  id: string;
  kind: 'chat' | 'system' | 'error';
  userId: number | null;
  username: string;
  displayName: string;
  color?: string;
  text: string;
  badges: Badge[];
  /** emote positions from the server; null = none given (match words locally) */
  emotes: EmoteRange[] | null;
  action: boolean;
  timestamp: number;
  deleted?: boolean;
}

export interface RoomState {
  slowModeSeconds: number;
  emoteOnly: boolean;
  subscriberOnly: boolean;
  followerOnly: boolean;
  followerOnlyMinutes: number;
  uniqueChat: boolean;
}

export const DEFAULT_ROOM: RoomState = {
  slowModeSeconds: 0,
  emoteOnly: false,
  subscriberOnly: false,
  followerOnly: false,
  followerOnlyMinutes: 0,
  uniqueChat: false,
};

type Json = Record<string, unknown>;

const str = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined);
const num = (v: unknown): number | undefined => {
  if (typeof v === 'number' && Number.isFinite(v)) return v;
  if (typeof v === 'string' && v.trim() !== '' && Number.isFinite(Number(v))) return Number(v);
  return undefined;
};

function parseTime(v: unknown): number {
  if (typeof v === 'number' && Number.isFinite(v)) {
    return v < 1e11 ? v * 1000 : v; // seconds or ms
  }
  if (typeof v === 'string') {
    const n = Number(v);
    if (v.trim() !== '' && Number.isFinite(n)) return n < 1e11 ? n * 1000 : n;
    const t = Date.parse(v);
    if (Number.isFinite(t)) return t;
  }
  return Date.now();
}

function parseBadges(v: unknown): Badge[] {
  if (!Array.isArray(v)) return [];
  const out: Badge[] = [];
  for (const b of v) {
    if (typeof b === 'string') {
      out.push({ type: b });
    } else if (b && typeof b === 'object' && typeof (b as Json).type === 'string') {
      const o = b as Json;
      out.push({
        type: o.type as string,
        label: str(o.label),
        tier: num(o.tier),
        months: num(o.months),
      });
    }
  }
  return out;
}

function parseEmotes(v: unknown): EmoteRange[] | null {
  if (v === undefined || v === null) return null;
  if (!Array.isArray(v)) return null;
  const out: EmoteRange[] = [];
  for (const e of v) {
    if (!e || typeof e !== 'object') continue;
    const o = e as Json;
    const start = num(o.start);
    const end = num(o.end);
    const code = str(o.code);
    if (start === undefined || end === undefined || !code) continue;
    out.push({ id: (o.id as number | string | undefined) ?? undefined, code, start, end });
  }
  return out;
}

const ME_PREFIX = '/me ';

/**
 * A chat frame or a history row (camelCase, or the snake_case rows of the
 * original server) as a ChatMessage. Returns null when it is not usable.
 */
export function normalizeMessage(raw: unknown): ChatMessage | null {
  if (!raw || typeof raw !== 'object') return null;
  const o = raw as Json;
  let text = str(o.message) ?? str(o.text);
  if (text === undefined) return null;
  const username = str(o.username) ?? str(o.user_name) ?? 'unknown';
  const displayName = str(o.displayName) ?? str(o.display_name) ?? username;
  let emotes = parseEmotes(o.emotes);
  let action = o.action === true || o.isAction === true || o.is_action === true || o.kind === 'action';
  if (!action && text.startsWith(ME_PREFIX)) {
    // a server that did not strip "/me": strip it here and shift the emote positions
    action = true;
    text = text.slice(ME_PREFIX.length);
    if (emotes) {
      emotes = emotes
        .map((e) => ({ ...e, start: e.start - ME_PREFIX.length, end: e.end - ME_PREFIX.length }))
        .filter((e) => e.start >= 0);
    }
  }
  const id = o.id ?? o.messageId ?? o.message_id;
  return {
    id: id === undefined || id === null ? `local-${Math.random().toString(36).slice(2)}` : String(id),
    kind: 'chat',
    userId: num(o.userId) ?? num(o.user_id) ?? null,
    username,
    displayName,
    color: str(o.color),
    text,
    badges: parseBadges(o.badges),
    emotes,
    action,
    timestamp: parseTime(o.timestamp ?? o.createdAt ?? o.created_at),
    deleted: o.deleted === true || o.isDeleted === true || o.is_deleted === true,
  };
}

/** Room modes from a joined frame, a room_state event or GET .../filters. */
export function parseRoomState(raw: unknown, base: RoomState = DEFAULT_ROOM): RoomState {
  if (!raw || typeof raw !== 'object') return base;
  const o = raw as Json;
  const next = { ...base };
  const slow = o.slowMode;
  if (slow && typeof slow === 'object') {
    const s = slow as Json;
    next.slowModeSeconds = s.enabled === false ? 0 : (num(s.durationSeconds) ?? next.slowModeSeconds);
  } else if (typeof slow === 'boolean') {
    next.slowModeSeconds = slow ? (num(o.slowModeSeconds) ?? num(o.durationSeconds) ?? 30) : 0;
  }
  const slowSec = num(o.slowModeSeconds) ?? num(o.slow_mode_seconds);
  if (slowSec !== undefined) next.slowModeSeconds = slowSec;
  if (typeof o.emoteOnly === 'boolean') next.emoteOnly = o.emoteOnly;
  const sub = o.subscriberOnly ?? o.subscribersOnly;
  if (typeof sub === 'boolean') next.subscriberOnly = sub;
  const fol = o.followerOnly ?? o.followersOnly;
  if (typeof fol === 'boolean') next.followerOnly = fol;
  else if (fol && typeof fol === 'object') {
    const f = fol as Json;
    if (typeof f.enabled === 'boolean') next.followerOnly = f.enabled;
    const m = num(f.durationMinutes);
    if (m !== undefined) next.followerOnlyMinutes = m;
  }
  const folMin = num(o.followerOnlyMinutes) ?? num(o.followersOnlyMinutes);
  if (folMin !== undefined) next.followerOnlyMinutes = folMin;
  if (typeof o.uniqueChat === 'boolean') next.uniqueChat = o.uniqueChat;
  return next;
}

/** Seconds to wait, from retryAfter or a "Wait Ns" message. */
export function retryAfterSeconds(frame: Json): number | null {
  const r = num(frame.retryAfter) ?? num(frame.retry_after);
  if (r !== undefined && r > 0) return r;
  const m = /wait\s+(\d+(?:\.\d+)?)\s*s/i.exec(str(frame.message) ?? '');
  return m ? Number(m[1]) : null;
}

/** A refusal in plain words. */
export function refusalText(frame: Json): string {
  const code = (str(frame.code) ?? '').toLowerCase();
  const message = str(frame.message) ?? '';
  const minutes = num(frame.minutes) ?? num(frame.durationMinutes);
  switch (code) {
    case 'slow_mode':
    case 'slow':
      return 'Slow mode is on: wait before sending another message.';
    case 'rate_limited':
    case 'rate_limit':
    case 'too_fast':
      return "You're sending messages too quickly.";
    case 'banned':
      return 'You are banned from this chat.';
    case 'timed_out':
    case 'timeout':
      return 'You are timed out in this chat.';
    case 'emote_only':
      return 'This room is in emote-only mode: messages may only contain emotes.';
    case 'subscriber_only':
    case 'subscribers_only':
    case 'sub_only':
      return 'This room is in subscribers-only mode. Subscribe to chat.';
    case 'follower_only':
    case 'followers_only':
      return minutes
        ? `This room is in followers-only mode: follow for ${minutes} minutes to chat.`
        : 'This room is in followers-only mode. Follow the channel to chat.';
    case 'not_authenticated':
    case 'auth_required':
    case 'unauthenticated':
      return 'Log in to chat.';
    case 'duplicate':
    case 'unique_chat':
      return 'Your message is identical to a recent one (unique-chat mode).';
    case 'too_long':
    case 'message_too_long':
      return 'Messages can be at most 500 characters.';
    case 'emote_locked':
    case 'locked_emote':
      return 'You used an emote that needs a higher subscription tier.';
    case 'not_joined':
      return 'Not connected to this chat room yet.';
    case 'suspended':
      return 'Your account is suspended.';
    default:
      if (/not authenticated/i.test(message)) return 'Log in to chat.';
      if (/slow down/i.test(message)) return "You're sending messages too quickly.";
      if (/banned/i.test(message)) return 'You are banned from this chat.';
      return message || 'Your message could not be sent.';
  }
}

export function chatSocketUrl(loc: { protocol: string; host: string } = window.location): string {
  return `${loc.protocol === 'https:' ? 'wss' : 'ws'}://${loc.host}/ws/chat`;
}
