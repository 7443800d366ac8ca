import { describe, expect, it } from 'vitest';
import { clampVolume, usePlayerStore } from '../src/stores/player';
import { useUiStore } from '../src/stores/ui';
import { chatSocketUrl, parseRoomState, refusalText } from '../src/lib/chatProtocol';
import { ingestServerUrl, parseTags } from '../src/lib/channelForm';
import { badgeKind, badgeTitle, orderBadges } from '../src/components/chat/Badges';
import { levelLabel } from '../src/components/player/Player';

describe('player preferences', () => {
  it('clamps the volume and mutes at zero', () => {
    expect(clampVolume(1.7)).toBe(1);
    expect(clampVolume(-1)).toBe(0);
    expect(clampVolume(Number.NaN)).toBe(1);
    const p = usePlayerStore.getState();
    p.setVolume(0);
    expect(usePlayerStore.getState().muted).toBe(true);
    usePlayerStore.getState().toggleMuted();
    expect(usePlayerStore.getState()).toMatchObject({ muted: false, volume: 0.5 });
  });
  it('theatre and quality', () => {
    usePlayerStore.getState().setTheatre(false);
    usePlayerStore.getState().toggleTheatre();
    expect(usePlayerStore.getState().theatre).toBe(true);
    usePlayerStore.getState().setQuality(720);
    expect(usePlayerStore.getState().quality).toBe(720);
  });
  it('labels quality levels', () => {
    expect(levelLabel({ height: 1080, bitrate: 6e6, name: '', frameRate: 60 })).toBe('1080p60');
    expect(levelLabel({ height: 720, bitrate: 3e6, name: '' })).toBe('720p');
    expect(levelLabel({ height: 0, bitrate: 128000, name: '' })).toBe('128 kbps');
    expect(levelLabel({ height: 480, bitrate: 1, name: '480p' })).toBe('480p');
  });
});

describe('ui store', () => {
  it('opens and closes the auth dialog; keeps at most 4 toasts', () => {
    const ui = useUiStore.getState();
    ui.openAuth('signup');
    expect(useUiStore.getState().authModal).toBe('signup');
    ui.closeAuth();
    expect(useUiStore.getState().authModal).toBeNull();
    for (let i = 0; i < 6; i++) ui.toast(`t${i}`, 'info', 0);
    expect(useUiStore.getState().toasts.map((t) => t.text)).toEqual(['t2', 't3', 't4', 't5']);
    ui.dismiss(useUiStore.getState().toasts[0].id);
    expect(useUiStore.getState().toasts).toHaveLength(3);
  });
});

describe('chat protocol helpers', () => {
  it('websocket URL follows the page scheme', () => {
    expect(chatSocketUrl({ protocol: 'http:', host: 'h:8080' })).toBe('ws://h:8080/ws/chat');
    expect(chatSocketUrl({ protocol: 'https:', host: 'h' })).toBe('wss://h/ws/chat');
  });
  it('reads the /filters shape', () => {
    expect(
      parseRoomState({
        slowMode: { enabled: true, durationSeconds: 30 },
        emoteOnly: false,
        subscriberOnly: true,
        followerOnly: { enabled: true, durationMinutes: 10 },
      }),
    ).toEqual({ slowModeSeconds: 30, emoteOnly: false, subscriberOnly: true, followerOnly: true, followerOnlyMinutes: 10, uniqueChat: false });
    expect(parseRoomState({ slowMode: { enabled: false, durationSeconds: 30 } }).slowModeSeconds).toBe(0);
  });
  it('refusals read as sentences', () => {
    expect(refusalText({ code: 'banned' })).toBe('You are banned from this chat.');
    expect(refusalText({ message: 'Not authenticated' })).toBe('Log in to chat.');
    expect(refusalText({})).toBe('Your message could not be sent.');
  });
});

describe('badges', () => {
  it('normalises kinds and titles', () => {
    expect(badgeKind('mod')).toBe('moderator');
    expect(badgeTitle({ type: 'subscriber', tier: 2, months: 5 })).toBe('Subscriber (Tier 2, 5 months)');
    expect(badgeTitle({ type: 'subscriber', tier: 1, months: 1 })).toBe('Subscriber (Tier 1, 1 month)');
    expect(badgeTitle({ type: 'vip' })).toBe('VIP');
  });
  it('orders and de-duplicates', () => {
    const out = orderBadges([{ type: 'subscriber', tier: 1 }, { type: 'mod', label: 'Mod' }, { type: 'broadcaster' }, { type: 'moderator' }]);
    expect(out.map((b) => b.type)).toEqual(['broadcaster', 'mod', 'subscriber']);
  });
});

describe('dashboard helpers', () => {
  it('parses tags', () => {
    expect(parseTags('English, FPS english  chill')).toEqual({ tags: ['English', 'FPS', 'chill'], bad: [] });
    expect(parseTags('ok, not-ok').bad).toEqual(['not-ok']);
  });
  it('builds the OBS server URL', () => {
    expect(ingestServerUrl('stream.example.org')).toBe('rtmp://stream.example.org/live');
    expect(ingestServerUrl('::1')).toBe('rtmp://[::1]/live');
    expect(ingestServerUrl('x', 'rtmp://ingest:1936/live')).toBe('rtmp://ingest:1936/live');
  });
});
