export interface BackoffPolicy {
  /** Delay before the first retry. */
  baseMs: number;
  /** Largest delay. */
  capMs: number;
}

/**
 * Exponential backoff with "equal jitter": half the exponential step is fixed, half random, so retries spread
 * out but never come back immediately. A server's Retry-After is a floor, never shortened.
 */
export function retryDelayMs(
  attempt: number,
  policy: BackoffPolicy,
  random: () => number,
  retryAfterMs?: number,
): number {
  const step = Math.min(policy.capMs, policy.baseMs * 2 ** Math.max(0, attempt - 1));
  const jittered = step / 2 + random() * (step / 2);
  return Math.round(Math.max(jittered, retryAfterMs ?? 0));
}
