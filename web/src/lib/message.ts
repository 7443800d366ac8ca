// Splitting a chat message into text, emote, mention and link pieces.
//
// The server marks emotes by position: {id, code, start, end} in code
// points (not UTF-16 units), end exclusive. A range whose text is not the
// emote's code is ignored (an inclusive `end` is also accepted). When a
// message carries no positions (old history rows), words are matched
// against the known emote codes instead.

export interface EmoteRange {
  id?: number | string;
  code: string;
  start: number;
  end: number;
}

export interface EmoteInfo {
  id?: number | string;
  code: string;
  imageUrl: string;
}

export type Segment =
  | { kind: 'text'; text: string }
  | { kind: 'emote'; code: string; url: string }
  | { kind: 'mention'; text: string; self: boolean }
  | { kind: 'link'; text: string; href: string };

export function emoteUrl(code: string, known?: Map<string, EmoteInfo>): string {
  const hit = known?.get(code);
  if (hit) return hit.imageUrl;
  return `/emotes/${code.toLowerCase()}.svg`;
}

interface Piece {
  start: number;
  end: number;
  code: string;
}

/** Validated, sorted, non-overlapping emote ranges over the code points. */
export function resolveRanges(points: string[], ranges: EmoteRange[] | null | undefined): Piece[] {
  if (!ranges || ranges.length === 0) return [];
  const out: Piece[] = [];
  for (const r of ranges) {
    if (!r || typeof r.code !== 'string') continue;
    const start = Number(r.start);
    let end = Number(r.end);
    if (!Number.isInteger(start) || !Number.isInteger(end) || start < 0) continue;
    const len = Array.from(r.code).length;
    if (end - start !== len && end + 1 - start === len) end += 1; // inclusive end
    if (end - start !== len || end > points.length) continue;
    if (points.slice(start, end).join('') !== r.code) continue;
    out.push({ start, end, code: r.code });
  }
  out.sort((a, b) => a.start - b.start);
  const clean: Piece[] = [];
  let last = -1;
  for (const p of out) {
    if (p.start >= last) {
      clean.push(p);
      last = p.end;
    }
  }
  return clean;
}

/** Emote ranges found by whole-word match against known codes. */
export function findEmotesByWord(text: string, known: Map<string, EmoteInfo> | undefined): EmoteRange[] {
  if (!known || known.size === 0) return [];
  const points = Array.from(text);
  const out: EmoteRange[] = [];
  let i = 0;
  while (i < points.length) {
    if (/\s/.test(points[i])) {
      i++;
      continue;
    }
    let j = i;
    while (j < points.length && !/\s/.test(points[j])) j++;
    const word = points.slice(i, j).join('');
    const hit = known.get(word);
    if (hit) out.push({ id: hit.id, code: word, start: i, end: j });
    i = j;
  }
  return out;
}

const LINK_RE = /\bhttps?:\/\/[^\s<>"']+[^\s<>"'.,;:!?)\]]/gi;
const MENTION_RE = /@([A-Za-z0-9_]{1,25})/g;

function splitText(text: string, me: string | null | undefined): Segment[] {
  const out: Segment[] = [];
  // links first, then @mentions in the remaining text
  let pos = 0;
  const pieces: Array<{ s: number; e: number; seg: Segment }> = [];
  for (const m of text.matchAll(LINK_RE)) {
    const s = m.index ?? 0;
    pieces.push({ s, e: s + m[0].length, seg: { kind: 'link', text: m[0], href: m[0] } });
  }
  for (const m of text.matchAll(MENTION_RE)) {
    const s = m.index ?? 0;
    const e = s + m[0].length;
    const prev = s > 0 ? text[s - 1] : ' ';
    if (/[A-Za-z0-9_]/.test(prev)) continue; // e-mail addresses and the like
    if (pieces.some((p) => s < p.e && e > p.s)) continue;
    const self = !!me && m[1].toLowerCase() === me.toLowerCase();
    pieces.push({ s, e, seg: { kind: 'mention', text: m[0], self } });
  }
  pieces.sort((a, b) => a.s - b.s);
  for (const p of pieces) {
    if (p.s > pos) out.push({ kind: 'text', text: text.slice(pos, p.s) });
    out.push(p.seg);
    pos = p.e;
  }
  if (pos < text.length) out.push({ kind: 'text', text: text.slice(pos) });
  return out;
}

/**
 * The display pieces of one message.
 * @param text   the message text
 * @param ranges emote positions from the server (code points, end exclusive), or null
 * @param known  emotes of the room by code (for image URLs and word matching)
 * @param me     signed-in username, to mark self mentions
 */
export function segmentMessage(
  text: string,
  ranges: EmoteRange[] | null | undefined,
  known?: Map<string, EmoteInfo>,
  me?: string | null,
): Segment[] {
  const points = Array.from(text);
  const pieces = resolveRanges(points, ranges && ranges.length ? ranges : ranges ? [] : findEmotesByWord(text, known));
  const out: Segment[] = [];
  let pos = 0;
  for (const p of pieces) {
    if (p.start > pos) out.push(...splitText(points.slice(pos, p.start).join(''), me));
    out.push({ kind: 'emote', code: p.code, url: emoteUrl(p.code, known) });
    pos = p.end;
  }
  if (pos < points.length) out.push(...splitText(points.slice(pos).join(''), me));
  return out;
}

/** Does the message mention the user (as @name or the bare name as a word)? */
export function mentionsUser(text: string, username: string | null | undefined): boolean {
  if (!username) return false;
  const esc = username.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  return new RegExp(`(^|[^A-Za-z0-9_])@?${esc}($|[^A-Za-z0-9_])`, 'i').test(text);
}

/** True when every non-space piece of the message is an emote. */
export function isEmoteOnly(segments: Segment[]): boolean {
  let any = false;
  for (const s of segments) {
    if (s.kind === 'emote') any = true;
    else if (s.kind !== 'text' || s.text.trim() !== '') return false;
  }
  return any;
}
