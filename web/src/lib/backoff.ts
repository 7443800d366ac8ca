/** Reconnect delay after n consecutive failures: min(1000·2^n, 30 s). */
export function backoffDelay(attempt: number): number {
  const n = Math.max(0, Math.floor(attempt));
  if (n >= 15) return 30_000;
  return Math.min(1000 * 2 ** n, 30_000);
}
