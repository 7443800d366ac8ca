import { describe, expect, it } from 'vitest';
import { ChatSocket, type SocketLike } from '../src/lib/chatSocket';

class FakeSocket implements SocketLike {
  readyState = 0;
  sent: unknown[] = [];
  closed = false;
  onopen: ((ev: never) => void) | null = null;
  onclose: ((ev: never) => void) | null = null;
  onerror: ((ev: never) => void) | null = null;
  onmessage: ((ev: MessageEvent) => void) | null = null;
  constructor(public url: string) {}
  send(data: string) {
    this.sent.push(JSON.parse(data));
  }
  close() {
    this.closed = true;
    this.readyState = 3;
  }
  open() {
    this.readyState = 1;
    this.onopen?.(undefined as never);
  }
  drop() {
    this.readyState = 3;
    this.onclose?.(undefined as never);
  }
  message(frame: unknown) {
    this.onmessage?.({ data: JSON.stringify(frame) } as MessageEvent);
  }
}

function harness() {
  const sockets: FakeSocket[] = [];
  const timers: Array<{ fn: () => void; ms: number; id: number }> = [];
  const frames: unknown[] = [];
  const statuses: Array<[string, number | null]> = [];
  let seq = 0;
  let clock = 0;
  const sock = new ChatSocket({
    url: () => 'ws://test/ws/chat',
    create: (url) => {
      const s = new FakeSocket(url);
      sockets.push(s);
      return s;
    },
    onFrame: (f) => frames.push(f),
    onStatus: (st, at) => statuses.push([st, at]),
    setTimer: (fn, ms) => {
      const id = ++seq;
      timers.push({ fn, ms, id });
      return id;
    },
    clearTimer: (id) => {
      const i = timers.findIndex((t) => t.id === id);
      if (i >= 0) timers.splice(i, 1);
    },
    now: () => clock,
  });
  const fireReconnect = () => {
    const i = timers.findIndex((t) => t.ms !== 10_000);
    const t = timers.splice(i, 1)[0];
    clock += t.ms;
    t.fn();
    return t.ms;
  };
  return { sock, sockets, timers, frames, statuses, fireReconnect };
}

describe('ChatSocket', () => {
  it('authenticates with no client-side ids and joins the current room on open', () => {
    const h = harness();
    h.sock.join(7);
    h.sock.start();
    expect(h.sockets).toHaveLength(1);
    expect(h.sockets[0].url).toBe('ws://test/ws/chat');
    h.sockets[0].open();
    expect(h.sockets[0].sent).toEqual([{ type: 'auth' }, { type: 'join', channelId: 7 }]);
    expect(h.statuses.at(-1)).toEqual(['open', null]);
  });

  it('leaves the old room when switching', () => {
    const h = harness();
    h.sock.start();
    h.sockets[0].open();
    h.sock.join(7);
    h.sock.join(8);
    h.sock.join(null);
    expect(h.sockets[0].sent.slice(1)).toEqual([
      { type: 'join', channelId: 7 },
      { type: 'leave', channelId: 7 },
      { type: 'join', channelId: 8 },
      { type: 'leave', channelId: 8 },
    ]);
  });

  it('sends chat with a message id, only when connected and in a room', () => {
    const h = harness();
    h.sock.start();
    expect(h.sock.sendChat('hi')).toBeNull();
    h.sockets[0].open();
    expect(h.sock.sendChat('hi')).toBeNull(); // no room yet
    h.sock.join(3);
    const id = h.sock.sendChat('hello Kappa');
    expect(id).toMatch(/^[0-9a-f-]{36}$/);
    expect(h.sockets[0].sent.at(-1)).toEqual({ type: 'chat', channelId: 3, text: 'hello Kappa', messageId: id });
  });

  it('passes parsed frames on and skips garbage', () => {
    const h = harness();
    h.sock.start();
    h.sockets[0].open();
    h.sockets[0].message({ type: 'viewer_update', viewerCount: 2 });
    h.sockets[0].onmessage?.({ data: 'not json' } as MessageEvent);
    expect(h.frames).toEqual([{ type: 'viewer_update', viewerCount: 2 }]);
  });

  it('reconnects with min(1000·2^n, 30 s) and rejoins', () => {
    const h = harness();
    h.sock.join(5);
    h.sock.start();
    const delays: number[] = [];
    for (let i = 0; i < 7; i++) {
      h.sockets.at(-1)!.drop();
      expect(h.statuses.at(-1)![0]).toBe('reconnecting');
      delays.push(h.fireReconnect());
    }
    expect(delays).toEqual([1000, 2000, 4000, 8000, 16000, 30000, 30000]);
    const last = h.sockets.at(-1)!;
    last.open();
    expect(last.sent).toEqual([{ type: 'auth' }, { type: 'join', channelId: 5 }]);
  });

  it('resets the backoff once the server answers auth', () => {
    const h = harness();
    h.sock.start();
    h.sockets[0].drop();
    h.fireReconnect();
    h.sockets[1].drop();
    h.fireReconnect();
    expect(h.sock.failures).toBe(2);
    h.sockets[2].open();
    h.sockets[2].message({ type: 'auth_success', userId: 1, username: 'a' });
    expect(h.sock.failures).toBe(0);
    h.sockets[2].drop();
    expect(h.fireReconnect()).toBe(1000);
  });

  it('stop() closes without reconnecting; restart() opens a fresh socket', () => {
    const h = harness();
    h.sock.start();
    h.sockets[0].open();
    h.sock.stop();
    expect(h.sockets[0].closed).toBe(true);
    expect(h.timers).toHaveLength(0);
    h.sock.restart();
    expect(h.sockets).toHaveLength(2);
  });
});
