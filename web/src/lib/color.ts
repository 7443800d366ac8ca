// Stable per-user name colours, readable on the dark chat background.
const PALETTE = [
  '#ff7f50', '#1e90ff', '#00c853', '#ff69b4', '#daa520', '#9acd32', '#00bfff', '#ff4500',
  '#2e8b57', '#d2691e', '#bf94ff', '#5f9ea0', '#ff6347', '#e05ed5', '#3cb371', '#f4a261',
];

export function nameColor(name: string): string {
  let h = 0;
  for (let i = 0; i < name.length; i++) {
    h = (Math.imul(h, 31) + name.charCodeAt(i)) | 0;
  }
  return PALETTE[Math.abs(h) % PALETTE.length];
}

/** Initial shown when a user has no avatar image. */
export function initial(name: string | null | undefined): string {
  const c = Array.from((name ?? '').trim())[0];
  return c ? c.toUpperCase() : '?';
}
