import { describe, expect, it } from 'vitest';
import {
  behindLabel,
  clockTime,
  durationWords,
  followersLabel,
  formatCount,
  formatDuration,
  formatWait,
  timeAgo,
  uptime,
  viewersLabel,
} from '../src/lib/format';
import { backoffDelay } from '../src/lib/backoff';
import { initial, nameColor } from '../src/lib/color';

describe('formatCount', () => {
  it('keeps small numbers as they are', () => {
    expect(formatCount(0)).toBe('0');
    expect(formatCount(999)).toBe('999');
  });
  it('abbreviates thousands and millions with one decimal', () => {
    expect(formatCount(1000)).toBe('1K');
    expect(formatCount(12_500)).toBe('12.5K');
    expect(formatCount(1_200_000)).toBe('1.2M');
    expect(formatCount(9_800_000)).toBe('9.8M');
    expect(formatCount(2_000_000_000)).toBe('2B');
  });
  it('rolls over instead of printing 1000K', () => {
    expect(formatCount(999_960)).toBe('1M');
    expect(formatCount(999_999_999)).toBe('1B');
  });
  it('treats junk as zero', () => {
    expect(formatCount(undefined)).toBe('0');
    expect(formatCount(Number.NaN)).toBe('0');
    expect(formatCount(-5)).toBe('0');
  });
});

describe('labels', () => {
  it('pluralises viewers and followers', () => {
    expect(viewersLabel(1)).toBe('1 viewer');
    expect(viewersLabel(0)).toBe('0 viewers');
    expect(viewersLabel(42_000)).toBe('42K viewers');
    expect(followersLabel(1)).toBe('1 follower');
    expect(followersLabel(18_000_000)).toBe('18M followers');
  });
  it('says how far behind live the player is', () => {
    expect(behindLabel(12.4)).toBe('12 s behind');
    expect(behindLabel(-3)).toBe('0 s behind');
  });
});

describe('durations', () => {
  it('formats clock durations', () => {
    expect(formatDuration(5)).toBe('0:05');
    expect(formatDuration(245)).toBe('4:05');
    expect(formatDuration(3723)).toBe('1:02:03');
    expect(formatDuration(null)).toBe('0:00');
  });
  it('formats waits', () => {
    expect(formatWait(4.2)).toBe('5s');
    expect(formatWait(65)).toBe('1m 05s');
    expect(formatWait(7380)).toBe('2h 3m');
  });
  it('words for timeouts', () => {
    expect(durationWords(600)).toBe('10 minutes');
    expect(durationWords(60)).toBe('1 minute');
    expect(durationWords(3600)).toBe('1 hour');
    expect(durationWords(86400 * 14)).toBe('14 days');
    expect(durationWords(45)).toBe('45 seconds');
  });
  it('uptime since a start time', () => {
    const now = Date.parse('2026-01-01T12:00:00Z');
    expect(uptime('2026-01-01T10:30:05Z', now)).toBe('1:29:55');
    expect(uptime(null, now)).toBe('');
  });
});

describe('timeAgo', () => {
  const now = Date.parse('2026-03-10T12:00:00Z');
  it('uses the largest unit', () => {
    expect(timeAgo('2026-03-10T11:59:50Z', now)).toBe('just now');
    expect(timeAgo('2026-03-10T11:55:00Z', now)).toBe('5 minutes ago');
    expect(timeAgo('2026-03-10T11:00:00Z', now)).toBe('1 hour ago');
    expect(timeAgo('2026-03-08T12:00:00Z', now)).toBe('2 days ago');
    expect(timeAgo('2026-02-20T12:00:00Z', now)).toBe('2 weeks ago');
    expect(timeAgo('2025-12-01T12:00:00Z', now)).toBe('3 months ago');
    expect(timeAgo('2023-03-01T12:00:00Z', now)).toBe('3 years ago');
  });
  it('is empty for bad input', () => {
    expect(timeAgo('not a date', now)).toBe('');
    expect(timeAgo(null, now)).toBe('');
  });
});

describe('clockTime', () => {
  it('formats hours and minutes with two digits', () => {
    const d = new Date(2026, 0, 1, 9, 5);
    expect(clockTime(d.getTime())).toBe('09:05');
    expect(clockTime(undefined)).toBe('');
  });
});

describe('backoffDelay', () => {
  it('doubles from 1 s and caps at 30 s', () => {
    expect([0, 1, 2, 3, 4, 5, 6, 50].map(backoffDelay)).toEqual([1000, 2000, 4000, 8000, 16000, 30000, 30000, 30000]);
  });
});

describe('name colours', () => {
  it('are stable per name', () => {
    expect(nameColor('shroud')).toBe(nameColor('shroud'));
    expect(nameColor('shroud')).toMatch(/^#[0-9a-f]{6}$/);
  });
  it('initials', () => {
    expect(initial('pokimane')).toBe('P');
    expect(initial('')).toBe('?');
    expect(initial('😀x')).toBe('😀');
  });
});
