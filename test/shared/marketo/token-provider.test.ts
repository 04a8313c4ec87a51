import { describe, expect, it } from "vitest";
import type { IssuedToken } from "../../../shared/marketo/identity-client.ts";
import { TokenProvider } from "../../../shared/marketo/token-provider.ts";
import { FakeClock } from "../../support/fake-clock.ts";

function issuer(lifetimes: number[]) {
  let n = 0;
  const issue = async (): Promise<IssuedToken> => {
    const expiresInSeconds = lifetimes[Math.min(n, lifetimes.length - 1)] as number;
    n++;
    return { accessToken: `token-${n}`, expiresInSeconds };
  };
  return { issue, calls: () => n };
}

describe("TokenProvider", () => {
  it("reuses a token until the expiry margin, then fetches a new one", async () => {
    const clock = new FakeClock();
    const { issue, calls } = issuer([3600]);
    const tokens = new TokenProvider(issue, { clock, expiryMarginMs: 60_000 });
    expect(await tokens.getToken()).toBe("token-1");
    clock.advance(3_539_000);
    expect(await tokens.getToken()).toBe("token-1");
    clock.advance(2_000);
    expect(await tokens.getToken()).toBe("token-2");
    expect(calls()).toBe(2);
  });

  it("makes one identity call for 50 concurrent callers", async () => {
    const clock = new FakeClock();
    const { issue, calls } = issuer([3600]);
    const tokens = new TokenProvider(issue, { clock });
    const got = await Promise.all(Array.from({ length: 50 }, () => tokens.getToken()));
    expect(new Set(got)).toEqual(new Set(["token-1"]));
    expect(calls()).toBe(1);
  });

  it("drops a rejected token, but not a newer one another caller already fetched", async () => {
    const clock = new FakeClock();
    const { issue } = issuer([3600]);
    const tokens = new TokenProvider(issue, { clock });
    const first = await tokens.getToken();
    tokens.invalidate(first);
    const second = await tokens.getToken();
    expect(second).toBe("token-2");
    tokens.invalidate(first);
    expect(await tokens.getToken()).toBe("token-2");
  });

  it("waits out a token Marketo reissues with expires_in 0, then uses the fresh one", async () => {
    const clock = new FakeClock();
    const { issue, calls } = issuer([0, 3600]);
    const tokens = new TokenProvider(issue, { clock });
    expect(await tokens.getToken()).toBe("token-2");
    expect(calls()).toBe(2);
    expect(clock.sleeps).toEqual([1_000]);
  });

  it("uses a reissued token with little life left for half of it, not zero", async () => {
    const clock = new FakeClock();
    const { issue, calls } = issuer([30, 3600]);
    const tokens = new TokenProvider(issue, { clock, expiryMarginMs: 60_000 });
    expect(await tokens.getToken()).toBe("token-1");
    clock.advance(14_000);
    expect(await tokens.getToken()).toBe("token-1");
    clock.advance(2_000);
    expect(await tokens.getToken()).toBe("token-2");
    expect(calls()).toBe(2);
  });

  it("gives up when identity keeps issuing dead tokens", async () => {
    const clock = new FakeClock();
    const { issue } = issuer([0]);
    const tokens = new TokenProvider(issue, { clock, dyingTokenRetries: 2 });
    await expect(tokens.getToken()).rejects.toThrow(/0s to live/);
  });

  it("lets the next caller retry after a failed identity call", async () => {
    const clock = new FakeClock();
    let fail = true;
    const tokens = new TokenProvider(
      async () => {
        if (fail) throw new Error("identity down");
        return { accessToken: "ok", expiresInSeconds: 3600 };
      },
      { clock },
    );
    await expect(tokens.getToken()).rejects.toThrow("identity down");
    fail = false;
    expect(await tokens.getToken()).toBe("ok");
  });
});
