import { describe, expect, it, afterAll, beforeAll } from "vitest";
import { type IssuedToken, requestAccessToken } from "../../../shared/marketo/identity-client.ts";
import { TokenProvider } from "../../../shared/marketo/token-provider.ts";
import { FakeClock } from "../../support/fake-clock.ts";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { Agent } from "undici";
import { MarketoRequestError } from "../../../shared/marketo/errors.ts";
import { callWithToken } from "../../../shared/marketo/with-token.ts";

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

/**
 * Identity's Retry-After, with the real identity client over HTTP on 127.0.0.1 and a fake clock: the provider's
 * waits advance the clock instead of taking time, and the server notes the clock's time of every identity call.
 */
describe("TokenProvider after identity answers 429/503 with Retry-After", () => {
  let server: Server;
  let identityUrl: string;
  const dispatcher = new Agent();
  let clock = new FakeClock();
  let script: Array<{ status: number; retryAfter?: (now: number) => string; token?: string }> = [];
  let callTimes: number[] = [];

  beforeAll(async () => {
    server = createServer((req, res) => {
      req.resume();
      callTimes.push(clock.now());
      const next = script.shift() ?? { status: 200 };
      if (next.status !== 200) {
        const headers = next.retryAfter ? { "retry-after": next.retryAfter(clock.now()) } : {};
        res.writeHead(next.status, { "content-type": "application/json", ...headers }).end("{}");
        return;
      }
      const body = { access_token: next.token ?? `token-${callTimes.length}`, token_type: "bearer", expires_in: 3600 };
      res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify(body));
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    identityUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}/identity`;
  });
  afterAll(async () => {
    await dispatcher.close();
    await new Promise((resolve) => server.close(resolve));
  });

  function provider(answers: typeof script, options: { maxWaitMs?: number } = {}): TokenProvider {
    clock = new FakeClock();
    script = answers;
    callTimes = [];
    const credentials = { clientId: "id", clientSecret: "secret" };
    return new TokenProvider(() => requestAccessToken({ identityUrl }, credentials, dispatcher, clock), {
      clock,
      ...options,
    });
  }

  it("delta-seconds: the next identity call comes no sooner than Retry-After", async () => {
    const tokens = provider([{ status: 503, retryAfter: () => "3" }]);

    const refused = await tokens.getToken().catch((error: unknown) => error);
    const token = await tokens.getToken();

    expect(refused).toBeInstanceOf(MarketoRequestError);
    expect((refused as MarketoRequestError).failure).toMatchObject({ disposition: "retry", retryAfterMs: 3_000 });
    expect(token).toBe("token-2");
    expect(callTimes).toHaveLength(2);
    expect((callTimes[1] as number) - (callTimes[0] as number)).toBeGreaterThanOrEqual(3_000);
    expect(clock.sleeps).toEqual([3_000]);
  });

  it("HTTP date: the next identity call comes no sooner than that date", async () => {
    const tokens = provider([{ status: 429, retryAfter: (now) => new Date(now + 30_000).toUTCString() }], {
      maxWaitMs: 60_000,
    });

    await expect(tokens.getToken()).rejects.toThrow(MarketoRequestError);
    expect(await tokens.getToken()).toBe("token-2");

    expect((callTimes[1] as number) - (callTimes[0] as number)).toBeGreaterThanOrEqual(30_000);
  });

  it("callers arriving during the wait share it and one identity call after it", async () => {
    const tokens = provider([{ status: 503, retryAfter: () => "2" }]);
    await expect(tokens.getToken()).rejects.toThrow(MarketoRequestError);

    const got = await Promise.all(Array.from({ length: 20 }, () => tokens.getToken()));

    expect(new Set(got)).toEqual(new Set(["token-2"]));
    expect(callTimes).toHaveLength(2);
    expect((callTimes[1] as number) - (callTimes[0] as number)).toBeGreaterThanOrEqual(2_000);
  });

  it("a caller who cannot afford the wait fails at once, retryable, with the wait left, and identity is not called", async () => {
    const tokens = provider([{ status: 503, retryAfter: () => "120" }]);
    await expect(tokens.getToken()).rejects.toThrow(MarketoRequestError);
    clock.advance(20_000);

    const early = await callWithToken(tokens, async () => "sent", { maxWaitMs: 5_000 }).catch((e: unknown) => e);

    expect(early).toBeInstanceOf(MarketoRequestError);
    expect((early as MarketoRequestError).failure).toMatchObject({
      disposition: "retry",
      code: "identity_retry_after",
      retryAfterMs: 100_000,
    });
    expect(callTimes).toHaveLength(1);
    clock.advance(100_000);
    expect(await callWithToken(tokens, async (token) => token, { maxWaitMs: 0 })).toBe("token-2");
    expect(callTimes).toHaveLength(2);
  });

  it("a token no HTTP client could send in a header is a malformed answer (retryable), not a token", async () => {
    const tokens = provider([{ status: 200, token: "tökenő" }]);
    await expect(tokens.getToken()).rejects.toMatchObject({
      failure: { disposition: "retry", code: "identity_malformed" },
    });
    expect(await tokens.getToken()).toBe("token-2");
  });

  it("an identity error without Retry-After does not hold the next call back", async () => {
    const tokens = provider([{ status: 503 }]);
    await expect(tokens.getToken()).rejects.toThrow(MarketoRequestError);
    expect(await tokens.getToken({ maxWaitMs: 0 })).toBe("token-2");
    expect(clock.sleeps).toEqual([]);
  });
});
