// Helpers of the creator dashboard's forms.

const TAG_RE = /^[A-Za-z0-9]{1,25}$/;

export function parseTags(input: string): { tags: string[]; bad: string[] } {
  const parts = input
    .split(/[,\s]+/)
    .map((t) => t.trim())
    .filter(Boolean);
  const seen = new Set<string>();
  const tags: string[] = [];
  const bad: string[] = [];
  for (const p of parts) {
    if (!TAG_RE.test(p)) {
      bad.push(p);
      continue;
    }
    if (seen.has(p.toLowerCase())) continue;
    seen.add(p.toLowerCase());
    tags.push(p);
  }
  return { tags, bad };
}

/** rtmp://<this host>/live — the page's host name with the default RTMP port. */
export function ingestServerUrl(hostname: string, override?: string | null): string {
  if (override) return override;
  const host = hostname.includes(':') && !hostname.startsWith('[') ? `[${hostname}]` : hostname;
  return `rtmp://${host}/live`;
}
