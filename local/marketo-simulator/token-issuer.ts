import { randomUUID } from "node:crypto";

export interface IssuedSimToken {
  access_token: string;
  token_type: "bearer";
  expires_in: number;
  scope: string;
}

/**
 * Marketo's identity behaviour: one live token per client; asking again while it lives returns the same token
 * with its remaining lifetime (whole seconds, rounded down); once it has expired a new one is issued.
 */
export class TokenIssuer {
  private current: { token: string; expiresAt: number } | undefined;
  private readonly retired = new Set<string>();

  constructor(
    private readonly ttlSeconds: number,
    private readonly now: () => number = Date.now,
  ) {}

  issue(): IssuedSimToken {
    const now = this.now();
    if (!this.current || this.current.expiresAt <= now) {
      if (this.current) this.retired.add(this.current.token);
      this.current = { token: `${randomUUID()}:sim`, expiresAt: now + this.ttlSeconds * 1000 };
    }
    return {
      access_token: this.current.token,
      token_type: "bearer",
      expires_in: Math.max(0, Math.floor((this.current.expiresAt - now) / 1000)),
      scope: "apis@sim",
    };
  }

  isValid(token: string): boolean {
    return this.current?.token === token && this.current.expiresAt > this.now();
  }

  /** Why a token is (not) accepted: the live one, one this issuer let die, or one it never issued. */
  check(token: string): "valid" | "expired" | "unknown" {
    if (this.current?.token === token) return this.current.expiresAt > this.now() ? "valid" : "expired";
    return this.retired.has(token) ? "expired" : "unknown";
  }

  /** Every issued token dies now (the next identity call issues a new one). */
  expireAll(): void {
    if (this.current) {
      this.retired.add(this.current.token);
      this.current = undefined;
    }
  }
}
