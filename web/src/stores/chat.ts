// Chat state: the room's messages, viewer count, room modes and refusals.
// The socket (lib/chatSocket.ts) feeds server frames into `receive`.
import { create } from 'zustand';
import {
  DEFAULT_ROOM,
  normalizeMessage,
  parseRoomState,
  refusalText,
  retryAfterSeconds,
  type ChatMessage,
  type RoomState,
} from '../lib/chatProtocol';
import { durationWords } from '../lib/format';
import type { EmoteInfo } from '../lib/message';
import type { Emote } from '../api/types';

export const MAX_MESSAGES = 300;

export type ConnStatus = 'idle' | 'connecting' | 'open' | 'reconnecting';

export interface ChatIdentity {
  userId: number | null;
  username: string;
  role?: string;
  isGuest: boolean;
}

export interface ChatNotice {
  text: string;
  code?: string;
  at: number;
}

export interface ChatState {
  status: ConnStatus;
  /** ms until the next reconnect attempt, when reconnecting */
  retryAt: number | null;
  identity: ChatIdentity | null;
  channelId: number | null;
  joined: boolean;
  messages: ChatMessage[];
  viewerCount: number | null;
  room: RoomState;
  /** epoch ms until which sending is refused (slow mode / rate limit / timeout) */
  cooldownUntil: number | null;
  notice: ChatNotice | null;
  emotes: Emote[];
  emoteMap: Map<string, EmoteInfo>;
  /** bumped on stream_online / stream_offline so the page can refetch */
  streamEpoch: number;

  setStatus: (status: ConnStatus, retryAt?: number | null) => void;
  setChannel: (channelId: number | null) => void;
  receive: (frame: unknown, now?: number) => void;
  addSystem: (text: string, kind?: 'system' | 'error') => void;
  setEmotes: (emotes: Emote[]) => void;
  setRoom: (room: Partial<RoomState>) => void;
  clearNotice: () => void;
  setCooldown: (until: number | null) => void;
  reset: () => void;
}

let localSeq = 0;
const localId = () => `sys-${++localSeq}`;

function system(text: string, kind: 'system' | 'error' = 'system', now = Date.now()): ChatMessage {
  return {
    id: localId(),
    kind,
    userId: null,
    username: '',
    displayName: '',
    text,
    badges: [],
    emotes: [],
    action: false,
    timestamp: now,
  };
}

function capped(list: ChatMessage[]): ChatMessage[] {
  return list.length > MAX_MESSAGES ? list.slice(list.length - MAX_MESSAGES) : list;
}

type Json = Record<string, unknown>;

function frameChannel(f: Json): number | null {
  const v = f.channelId ?? f.channel_id;
  const n = typeof v === 'string' ? Number(v) : v;
  return typeof n === 'number' && Number.isFinite(n) ? n : null;
}

function who(f: Json): string {
  return (
    (typeof f.displayName === 'string' && f.displayName) ||
    (typeof f.username === 'string' && f.username) ||
    'A user'
  );
}

const initial = {
  status: 'idle' as ConnStatus,
  retryAt: null,
  identity: null,
  channelId: null,
  joined: false,
  messages: [] as ChatMessage[],
  viewerCount: null,
  room: DEFAULT_ROOM,
  cooldownUntil: null,
  notice: null,
  emotes: [] as Emote[],
  emoteMap: new Map<string, EmoteInfo>(),
  streamEpoch: 0,
};

export const useChatStore = create<ChatState>()((set, get) => ({
  ...initial,

  setStatus: (status, retryAt = null) =>
    set((s) => ({ status, retryAt, joined: status === 'open' ? s.joined : false })),

  setChannel: (channelId) =>
    set((s) =>
      s.channelId === channelId
        ? {}
        : {
            channelId,
            joined: false,
            messages: [],
            viewerCount: null,
            room: DEFAULT_ROOM,
            cooldownUntil: null,
            notice: null,
            emotes: [],
            emoteMap: new Map(),
          },
    ),

  setEmotes: (emotes) => {
    const map = new Map<string, EmoteInfo>();
    for (const e of emotes) map.set(e.code, { id: e.id, code: e.code, imageUrl: e.imageUrl });
    set({ emotes, emoteMap: map });
  },

  setRoom: (room) => set((s) => ({ room: { ...s.room, ...room } })),

  addSystem: (text, kind = 'system') => set((s) => ({ messages: capped([...s.messages, system(text, kind)]) })),

  clearNotice: () => set({ notice: null }),

  setCooldown: (until) => set({ cooldownUntil: until }),

  reset: () => set({ ...initial, emoteMap: new Map() }),

  receive: (raw, now = Date.now()) => {
    if (!raw || typeof raw !== 'object') return;
    const f = raw as Json;
    const type = typeof f.type === 'string' ? f.type : '';
    const s = get();
    const ch = frameChannel(f);
    // room events for another room (after a quick channel switch) are stale
    if (ch !== null && s.channelId !== null && ch !== s.channelId && type !== 'left') return;

    const push = (...m: ChatMessage[]) => set((st) => ({ messages: capped([...st.messages, ...m]) }));
    const markUser = (userId: unknown, username: unknown) =>
      set((st) => ({
        messages: st.messages.map((m) =>
          m.kind === 'chat' &&
          ((userId !== undefined && userId !== null && m.userId === Number(userId)) ||
            (typeof username === 'string' && m.username.toLowerCase() === username.toLowerCase()))
            ? { ...m, deleted: true }
            : m,
        ),
      }));
    const isMe = () => {
      const me = get().identity;
      if (!me || me.isGuest) return false;
      if (me.userId !== null && f.userId !== undefined && Number(f.userId) === me.userId) return true;
      return typeof f.username === 'string' && f.username.toLowerCase() === me.username.toLowerCase();
    };

    switch (type) {
      case 'auth_success':
        set({
          identity: {
            userId: typeof f.userId === 'number' ? f.userId : f.userId ? Number(f.userId) : null,
            username: typeof f.username === 'string' ? f.username : 'guest',
            role: typeof f.role === 'string' ? f.role : undefined,
            isGuest: f.isGuest === true || f.userId === null || f.userId === undefined,
          },
        });
        return;

      case 'joined': {
        const rows = Array.isArray(f.recentMessages) ? f.recentMessages : Array.isArray(f.messages) ? f.messages : [];
        const history = rows.map(normalizeMessage).filter((m): m is ChatMessage => m !== null);
        history.sort((a, b) => a.timestamp - b.timestamp);
        const roomRaw = f.roomState ?? f.room ?? f.settings ?? f.filters;
        set((st) => ({
          joined: true,
          messages: capped([...history, system('Welcome to the chat room!', 'system', now)]),
          viewerCount: typeof f.viewerCount === 'number' ? f.viewerCount : st.viewerCount,
          room: roomRaw ? parseRoomState(roomRaw, st.room) : st.room,
        }));
        return;
      }

      case 'chat':
      case 'message':
      case 'action': {
        const m = normalizeMessage(type === 'action' ? { ...f, action: true } : f);
        if (!m) return;
        if (s.messages.some((x) => x.id === m.id && x.kind === 'chat')) return; // echo / duplicate
        push(m);
        return;
      }

      case 'viewer_update':
        if (typeof f.viewerCount === 'number') set({ viewerCount: f.viewerCount });
        return;

      case 'left':
        if (ch === s.channelId) set({ joined: false });
        return;

      case 'error': {
        const text = refusalText(f);
        const wait = retryAfterSeconds(f);
        const code = typeof f.code === 'string' ? f.code : undefined;
        set({
          notice: { text, code, at: now },
          cooldownUntil: wait ? now + wait * 1000 : s.cooldownUntil,
        });
        return;
      }

      case 'message_deleted': {
        const id = f.messageId ?? f.id;
        if (id === undefined || id === null) return;
        set((st) => ({
          messages: st.messages.map((m) => (m.id === String(id) ? { ...m, deleted: true } : m)),
        }));
        return;
      }

      case 'chat_cleared':
        set({ messages: [system('Chat was cleared by a moderator.', 'system', now)] });
        return;

      case 'user_banned': {
        markUser(f.userId, f.username);
        const permanent = f.isPermanent !== false && !f.duration;
        if (permanent) {
          push(system(`${who(f)} has been banned.`, 'system', now));
        } else {
          push(system(`${who(f)} has been timed out for ${durationWords(Number(f.duration))}.`, 'system', now));
        }
        if (isMe()) {
          set({ notice: { text: 'You are banned from this chat.', code: 'banned', at: now } });
        }
        return;
      }

      case 'user_timeout': {
        markUser(f.userId, f.username);
        const dur = Number(f.duration ?? f.durationSeconds ?? 0);
        push(system(`${who(f)} has been timed out for ${durationWords(dur)}.`, 'system', now));
        if (isMe()) {
          const exp = typeof f.expiresAt === 'string' ? Date.parse(f.expiresAt) : NaN;
          const until = Number.isFinite(exp) ? exp : now + dur * 1000;
          set({ notice: { text: 'You are timed out in this chat.', code: 'timed_out', at: now }, cooldownUntil: until });
        }
        return;
      }

      case 'user_unbanned':
        push(system(`${who(f)} is no longer banned.`, 'system', now));
        if (isMe()) set({ notice: null, cooldownUntil: null });
        return;

      case 'user_untimeout':
        push(system(`${who(f)} is no longer timed out.`, 'system', now));
        if (isMe()) set({ notice: null, cooldownUntil: null });
        return;

      case 'slow_mode_changed': {
        const secs = f.enabled ? Number(f.durationSeconds ?? 0) : 0;
        set((st) => ({ room: { ...st.room, slowModeSeconds: secs } }));
        push(system(secs > 0 ? `Slow mode is on: one message every ${durationWords(secs)}.` : 'Slow mode is off.', 'system', now));
        return;
      }

      case 'emote_only_changed': {
        const on = f.enabled === true;
        set((st) => ({ room: { ...st.room, emoteOnly: on } }));
        push(system(on ? 'Emote-only mode is on.' : 'Emote-only mode is off.', 'system', now));
        return;
      }

      case 'subscriber_only_changed':
      case 'subscribers_only_changed': {
        const on = f.enabled === true;
        set((st) => ({ room: { ...st.room, subscriberOnly: on } }));
        push(system(on ? 'Subscribers-only mode is on.' : 'Subscribers-only mode is off.', 'system', now));
        return;
      }

      case 'follower_only_changed':
      case 'followers_only_changed': {
        const on = f.enabled === true;
        const minutes = Number(f.durationMinutes ?? 0);
        set((st) => ({ room: { ...st.room, followerOnly: on, followerOnlyMinutes: minutes } }));
        push(
          system(
            on
              ? minutes > 0
                ? `Followers-only mode is on (followed for at least ${durationWords(minutes * 60)}).`
                : 'Followers-only mode is on.'
              : 'Followers-only mode is off.',
            'system',
            now,
          ),
        );
        return;
      }

      case 'unique_chat_changed': {
        const on = f.enabled === true;
        set((st) => ({ room: { ...st.room, uniqueChat: on } }));
        push(system(on ? 'Unique-chat mode is on.' : 'Unique-chat mode is off.', 'system', now));
        return;
      }

      case 'room_state':
        set((st) => ({ room: parseRoomState(f.roomState ?? f.settings ?? f, st.room) }));
        return;

      case 'stream_online':
      case 'stream_offline':
      case 'stream_status':
        set((st) => ({ streamEpoch: st.streamEpoch + 1 }));
        return;

      default:
        return;
    }
  },
}));
