// Number, time and duration formatting shared by the pages.

/** 950 → "950", 12 500 → "12.5K", 1 200 000 → "1.2M". */
export function formatCount(n: number | null | undefined): string {
  const v = Number.isFinite(n) ? Math.max(0, Math.floor(n as number)) : 0;
  const trim = (x: number) => x.toFixed(1).replace(/\.0$/, '');
  if (v >= 1_000_000_000) return `${trim(v / 1_000_000_000)}B`;
  if (v >= 1_000_000) {
    const m = v / 1_000_000;
    return m >= 999.95 ? `${trim(v / 1_000_000_000)}B` : `${trim(m)}M`;
  }
  if (v >= 1_000) {
    const k = v / 1_000;
    return k >= 999.95 ? `${trim(v / 1_000_000)}M` : `${trim(k)}K`;
  }
  return String(v);
}

export function plural(n: number, one: string, many: string = `${one}s`): string {
  return n === 1 ? one : many;
}

/** "1 viewer", "12.5K viewers". */
export function viewersLabel(n: number | null | undefined): string {
  const v = n ?? 0;
  return `${formatCount(v)} ${plural(v, 'viewer')}`;
}

/** "1 follower", "9.8M followers". */
export function followersLabel(n: number | null | undefined): string {
  const v = n ?? 0;
  return `${formatCount(v)} ${plural(v, 'follower')}`;
}

/** Seconds → "0:05", "4:05", "1:02:03". */
export function formatDuration(totalSeconds: number | null | undefined): string {
  const t = Number.isFinite(totalSeconds) ? Math.max(0, Math.floor(totalSeconds as number)) : 0;
  const h = Math.floor(t / 3600);
  const m = Math.floor((t % 3600) / 60);
  const s = t % 60;
  const ss = String(s).padStart(2, '0');
  if (h > 0) return `${h}:${String(m).padStart(2, '0')}:${ss}`;
  return `${m}:${ss}`;
}

/** An ISO time as "just now", "5 minutes ago", "2 days ago", "3 years ago". */
export function timeAgo(iso: string | number | Date | null | undefined, now: number = Date.now()): string {
  if (iso === null || iso === undefined) return '';
  const t = new Date(iso).getTime();
  if (!Number.isFinite(t)) return '';
  const s = Math.max(0, Math.floor((now - t) / 1000));
  if (s < 45) return 'just now';
  const units: Array<[number, string]> = [
    [365 * 24 * 3600, 'year'],
    [30 * 24 * 3600, 'month'],
    [7 * 24 * 3600, 'week'],
    [24 * 3600, 'day'],
    [3600, 'hour'],
    [60, 'minute'],
  ];
  for (const [size, name] of units) {
    if (s >= size) {
      const n = Math.floor(s / size);
      return `${n} ${plural(n, name)} ago`;
    }
  }
  return 'just now';
}

/** Time since a stream started: "1:02:03" style uptime. */
export function uptime(startedAt: string | null | undefined, now: number = Date.now()): string {
  if (!startedAt) return '';
  const t = new Date(startedAt).getTime();
  if (!Number.isFinite(t)) return '';
  return formatDuration((now - t) / 1000);
}

/** Live latency label: "12 s behind". */
export function behindLabel(seconds: number): string {
  return `${Math.max(0, Math.round(seconds))} s behind`;
}

/** A date as "Mar 5, 2026". */
export function formatDate(iso: string | null | undefined): string {
  if (!iso) return '';
  const d = new Date(iso);
  if (!Number.isFinite(d.getTime())) return '';
  return d.toLocaleDateString('en-US', { year: 'numeric', month: 'short', day: 'numeric' });
}

/** A chat timestamp (epoch ms or ISO) as "14:05". */
export function clockTime(ts: number | string | null | undefined): string {
  if (ts === null || ts === undefined) return '';
  const d = new Date(ts);
  if (!Number.isFinite(d.getTime())) return '';
  return `${String(d.getHours()).padStart(2, '0')}:${String(d.getMinutes()).padStart(2, '0')}`;
}

/** A wait in seconds as "5s", "1m 05s", "2h 3m". */
export function formatWait(seconds: number): string {
  const s = Math.max(0, Math.ceil(seconds));
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m ${String(s % 60).padStart(2, '0')}s`;
  const h = Math.floor(s / 3600);
  return `${h}h ${Math.floor((s % 3600) / 60)}m`;
}

/** Human words for a timeout length: 600 → "10 minutes". */
export function durationWords(seconds: number): string {
  const s = Math.max(0, Math.round(seconds));
  if (s % 86400 === 0 && s >= 86400) return `${s / 86400} ${plural(s / 86400, 'day')}`;
  if (s % 3600 === 0 && s >= 3600) return `${s / 3600} ${plural(s / 3600, 'hour')}`;
  if (s % 60 === 0 && s >= 60) return `${s / 60} ${plural(s / 60, 'minute')}`;
  return `${s} ${plural(s, 'second')}`;
}
