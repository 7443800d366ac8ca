// The one chat WebSocket of the page, with reconnects.
//
// - identity comes from the session cookie sent with the upgrade; the
//   protocol's {type:"auth"} is still sent first (with no ids);
// - after a drop it reconnects after min(1000·2^n, 30 s), n = failures in a
//   row, and joins the current room again;
// - after log in / log out the socket is reopened so that the server sees
//   the new cookie.
import { backoffDelay } from './backoff';
import { randomId } from '../api/client';

export interface SocketLike {
  readyState: number;
  send(data: string): void;
  close(code?: number, reason?: string): void;
  onopen: ((ev: never) => void) | null;
  onclose: ((ev: never) => void) | null;
  onerror: ((ev: never) => void) | null;
  onmessage: ((ev: MessageEvent) => void) | null;
}

export interface ChatSocketDeps {
  url: () => string;
  create: (url: string) => SocketLike;
  onFrame: (frame: unknown) => void;
  onStatus: (status: 'connecting' | 'open' | 'reconnecting', retryAt: number | null) => void;
  setTimer?: (fn: () => void, ms: number) => unknown;
  clearTimer?: (id: unknown) => void;
  now?: () => number;
}

const OPEN = 1;
/** a connection that stayed up this long resets the backoff */
const STABLE_MS = 10_000;

export class ChatSocket {
  private ws: SocketLike | null = null;
  private attempts = 0;
  private retryTimer: unknown = null;
  private stableTimer: unknown = null;
  private stopped = true;
  private channelId: number | null = null;
  private readonly deps: Required<ChatSocketDeps>;

  constructor(deps: ChatSocketDeps) {
    this.deps = {
      setTimer: (fn, ms) => setTimeout(fn, ms),
      clearTimer: (id) => clearTimeout(id as ReturnType<typeof setTimeout>),
      now: () => Date.now(),
      ...deps,
    };
  }

  get connected(): boolean {
    return this.ws !== null && this.ws.readyState === OPEN;
  }

  get failures(): number {
    return this.attempts;
  }

  start(): void {
    if (!this.stopped) return;
    this.stopped = false;
    this.open();
  }

  stop(): void {
    this.stopped = true;
    this.clearTimers();
    const ws = this.ws;
    this.ws = null;
    if (ws) {
      ws.onclose = null;
      ws.onmessage = null;
      ws.onerror = null;
      ws.onopen = null;
      try {
        ws.close(1000, 'bye');
      } catch {
        /* already closed */
      }
    }
  }

  /** Reopen now (new cookie after log in / log out), keeping the room. */
  restart(): void {
    this.stop();
    this.attempts = 0;
    this.start();
  }

  join(channelId: number | null): void {
    if (this.channelId === channelId) return;
    const prev = this.channelId;
    this.channelId = channelId;
    if (this.connected) {
      if (prev !== null) this.sendRaw({ type: 'leave', channelId: prev });
      if (channelId !== null) this.sendRaw({ type: 'join', channelId });
    }
  }

  /** Sends a chat line; returns its messageId, or null when not connected. */
  sendChat(text: string): string | null {
    if (!this.connected || this.channelId === null) return null;
    const messageId = randomId();
    this.sendRaw({ type: 'chat', channelId: this.channelId, text, messageId });
    return messageId;
  }

  private sendRaw(frame: object): void {
    try {
      this.ws?.send(JSON.stringify(frame));
    } catch {
      /* the close handler deals with it */
    }
  }

  private clearTimers(): void {
    if (this.retryTimer !== null) this.deps.clearTimer(this.retryTimer);
    if (this.stableTimer !== null) this.deps.clearTimer(this.stableTimer);
    this.retryTimer = null;
    this.stableTimer = null;
  }

  private open(): void {
    if (this.stopped) return;
    this.deps.onStatus(this.attempts === 0 ? 'connecting' : 'reconnecting', null);
    let ws: SocketLike;
    try {
      ws = this.deps.create(this.deps.url());
    } catch {
      this.scheduleReconnect();
      return;
    }
    this.ws = ws;

    ws.onopen = () => {
      if (this.ws !== ws) return;
      this.deps.onStatus('open', null);
      this.sendRaw({ type: 'auth' });
      if (this.channelId !== null) this.sendRaw({ type: 'join', channelId: this.channelId });
      this.stableTimer = this.deps.setTimer(() => {
        this.stableTimer = null;
        this.attempts = 0;
      }, STABLE_MS);
    };

    ws.onmessage = (ev) => {
      if (this.ws !== ws) return;
      if (typeof ev.data !== 'string') return;
      let frame: unknown;
      try {
        frame = JSON.parse(ev.data);
      } catch {
        return;
      }
      if (frame && typeof frame === 'object' && (frame as { type?: unknown }).type === 'auth_success') {
        this.attempts = 0;
      }
      this.deps.onFrame(frame);
    };

    ws.onerror = () => {
      /* followed by close */
    };

    ws.onclose = () => {
      if (this.ws !== ws) return;
      this.ws = null;
      if (this.stableTimer !== null) {
        this.deps.clearTimer(this.stableTimer);
        this.stableTimer = null;
      }
      this.scheduleReconnect();
    };
  }

  private scheduleReconnect(): void {
    if (this.stopped) return;
    const delay = backoffDelay(this.attempts);
    this.attempts++;
    this.deps.onStatus('reconnecting', this.deps.now() + delay);
    this.retryTimer = this.deps.setTimer(() => {
      this.retryTimer = null;
      this.open();
    }, delay);
  }
}
