import type { Clock } from "../time/clock.ts";
import type { IssuedToken } from "./identity-client.ts";

export interface TokenProviderOptions {
  clock: Clock;
  /** Refresh this long before Marketo's expiry so a request never leaves with a dying token. */
  expiryMarginMs?: number;
  /** A token with less life than this is not used: Marketo can answer `expires_in: 0` at the end of a token's life. */
  minUsableLifetimeMs?: number;
  /** How many times to wait out a dying token and ask again before giving up. */
  dyingTokenRetries?: number;
}

interface CachedToken {
  value: string;
  refreshAt: number;
}

/**
 * Caches one access token per process. Concurrent callers share a single identity call (single flight), and a
 * token rejected by Marketo is dropped so the next caller fetches a new one.
 */
export class TokenProvider {
  private cached: CachedToken | undefined;
  private inFlight: Promise<string> | undefined;
  private issuedCount = 0;
  private readonly expiryMarginMs: number;
  private readonly minUsableLifetimeMs: number;
  private readonly dyingTokenRetries: number;

  constructor(
    private readonly issue: () => Promise<IssuedToken>,
    private readonly options: TokenProviderOptions,
  ) {
    this.expiryMarginMs = options.expiryMarginMs ?? 60_000;
    this.minUsableLifetimeMs = options.minUsableLifetimeMs ?? 5_000;
    this.dyingTokenRetries = options.dyingTokenRetries ?? 3;
  }

  /** Identity calls made by this provider (for metrics and tests). */
  get identityCalls(): number {
    return this.issuedCount;
  }

  async getToken(): Promise<string> {
    const cached = this.cached;
    if (cached && this.options.clock.now() < cached.refreshAt) return cached.value;
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
      const issuedAt = this.options.clock.now();
      this.issuedCount++;
      const issued = await this.issue();
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
}
