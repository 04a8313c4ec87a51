import type { Clock } from "../time/clock.ts";
import { MarketoRequestError } from "./errors.ts";
import type { IssuedToken } from "./identity-client.ts";

export interface TokenProviderOptions {
  clock: Clock;
  /** Refresh this long before Marketo's expiry so a request never leaves with a dying token. */
  expiryMarginMs?: number;
  /** A token with less life than this is not used: Marketo can answer `expires_in: 0` at the end of a token's life. */
  minUsableLifetimeMs?: number;
  /** How many times to wait out a dying token and ask again before giving up. */
  dyingTokenRetries?: number;
  /** Longest a caller that names no limit of its own waits out identity's Retry-After (default 5 s). */
  maxWaitMs?: number;
}

export interface TokenRequest {
  /** Longest this caller can wait for identity's Retry-After; a longer wait fails it at once, retryable. */
  maxWaitMs?: number;
}

interface CachedToken {
  value: string;
  refreshAt: number;
}

const OPERATION = "identity token request";

/**
 * Caches one access token per process. Concurrent callers share a single identity call (single flight), and a
 * token rejected by Marketo is dropped so the next caller fetches a new one. After identity answers with
 * Retry-After (429/503), no identity call leaves before that time: callers who can afford the wait share it and
 * the one call after it; the others fail at once with a retryable error carrying the wait (`retryAfterMs`), so
 * their work goes back to the queue for that long instead of asking again.
 */
export class TokenProvider {
  private cached: CachedToken | undefined;
  private inFlight: Promise<string> | undefined;
  private issuedCount = 0;
  /** Identity's Retry-After of its last answer, as a time: no identity call before it. */
  private notBefore = 0;
  private readonly expiryMarginMs: number;
  private readonly minUsableLifetimeMs: number;
  private readonly dyingTokenRetries: number;
  private readonly maxWaitMs: number;

  constructor(
    private readonly issue: () => Promise<IssuedToken>,
    private readonly options: TokenProviderOptions,
  ) {
    this.expiryMarginMs = options.expiryMarginMs ?? 60_000;
    this.minUsableLifetimeMs = options.minUsableLifetimeMs ?? 5_000;
    this.dyingTokenRetries = options.dyingTokenRetries ?? 3;
    this.maxWaitMs = options.maxWaitMs ?? 5_000;
  }

  /** Identity calls made by this provider (for metrics and tests). */
  get identityCalls(): number {
    return this.issuedCount;
  }

  async getToken(request: TokenRequest = {}): Promise<string> {
    const now = this.options.clock.now();
    const cached = this.cached;
    if (cached && now < cached.refreshAt) return cached.value;
    const waitMs = this.notBefore - now;
    if (waitMs > (request.maxWaitMs ?? this.maxWaitMs)) {
      throw new MarketoRequestError({
        operation: OPERATION,
        disposition: "retry",
        code: "identity_retry_after",
        message: `identity service asked for ${waitMs} ms before the next token request`,
        retryAfterMs: waitMs,
      });
    }
    this.inFlight ??= this.fetchToken().finally(() => {
      this.inFlight = undefined;
    });
    return this.inFlight;
  }

  /** Marketo rejected `token` (401/601/602): forget it unless a newer one already replaced it. */
  invalidate(token: string): void {
    if (this.cached?.value === token) this.cached = undefined;
  }

  private async fetchToken(): Promise<string> {
    for (let attempt = 0; ; attempt++) {
      const waitMs = this.notBefore - this.options.clock.now();
      if (waitMs > 0) await this.options.clock.sleep(waitMs);
      const issuedAt = this.options.clock.now();
      this.issuedCount++;
      const issued = await this.issueRememberingRetryAfter();
      const lifetimeMs = issued.expiresInSeconds * 1000;
      if (lifetimeMs >= this.minUsableLifetimeMs) {
        // A reissued token may have little life left: never let the margin eat more than half of it.
        const margin = Math.min(this.expiryMarginMs, lifetimeMs / 2);
        this.cached = { value: issued.accessToken, refreshAt: issuedAt + lifetimeMs - margin };
        return issued.accessToken;
      }
      if (attempt >= this.dyingTokenRetries) {
        throw new Error(`identity service keeps issuing a token with ${issued.expiresInSeconds}s to live`);
      }
      // The current token is about to die and Marketo hands it out until it does: wait it out, then ask again.
      await this.options.clock.sleep(lifetimeMs + 1_000);
    }
  }

  private async issueRememberingRetryAfter(): Promise<IssuedToken> {
    try {
      return await this.issue();
    } catch (error) {
      const retryAfterMs = error instanceof MarketoRequestError ? error.failure.retryAfterMs : undefined;
      if (retryAfterMs !== undefined) {
        this.notBefore = Math.max(this.notBefore, this.options.clock.now() + retryAfterMs);
      }
      throw error;
    }
  }
}
