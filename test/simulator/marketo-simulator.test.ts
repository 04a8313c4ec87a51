import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { type MarketoSimulator, startMarketoSimulator } from "../../shared/marketo-simulator/index.ts";

/**
 * The simulator is product code (the demo sends to it) and the oracle of the end-to-end suites, so its contract is
 * specified here over real HTTP on 127.0.0.1, independently of the client.
 */
let sim: MarketoSimulator;

beforeAll(async () => {
  sim = await startMarketoSimulator({ maxLifetimeMs: 60_000 });
});
afterAll(() => sim.close());
beforeEach(() => sim.reset());

async function token(): Promise<string> {
  const url = new URL(`${sim.identityUrl}/oauth/token`);
  url.searchParams.set("grant_type", "client_credentials");
  url.searchParams.set("client_id", sim.clientId);
  url.searchParams.set("client_secret", sim.clientSecret);
  const response = await fetch(url, { method: "POST" });
  return ((await response.json()) as { access_token: string }).access_token;
}

async function post(path: string, body: unknown, headers: Record<string, string> = {}) {
  const response = await fetch(`${sim.ingestionUrl}/subscriptions/${sim.munchkinId}${path}`, {
    method: "POST",
    headers: { "content-type": "application/json", ...headers },
    body: typeof body === "string" ? body : JSON.stringify(body),
  });
  const text = await response.text();
  return {
    status: response.status,
    requestId: response.headers.get("x-request-id"),
    retryAfter: response.headers.get("retry-after"),
    body: text ? (JSON.parse(text) as { error_code: string; message: string }) : undefined,
  };
}

const postPersons = async (body: unknown, extraHeaders: Record<string, string> = {}) =>
  post("/persons", body, { "x-mkto-user-token": await token(), ...extraHeaders });

describe("identity endpoint", () => {
  it("issues {access_token, token_type, expires_in, scope} for good client credentials", async () => {
    const url = `${sim.identityUrl}/oauth/token?grant_type=client_credentials&client_id=${sim.clientId}&client_secret=${sim.clientSecret}`;
    const response = await fetch(url);
    expect(response.status).toBe(200);
    const body = (await response.json()) as Record<string, unknown>;
    expect(Object.keys(body).sort()).toEqual(["access_token", "expires_in", "scope", "token_type"]);
    expect(body.token_type).toBe("bearer");
    expect(body.expires_in).toBeGreaterThan(3500);
  });

  it("answers 401 to a wrong client secret", async () => {
    const url = `${sim.identityUrl}/oauth/token?grant_type=client_credentials&client_id=${sim.clientId}&client_secret=wrong`;
    const response = await fetch(url, { method: "POST" });
    expect(response.status).toBe(401);
  });

  it("returns the live token again until it expires, then a new one", async () => {
    const first = await token();
    expect(await token()).toBe(first);
    sim.expireTokens();
    expect(await token()).not.toBe(first);
  });

  it("issues tokens whose lifetime counts down and that die at expiry", async () => {
    const shortLived = await startMarketoSimulator({ tokenTtlSeconds: 1, maxLifetimeMs: 10_000 });
    try {
      const url = `${shortLived.identityUrl}/oauth/token?grant_type=client_credentials&client_id=${shortLived.clientId}&client_secret=${shortLived.clientSecret}`;
      const issued = (await (await fetch(url)).json()) as { access_token: string; expires_in: number };
      expect(issued.expires_in).toBeLessThanOrEqual(1);
      await new Promise((resolve) => setTimeout(resolve, 1_100));
      const response = await fetch(`${shortLived.ingestionUrl}/subscriptions/${shortLived.munchkinId}/persons`, {
        method: "POST",
        headers: { "content-type": "application/json", "x-mkto-user-token": issued.access_token },
        body: JSON.stringify({ persons: [{ email: "a@example.com" }] }),
      });
      expect(response.status).toBe(401);
    } finally {
      await shortLived.close();
    }
  });
});

describe("POST /persons", () => {
  it("accepts a valid request with 202 and an X-Request-Id, and upserts by dedupe key", async () => {
    const first = await postPersons({ persons: [{ email: "a@example.com", firstName: "Ann" }] });
    const second = await postPersons({ persons: [{ email: "a@example.com", firstName: "Anna", postalCode: "04906" }] });
    expect(first.status).toBe(202);
    expect(first.requestId).toMatch(/^[0-9a-f-]{36}$/);
    expect(second.requestId).not.toBe(first.requestId);
    const persons = sim.persons();
    expect(persons).toHaveLength(1);
    expect(persons[0]?.fields).toEqual({ email: "a@example.com", firstName: "Anna", postalCode: "04906" });
    expect(persons[0]?.writes).toBe(2);
  });

  it("requires X-Mkto-User-Token: missing → 403 403010, invalid → 401 401013", async () => {
    const missing = await post("/persons", { persons: [{ email: "a@example.com" }] });
    expect(missing.status).toBe(403);
    expect(missing.body).toEqual({ error_code: "403010", message: expect.any(String) });
    const invalid = await post("/persons", { persons: [{ email: "a@example.com" }] }, { "x-mkto-user-token": "nope" });
    expect(invalid.status).toBe(401);
    expect(invalid.body?.error_code).toBe("401013");
  });

  it("refuses a token passed as a query parameter, even alongside the header", async () => {
    const good = await token();
    const response = await post(
      `/persons?access_token=${good}`,
      { persons: [{ email: "a@example.com" }] },
      {
        "x-mkto-user-token": good,
      },
    );
    expect(response.status).toBe(403);
    expect(sim.persons()).toHaveLength(0);
  });

  it("requires a JSON body", async () => {
    const notJson = await postPersons("{persons:");
    expect(notJson.status).toBe(400);
    const response = await fetch(`${sim.ingestionUrl}/subscriptions/${sim.munchkinId}/persons`, {
      method: "POST",
      headers: { "content-type": "text/csv", "x-mkto-user-token": await token() },
      body: "email\na@example.com",
    });
    expect(response.status).toBe(400);
  });

  it("enforces 1 MB per body: exactly 1,000,000 bytes passes, one more byte is 413", async () => {
    const bodyOfSize = (bytes: number) => {
      const base = JSON.stringify({ persons: [{ email: "a@example.com", note: "" }] });
      return JSON.stringify({ persons: [{ email: "a@example.com", note: "x".repeat(bytes - base.length) }] });
    };
    expect(Buffer.byteLength(bodyOfSize(1_000_000))).toBe(1_000_000);
    expect((await postPersons(bodyOfSize(1_000_000))).status).toBe(202);
    const tooLarge = await postPersons(bodyOfSize(1_000_001));
    expect(tooLarge.status).toBe(413);
  });

  it("enforces 1,000 objects per request", async () => {
    const persons = (n: number) => Array.from({ length: n }, (_, i) => ({ email: `p${i}@example.com` }));
    expect((await postPersons({ persons: persons(1000) })).status).toBe(202);
    const tooMany = await postPersons({ persons: persons(1001) });
    expect(tooMany.status).toBe(400);
    expect(tooMany.body?.message).toMatch(/1000/);
    expect(sim.persons()).toHaveLength(1000);
  });

  it.each([
    [{ field1: "email" }, 202],
    [{ field1: "email", field2: "sfdcLeadId" }, 202],
    [{ field1: "email", field2: "email" }, 400],
    [{ field1: "email", field2: "id", field3: "sfdcLeadId" }, 400],
    [{ field2: "email" }, 400],
    [{ field1: "favouriteColour" }, 400],
    [["email"], 400],
  ])("dedupeFields %j → %i", async (dedupeFields, status) => {
    expect((await postPersons({ dedupeFields, persons: [{ email: "a@example.com" }] })).status).toBe(status);
  });

  it("dedupes on two fields with AND semantics", async () => {
    const dedupeFields = { field1: "email", field2: "sfdcLeadId" };
    await postPersons({ dedupeFields, persons: [{ email: "a@example.com", sfdcLeadId: "1" }] });
    await postPersons({ dedupeFields, persons: [{ email: "a@example.com", sfdcLeadId: "2" }] });
    await postPersons({ dedupeFields, persons: [{ email: "a@example.com", sfdcLeadId: "1", city: "Oslo" }] });
    expect(sim.persons()).toHaveLength(2);
  });

  it.each([
    ["normal", 202],
    ["high", 202],
    ["urgent", 400],
    ["High", 400],
  ])("priority %s → %i", async (priority, status) => {
    expect((await postPersons({ priority, persons: [{ email: "a@example.com" }] })).status).toBe(status);
  });

  it("keeps persons of different partitions apart and rejects an empty partitionName", async () => {
    await postPersons({ partitionName: "EMEA", persons: [{ email: "a@example.com" }] });
    await postPersons({ persons: [{ email: "a@example.com" }] });
    expect(sim.persons()).toHaveLength(2);
    expect((await postPersons({ partitionName: " ", persons: [{ email: "a@example.com" }] })).status).toBe(400);
  });

  it("records each call without token values: headers seen, sizes, counts, outcome", async () => {
    await postPersons(
      { persons: [{ email: "a@example.com" }] },
      {
        "x-correlation-id": "file-1/batch-0",
        "x-request-source": "marketo-ingest",
      },
    );
    expect(sim.requests).toEqual([
      expect.objectContaining({
        endpoint: "persons",
        status: 202,
        tokenPresent: true,
        objectCount: 1,
        correlationId: "file-1/batch-0",
        requestSource: "marketo-ingest",
      }),
    ]);
    expect(JSON.stringify(sim.requests)).not.toContain(await token());
  });
});

describe("fault injection", () => {
  const person = { persons: [{ email: "a@example.com" }] };

  it("answers an injected 429 with Retry-After, then behaves again", async () => {
    sim.injectFault({ kind: "status", status: 429, retryAfterSeconds: 7 });
    const throttled = await postPersons(person);
    expect(throttled).toMatchObject({ status: 429, retryAfter: "7", body: { error_code: "429001" } });
    expect((await postPersons(person)).status).toBe(202);
    expect(sim.persons()).toHaveLength(1);
  });

  it("answers injected 5xx as many times as asked, on the matching path only", async () => {
    sim.injectFault({ kind: "status", status: 503, times: 2, path: "/persons" });
    expect(
      (await post("/companies", { companies: [{ externalCompanyId: "c1" }] }, { "x-mkto-user-token": await token() }))
        .status,
    ).toBe(202);
    expect((await postPersons(person)).status).toBe(503);
    expect((await postPersons(person)).status).toBe(503);
    expect((await postPersons(person)).status).toBe(202);
  });

  it("delays a response by the requested time", async () => {
    sim.injectFault({ kind: "delay", ms: 300 });
    const started = performance.now();
    expect((await postPersons(person)).status).toBe(202);
    expect(performance.now() - started).toBeGreaterThanOrEqual(290);
  });

  it("expires tokens early so the next call answers 401", async () => {
    const live = await token();
    sim.injectFault({ kind: "expireTokens" });
    const response = await post("/persons", person, { "x-mkto-user-token": live });
    expect(response.status).toBe(401);
    expect(sim.persons()).toHaveLength(0);
  });

  it("resets the connection without answering", async () => {
    sim.injectFault({ kind: "reset" });
    await expect(postPersons(person)).rejects.toThrow();
    expect(sim.persons()).toHaveLength(0);
  });
});
