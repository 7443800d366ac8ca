import { beforeEach, describe, expect, it } from 'vitest';
import { MAX_MESSAGES, useChatStore } from '../src/stores/chat';

const s = () => useChatStore.getState();
const NOW = 1_700_000_000_000;

function chat(id: number | string, extra: Record<string, unknown> = {}) {
  return { type: 'chat', id, channelId: 7, userId: 42, username: 'alice', message: `hello ${id}`, badges: [], timestamp: NOW, ...extra };
}

beforeEach(() => {
  s().reset();
  s().setChannel(7);
});

describe('chat store: room membership', () => {
  it('auth_success records the identity; guests have no id', () => {
    s().receive({ type: 'auth_success', userId: 5, username: 'bob', role: 'user' });
    expect(s().identity).toEqual({ userId: 5, username: 'bob', role: 'user', isGuest: false });
    s().receive({ type: 'auth_success', userId: null, username: 'Guest_abc', isGuest: true });
    expect(s().identity?.isGuest).toBe(true);
  });

  it('joined replaces the messages with the history, oldest first, in either row shape', () => {
    s().receive(chat(1));
    s().receive(
      {
        type: 'joined',
        channelId: 7,
        viewerCount: 3,
        recentMessages: [
          { id: '11', message: 'second', username: 'x', badges: [], created_at: '2026-01-01T10:00:01Z', user_id: 1, display_name: 'X' },
          { id: 10, message: 'first', username: 'y', badges: [], createdAt: '2026-01-01T10:00:00Z', userId: 2 },
        ],
        roomState: { slowMode: { enabled: true, durationSeconds: 30 }, emoteOnly: true },
      },
      NOW,
    );
    const texts = s().messages.filter((m) => m.kind === 'chat').map((m) => m.text);
    expect(texts).toEqual(['first', 'second']);
    expect(s().joined).toBe(true);
    expect(s().viewerCount).toBe(3);
    expect(s().room.slowModeSeconds).toBe(30);
    expect(s().room.emoteOnly).toBe(true);
    expect(s().messages[0].displayName).toBe('y');
    expect(s().messages[1].displayName).toBe('X');
  });

  it('switching channel clears the room state', () => {
    s().receive(chat(1));
    s().receive({ type: 'viewer_update', channelId: 7, viewerCount: 9 });
    s().setChannel(8);
    expect(s().messages).toEqual([]);
    expect(s().viewerCount).toBeNull();
  });

  it('drops frames for another room', () => {
    s().receive(chat(1, { channelId: 99 }));
    expect(s().messages).toEqual([]);
  });
});

describe('chat store: messages', () => {
  it('appends chat lines with emotes, action and badges, and ignores duplicates', () => {
    s().receive(chat(1, { emotes: [{ id: 1, code: 'Kappa', start: 0, end: 5 }], message: 'Kappa', action: true, badges: [{ type: 'subscriber', tier: 2, months: 3 }] }));
    s().receive(chat(1));
    expect(s().messages).toHaveLength(1);
    const m = s().messages[0];
    expect(m.id).toBe('1');
    expect(m.action).toBe(true);
    expect(m.emotes).toEqual([{ id: 1, code: 'Kappa', start: 0, end: 5 }]);
    expect(m.badges).toEqual([{ type: 'subscriber', label: undefined, tier: 2, months: 3 }]);
  });

  it('strips a literal /me and shifts emote positions', () => {
    s().receive(chat(2, { message: '/me waves Kappa', emotes: [{ code: 'Kappa', start: 10, end: 15 }] }));
    const m = s().messages[0];
    expect(m.action).toBe(true);
    expect(m.text).toBe('waves Kappa');
    expect(m.emotes).toEqual([{ id: undefined, code: 'Kappa', start: 6, end: 11 }]);
  });

  it(`keeps at most ${MAX_MESSAGES} lines`, () => {
    for (let i = 0; i < MAX_MESSAGES + 25; i++) s().receive(chat(i));
    expect(s().messages).toHaveLength(MAX_MESSAGES);
    expect(s().messages[0].id).toBe('25');
  });

  it('viewer_update sets the count', () => {
    s().receive({ type: 'viewer_update', channelId: 7, viewerCount: 1234 });
    expect(s().viewerCount).toBe(1234);
  });
});

describe('chat store: moderation events', () => {
  it('message_deleted marks the message', () => {
    s().receive(chat(1));
    s().receive(chat(2));
    s().receive({ type: 'message_deleted', channelId: 7, messageId: 2 });
    expect(s().messages.map((m) => !!m.deleted)).toEqual([false, true]);
  });

  it('chat_cleared empties the chat and says so', () => {
    s().receive(chat(1));
    s().receive({ type: 'chat_cleared', channelId: 7 }, NOW);
    expect(s().messages).toHaveLength(1);
    expect(s().messages[0].kind).toBe('system');
    expect(s().messages[0].text).toMatch(/cleared/);
  });

  it('user_banned hides the user’s lines and tells the banned user', () => {
    s().receive({ type: 'auth_success', userId: 42, username: 'alice', role: 'user' });
    s().receive(chat(1));
    s().receive(chat(2, { userId: 43, username: 'bob' }));
    s().receive({ type: 'user_banned', channelId: 7, userId: 42, username: 'alice', isPermanent: true }, NOW);
    const [a, b, sys] = s().messages;
    expect(a.deleted).toBe(true);
    expect(b.deleted).toBeFalsy();
    expect(sys.text).toBe('alice has been banned.');
    expect(s().notice?.code).toBe('banned');
  });

  it('user_timeout shows the length and blocks the timed-out user until it ends', () => {
    s().receive({ type: 'auth_success', userId: 42, username: 'alice', role: 'user' });
    s().receive({ type: 'user_timeout', channelId: 7, userId: 42, username: 'alice', duration: 600, expiresAt: new Date(NOW + 600_000).toISOString() }, NOW);
    expect(s().messages.at(-1)?.text).toBe('alice has been timed out for 10 minutes.');
    expect(s().cooldownUntil).toBe(NOW + 600_000);
    s().receive({ type: 'user_untimeout', channelId: 7, userId: 42, username: 'alice' });
    expect(s().cooldownUntil).toBeNull();
  });

  it('room mode events update the room and add a line', () => {
    s().receive({ type: 'slow_mode_changed', channelId: 7, enabled: true, durationSeconds: 10 });
    s().receive({ type: 'emote_only_changed', channelId: 7, enabled: true });
    s().receive({ type: 'subscriber_only_changed', channelId: 7, enabled: true });
    s().receive({ type: 'follower_only_changed', channelId: 7, enabled: true, durationMinutes: 10 });
    expect(s().room).toMatchObject({ slowModeSeconds: 10, emoteOnly: true, subscriberOnly: true, followerOnly: true, followerOnlyMinutes: 10 });
    s().receive({ type: 'slow_mode_changed', channelId: 7, enabled: false, durationSeconds: 0 });
    expect(s().room.slowModeSeconds).toBe(0);
    expect(s().messages.map((m) => m.text)).toContain('Slow mode is off.');
  });

  it('stream events bump the epoch', () => {
    s().receive({ type: 'stream_online', channelId: 7 });
    expect(s().streamEpoch).toBe(1);
  });
});

describe('chat store: refusals', () => {
  it('slow mode refusal sets a countdown from retryAfter', () => {
    s().receive({ type: 'error', code: 'slow_mode', message: 'Slow mode', retryAfter: 12 }, NOW);
    expect(s().notice?.text).toMatch(/Slow mode is on/);
    expect(s().cooldownUntil).toBe(NOW + 12_000);
  });
  it('understands the original "Slow down! Wait 1s" text', () => {
    s().receive({ type: 'error', message: 'Slow down! Wait 1s' }, NOW);
    expect(s().notice?.text).toBe("You're sending messages too quickly.");
    expect(s().cooldownUntil).toBe(NOW + 1000);
  });
  it('plain words for known codes, the server text otherwise', () => {
    s().receive({ type: 'error', code: 'subscribers_only', message: 'x' });
    expect(s().notice?.text).toMatch(/subscribers-only/);
    s().receive({ type: 'error', code: 'followers_only', minutes: 10 });
    expect(s().notice?.text).toMatch(/follow for 10 minutes/);
    s().receive({ type: 'error', code: 'weird', message: 'Something specific' });
    expect(s().notice?.text).toBe('Something specific');
    s().clearNotice();
    expect(s().notice).toBeNull();
  });
});

describe('chat store: emotes', () => {
  it('indexes emotes by code', () => {
    s().setEmotes([{ id: 1, code: 'Kappa', imageUrl: '/emotes/kappa.svg', tier: 0, isGlobal: true }]);
    expect(s().emoteMap.get('Kappa')?.imageUrl).toBe('/emotes/kappa.svg');
  });
});
