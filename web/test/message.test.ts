import { describe, expect, it } from 'vitest';
import { findEmotesByWord, isEmoteOnly, mentionsUser, resolveRanges, segmentMessage, type EmoteInfo } from '../src/lib/message';

const known = new Map<string, EmoteInfo>([
  ['Kappa', { id: 1, code: 'Kappa', imageUrl: '/emotes/kappa.svg' }],
  ['LUL', { id: 3, code: 'LUL', imageUrl: '/emotes/lul.svg' }],
  ['shroudHi', { id: 11, code: 'shroudHi', imageUrl: '/emotes/shroudhi.svg' }],
]);

describe('segmentMessage with server positions', () => {
  it('replaces the marked ranges by images (end exclusive)', () => {
    const segs = segmentMessage('hi Kappa there', [{ id: 1, code: 'Kappa', start: 3, end: 8 }], known);
    expect(segs).toEqual([
      { kind: 'text', text: 'hi ' },
      { kind: 'emote', code: 'Kappa', url: '/emotes/kappa.svg' },
      { kind: 'text', text: ' there' },
    ]);
  });

  it('counts code points, not UTF-16 units', () => {
    // "😀 " is 2 code points but 3 UTF-16 units
    const text = '😀 LUL';
    const segs = segmentMessage(text, [{ code: 'LUL', start: 2, end: 5 }], known);
    expect(segs).toEqual([
      { kind: 'text', text: '😀 ' },
      { kind: 'emote', code: 'LUL', url: '/emotes/lul.svg' },
    ]);
  });

  it('accepts an inclusive end too', () => {
    const segs = segmentMessage('Kappa', [{ code: 'Kappa', start: 0, end: 4 }], known);
    expect(segs).toEqual([{ kind: 'emote', code: 'Kappa', url: '/emotes/kappa.svg' }]);
  });

  it('ignores ranges that do not spell the code, and overlaps', () => {
    const pts = Array.from('Kappa Kappa');
    expect(resolveRanges(pts, [{ code: 'Kappa', start: 1, end: 6 }])).toEqual([]);
    expect(
      resolveRanges(pts, [
        { code: 'Kappa', start: 6, end: 11 },
        { code: 'Kappa', start: 0, end: 5 },
        { code: 'Kappa', start: 0, end: 5 },
      ]),
    ).toEqual([
      { start: 0, end: 5, code: 'Kappa' },
      { start: 6, end: 11, code: 'Kappa' },
    ]);
  });

  it('uses a default image path for unknown codes', () => {
    const segs = segmentMessage('PogChamp', [{ code: 'PogChamp', start: 0, end: 8 }], known);
    expect(segs).toEqual([{ kind: 'emote', code: 'PogChamp', url: '/emotes/pogchamp.svg' }]);
  });

  it('an empty position list from the server means no emotes', () => {
    expect(segmentMessage('Kappa', [], known)).toEqual([{ kind: 'text', text: 'Kappa' }]);
  });
});

describe('segmentMessage without positions', () => {
  it('matches whole words against known codes', () => {
    const segs = segmentMessage('LUL that was Kappa123 shroudHi', null, known);
    expect(segs.map((s) => s.kind)).toEqual(['emote', 'text', 'emote']);
    expect(findEmotesByWord('xKappa Kappa', known)).toEqual([{ id: 1, code: 'Kappa', start: 7, end: 12 }]);
  });
});

describe('mentions and links', () => {
  it('marks @mentions of the signed-in user', () => {
    const segs = segmentMessage('hey @Alice and @bob', null, known, 'alice');
    expect(segs).toEqual([
      { kind: 'text', text: 'hey ' },
      { kind: 'mention', text: '@Alice', self: true },
      { kind: 'text', text: ' and ' },
      { kind: 'mention', text: '@bob', self: false },
    ]);
  });
  it('does not treat e-mail addresses as mentions', () => {
    expect(segmentMessage('mail a@b.com', null, known, 'b').some((s) => s.kind === 'mention')).toBe(false);
  });
  it('links http(s) URLs without trailing punctuation', () => {
    const segs = segmentMessage('see https://example.org/x?y=1.', null, known);
    expect(segs).toEqual([
      { kind: 'text', text: 'see ' },
      { kind: 'link', text: 'https://example.org/x?y=1', href: 'https://example.org/x?y=1' },
      { kind: 'text', text: '.' },
    ]);
  });
  it('mentionsUser matches the name as a word', () => {
    expect(mentionsUser('hello alice!', 'Alice')).toBe(true);
    expect(mentionsUser('@alice gg', 'alice')).toBe(true);
    expect(mentionsUser('malice', 'alice')).toBe(false);
    expect(mentionsUser('anything', null)).toBe(false);
  });
  it('isEmoteOnly', () => {
    expect(isEmoteOnly(segmentMessage('Kappa  LUL', null, known))).toBe(true);
    expect(isEmoteOnly(segmentMessage('Kappa hi', null, known))).toBe(false);
  });
});
