import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { type MarketoSimulator, startMarketoSimulator } from "../../../local/marketo-simulator/index.ts";

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

describe("identity endpoint faults", () => {
  const tokenUrl = () =>
    `${sim.identityUrl}/oauth/token?grant_type=client_credentials&client_id=${sim.clientId}&client_secret=${sim.clientSecret}`;

  it("answers a status fault naming its path with Retry-After, logs it, then issues tokens again", async () => {
    sim.injectFault({ kind: "status", status: 503, retryAfterSeconds: 1, path: "/identity/oauth/token" });

    const refused = await fetch(tokenUrl(), { method: "POST" });
    const issued = await fetch(tokenUrl(), { method: "POST" });

    expect(refused.status).toBe(503);
    expect(refused.headers.get("retry-after")).toBe("1");
    expect(issued.status).toBe(200);
    expect(sim.identityRequests.map((r) => [r.status, r.fault, r.retryAfterSeconds])).toEqual([
      [503, "status", 1],
      [200, undefined, undefined],
    ]);
    expect(sim.identityRequests[1]?.receivedAt).toBeGreaterThanOrEqual(sim.identityRequests[0]?.receivedAt ?? 0);
  });

  it("takes no fault without a path (those are for API calls) and no chaos that does not name it", async () => {
    sim.injectFault({ kind: "status", status: 503 });
    sim.injectChaos({ seed: 1, rate: 1, faults: [{ kind: "status", status: 500 }] });

    expect((await fetch(tokenUrl(), { method: "POST" })).status).toBe(200);
    expect((await postPersons({ persons: [{ email: "a@example.com" }] })).status).toBe(503);
    expect(sim.identityRequests.every((r) => r.status === 200 && r.fault === undefined)).toBe(true);
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

  it("refuses X-Correlation-Id over 255 and X-Request-Source over 50 characters, as Marketo documents", async () => {
    const person = { persons: [{ email: "a@example.com" }] };
    expect((await postPersons(person, { "x-correlation-id": "c".repeat(255) })).status).toBe(202);
    expect((await postPersons(person, { "x-correlation-id": "c".repeat(256) })).status).toBe(400);
    expect((await postPersons(person, { "x-request-source": "s".repeat(50) })).status).toBe(202);
    expect((await postPersons(person, { "x-request-source": "s".repeat(51) })).status).toBe(400);
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

describe("fault option `after`: dormant for the first N matching requests, then applies", () => {
  const person = { persons: [{ email: "a@example.com" }] };
  const company = { companies: [{ externalCompanyId: "c1" }] };

  it("token expiry after 3 requests: three calls pass, the fourth answers 401", async () => {
    const live = await token();
    sim.injectFault({ kind: "expireTokens", after: 3 });
    const statuses: number[] = [];
    for (let i = 0; i < 4; i++) statuses.push((await post("/persons", person, { "x-mkto-user-token": live })).status);
    expect(statuses).toEqual([202, 202, 202, 401]);
    expect(sim.requests.map((r) => r.fault)).toEqual([undefined, undefined, undefined, "expireTokens"]);
  });

  it("counts only the requests it matches: another path does not wake it", async () => {
    const live = await token();
    sim.injectFault({ kind: "status", status: 503, path: "/persons", after: 1 });
    const send = async (path: string, body: unknown) => (await post(path, body, { "x-mkto-user-token": live })).status;
    expect(await send("/companies", company)).toBe(202);
    expect(await send("/companies", company)).toBe(202);
    expect(await send("/persons", person)).toBe(202);
    expect(await send("/persons", person)).toBe(503);
    expect(await send("/persons", person)).toBe(202);
  });

  it("a dormant fault does not block later ones; active faults apply in FIFO order", async () => {
    const live = await token();
    sim.injectFault({ kind: "status", status: 500, after: 1 });
    sim.injectFault({ kind: "status", status: 502, times: 2 });
    const statuses: number[] = [];
    for (let i = 0; i < 4; i++) statuses.push((await post("/persons", person, { "x-mkto-user-token": live })).status);
    // 1st: the 500 is dormant, the 502 applies. 2nd: both active, the older 500 first. 3rd: the 502's second use.
    expect(statuses).toEqual([502, 500, 502, 202]);
  });

  it("applies `times` times once awake", async () => {
    const live = await token();
    sim.injectFault({ kind: "status", status: 429, after: 2, times: 2 });
    const statuses: number[] = [];
    for (let i = 0; i < 5; i++) statuses.push((await post("/persons", person, { "x-mkto-user-token": live })).status);
    expect(statuses).toEqual([202, 202, 429, 429, 202]);
  });

  it("works on the bulk paths: a restError after one call, a failJob on the second job created", async () => {
    const live = await token();
    const bearer = { authorization: `Bearer ${live}` };
    sim.injectFault({ kind: "restError", code: "611", path: "/bulk/v1/leads/batch/", after: 1 });
    const statusCode = async () => {
      const body = (await (await fetch(`${sim.restUrl}/bulk/v1/leads/batch/1.json`, { headers: bearer })).json()) as {
        errors?: Array<{ code: string }>;
      };
      return body.errors?.[0]?.code;
    };
    expect(await statusCode()).toBe("1013");
    expect(await statusCode()).toBe("611");
    expect(await statusCode()).toBe("1013");

    sim.injectFault({ kind: "failJob", message: "Import failed: second job", after: 1 });
    for (let i = 0; i < 2; i++) {
      const form = new FormData();
      form.set("file", new Blob([`email\np${i}@example.com\n`], { type: "text/csv" }), "import.csv");
      expect(
        (await fetch(`${sim.restUrl}/bulk/v1/leads.json`, { method: "POST", headers: bearer, body: form })).ok,
      ).toBe(true);
    }
    for (let i = 0; i < 100 && sim.bulkJobs.some((j) => j.status === "Queued" || j.status === "Importing"); i++) {
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    expect(sim.bulkJobs.map((j) => [j.status, j.message])).toEqual([
      ["Complete", expect.stringMatching(/^Import succeeded/)],
      ["Failed", "Import failed: second job"],
    ]);
  });

  it("refuses a negative or fractional `after`", () => {
    expect(() => sim.injectFault({ kind: "reset", after: -1 })).toThrow(RangeError);
    expect(() => sim.injectFault({ kind: "reset", after: 1.5 })).toThrow(RangeError);
  });
});

describe("delay fault when the client hangs up before the answer", () => {
  const person = { persons: [{ email: "gone@example.com" }] };

  /** Posts with a client timeout shorter than the delay; resolves once the simulator has finished the request. */
  async function postAndHangUp(clientTimeoutMs: number) {
    const live = await token();
    const outcome = await fetch(`${sim.ingestionUrl}/subscriptions/${sim.munchkinId}/persons`, {
      method: "POST",
      headers: { "content-type": "application/json", "x-mkto-user-token": live },
      body: JSON.stringify(person),
      signal: AbortSignal.timeout(clientTimeoutMs),
    }).then(
      (response) => response.status,
      (error: Error) => error.name,
    );
    for (let i = 0; i < 100 && sim.requests.some((r) => r.status === 0); i++) {
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    return outcome;
  }

  it('"process" (the default) still applies the request, and the log says 499 clientGone, not 202', async () => {
    sim.injectFault({ kind: "delay", ms: 400 });
    expect(await postAndHangUp(100)).toBe("TimeoutError");
    expect(sim.requests).toEqual([expect.objectContaining({ status: 499, clientGone: true, fault: "delay" })]);
    expect(sim.persons()).toEqual([expect.objectContaining({ key: expect.stringContaining("gone@example.com") })]);
  });

  it('"discard" drops the request: no state change, the log says 499 clientGone', async () => {
    sim.injectFault({ kind: "delay", ms: 400, ifClientGone: "discard" });
    expect(await postAndHangUp(100)).toBe("TimeoutError");
    expect(sim.requests).toEqual([expect.objectContaining({ status: 499, clientGone: true, fault: "delay" })]);
    expect(sim.persons()).toEqual([]);
  });

  it('a client that waits out a "discard" delay gets its 202 and the request applies', async () => {
    sim.injectFault({ kind: "delay", ms: 100, ifClientGone: "discard" });
    expect(await postAndHangUp(5_000)).toBe(202);
    expect(sim.requests).toEqual([expect.objectContaining({ status: 202, fault: "delay" })]);
    expect(sim.requests[0]).not.toHaveProperty("clientGone");
    expect(sim.persons()).toHaveLength(1);
  });
});

describe("seeded chaos", () => {
  const person = { persons: [{ email: "a@example.com" }] };

  async function sendPersons(n: number, live: string): Promise<number[]> {
    const statuses: number[] = [];
    for (let i = 0; i < n; i++) statuses.push((await post("/persons", person, { "x-mkto-user-token": live })).status);
    return statuses;
  }

  it("with rate 1 every request gets a chaos fault, up to maxFaults", async () => {
    const live = await token();
    sim.injectChaos({ seed: 1, rate: 1, faults: [{ kind: "status", status: 503 }], maxFaults: 3 });
    expect(await sendPersons(5, live)).toEqual([503, 503, 503, 202, 202]);
    expect(sim.faultsApplied()).toEqual({
      status: 3,
      delay: 0,
      reset: 0,
      expireTokens: 0,
      restError: 0,
      failJob: 0,
    });
    expect(sim.faultsApplied("chaos").status).toBe(3);
    expect(sim.faultsApplied("scripted").status).toBe(0);
    expect(sim.requests.map((r) => r.faultSource)).toEqual(["chaos", "chaos", "chaos", undefined, undefined]);
  });

  it("rate 0 never fires", async () => {
    const live = await token();
    sim.injectChaos({ seed: 1, rate: 0, faults: [{ kind: "status", status: 503 }] });
    expect(await sendPersons(10, live)).toEqual(Array(10).fill(202));
    expect(sim.faultLog).toEqual([]);
  });

  it("scripted faults go first: chaos draws only for requests no scripted fault matched", async () => {
    const live = await token();
    sim.injectFault({ kind: "status", status: 429 });
    sim.injectChaos({ seed: 9, rate: 1, faults: [{ kind: "status", status: 503 }], maxFaults: 1 });
    expect(await sendPersons(3, live)).toEqual([429, 503, 202]);
    expect(sim.faultLog.map((f) => [f.kind, f.source])).toEqual([
      ["status", "scripted"],
      ["status", "chaos"],
    ]);
    expect(sim.faultsApplied()).toMatchObject({ status: 2 });
  });

  it("the same seed and the same requests give the same faults; another seed gives others", async () => {
    const live = await token();
    const faults = [
      { kind: "status", status: 503 },
      { kind: "status", status: 429, retryAfterSeconds: 1 },
      { kind: "delay", ms: 1 },
    ] as const;
    const run = async (seed: number) => {
      sim.reset();
      sim.injectChaos({ seed, rate: 0.3, faults: [...faults] });
      const statuses = await sendPersons(60, live);
      return { statuses, faults: sim.requests.map((r) => r.fault ?? "-"), counts: sim.faultsApplied("chaos") };
    };
    const first = await run(42);
    const again = await run(42);
    const other = await run(7);
    expect(again).toEqual(first);
    expect(other.faults).not.toEqual(first.faults);
    // About 30% of 60 requests get a fault, of all three kinds; every other request is accepted.
    const fired = first.faults.filter((f) => f !== "-").length;
    expect(fired).toBeGreaterThan(8);
    expect(fired).toBeLessThan(30);
    expect(first.counts.status + first.counts.delay).toBe(fired);
    expect(first.statuses.filter((s) => s === 503).length).toBeGreaterThan(0);
    expect(first.statuses.filter((s) => s === 429).length).toBeGreaterThan(0);
    expect(first.counts.delay).toBeGreaterThan(0);
    expect(first.statuses.filter((s) => s === 202).length).toBe(60 - first.counts.status);
  });

  it("is limited to `path`, draws only faults the call can take, and reset() clears it", async () => {
    const live = await token();
    sim.injectChaos({
      seed: 3,
      rate: 1,
      path: "/bulk/v1/",
      faults: [{ kind: "restError", code: "606" }],
    });
    // A Data Ingestion call is outside the path (and cannot take a restError anyway).
    expect((await sendPersons(1, live))[0]).toBe(202);
    const bulkStatus = async () =>
      (
        (await (
          await fetch(`${sim.restUrl}/bulk/v1/leads/batch/1.json`, { headers: { authorization: `Bearer ${live}` } })
        ).json()) as { errors?: Array<{ code: string }> }
      ).errors?.[0]?.code;
    expect(await bulkStatus()).toBe("606");
    expect(sim.faultsApplied("chaos").restError).toBe(1);
    sim.reset();
    expect(await bulkStatus()).toBe("1013");
    expect(sim.faultsApplied()).toMatchObject({ restError: 0, status: 0 });
    expect(sim.faultLog).toEqual([]);
  });

  it("refuses a rate outside [0, 1] and an empty fault list", () => {
    expect(() => sim.injectChaos({ seed: 1, rate: 1.5, faults: [{ kind: "reset" }] })).toThrow(RangeError);
    expect(() => sim.injectChaos({ seed: 1, rate: 0.5, faults: [] })).toThrow(RangeError);
  });
});
