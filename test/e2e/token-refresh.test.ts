import { SecretsManagerClient } from "@aws-sdk/client-secrets-manager";
import { setTimeout as sleep } from "node:timers/promises";
import type { Dispatcher } from "undici";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import type { MarketoSecret } from "../../shared/config/marketo-secret.ts";
import { type SecretsManagerEmulator, startSecretsManagerEmulator } from "../../local/secrets-manager-emulator.ts";
import { BulkImportClient } from "../../shared/marketo/bulk-import-client.ts";
import { resolveEndpoints } from "../../shared/marketo/endpoints.ts";
import { createMarketoDispatcher } from "../../shared/marketo/http.ts";
import { requestAccessToken } from "../../shared/marketo/identity-client.ts";
import { IngestionClient } from "../../shared/marketo/ingestion-client.ts";
import { lazyMarketoClient } from "../../shared/marketo/lazy-client.ts";
import { TokenProvider } from "../../shared/marketo/token-provider.ts";
import { type MarketoSimulator, startMarketoSimulator } from "../../local/marketo-simulator/index.ts";
import { systemClock } from "../../shared/time/clock.ts";
import { type Harness, startHarness } from "./harness.ts";

/**
 * Access tokens as the deployed functions handle them: the client stack is built by the same factory the handlers
 * use (lazyMarketoClient: secret from Secrets Manager → endpoints → TokenProvider → client), one stack standing
 * for one Lambda process, against the simulator over real HTTP.
 */
const SECRET_ID = "marketo-ingest/marketo";
let sim: MarketoSimulator;
let secretsManager: SecretsManagerEmulator;
let secrets: SecretsManagerClient;
const dispatchers: Dispatcher[] = [];

const secretOf = (target: MarketoSimulator): MarketoSecret => ({
  clientId: target.clientId,
  clientSecret: target.clientSecret,
  munchkinId: target.munchkinId,
  identityUrl: target.identityUrl,
  ingestionUrl: target.ingestionUrl,
  restUrl: target.restUrl,
});

function dispatcher(connectionsPerOrigin?: number): Dispatcher {
  const created = createMarketoDispatcher({
    timeoutMs: 5_000,
    ...(connectionsPerOrigin !== undefined ? { connectionsPerOrigin } : {}),
  });
  dispatchers.push(created);
  return created;
}

/** A new sender process: its own dispatcher and token cache, built as functions/ingestion-sender/handler.ts does. */
function senderProcess(): () => Promise<IngestionClient> {
  const http = dispatcher();
  return lazyMarketoClient(
    secrets,
    SECRET_ID,
    http,
    ({ endpoints, tokens }) =>
      new IngestionClient({ endpoints, tokens, dispatcher: http, clock: systemClock, requestSource: "marketo-ingest" }),
  );
}

/** A new bulk-importer process, built as functions/bulk-importer/handler.ts does (two sockets). */
function bulkProcess(): () => Promise<BulkImportClient> {
  const http = dispatcher(2);
  return lazyMarketoClient(
    secrets,
    SECRET_ID,
    http,
    ({ endpoints, tokens }) => new BulkImportClient({ endpoints, tokens, dispatcher: http, clock: systemClock }),
  );
}

const personBody = (email: string) => JSON.stringify({ persons: [{ email }] });

/** Statuses the simulator answered per correlation id, in arrival order. */
function statusesByCorrelationId(): Map<string, number[]> {
  const byId = new Map<string, number[]>();
  for (const request of sim.requests) {
    const id = request.correlationId ?? "(none)";
    byId.set(id, [...(byId.get(id) ?? []), request.status]);
  }
  return byId;
}

beforeAll(async () => {
  sim = await startMarketoSimulator({ bulkImportMs: 20, maxLifetimeMs: 120_000 });
  secretsManager = await startSecretsManagerEmulator();
  secretsManager.putSecret(SECRET_ID, JSON.stringify(secretOf(sim)));
  secrets = new SecretsManagerClient({
    endpoint: secretsManager.url,
    region: "us-east-1",
    credentials: { accessKeyId: "local", secretAccessKey: "local" },
  });
});
afterAll(async () => {
  secrets.destroy();
  await Promise.all(dispatchers.map((d) => d.close()));
  await secretsManager.close();
  await sim.close();
});
beforeEach(() => sim.reset());

describe("an access token that expired while cached", () => {
  it("50 concurrent sends with an expired token cause one identity call per process", async () => {
    const client = await senderProcess()();
    await client.submit({ resource: "persons", body: personBody("first@example.com"), correlationId: "warm-up" });
    expect(sim.identityCalls).toBe(1);
    sim.expireTokens();

    const sends = Array.from({ length: 50 }, (_, i) =>
      client.submit({ resource: "persons", body: personBody(`n${i}@example.com`), correlationId: `send-${i}` }),
    );
    const accepted = await Promise.all(sends);

    expect(accepted.every((a) => /^[0-9a-f-]{36}$/.test(a.requestId))).toBe(true);
    expect(sim.identityCalls).toBe(2);
    const byId = statusesByCorrelationId();
    for (let i = 0; i < 50; i++) expect([[401, 202], [202]]).toContainEqual(byId.get(`send-${i}`));
    const rejected = sim.requests.filter((r) => r.status === 401);
    // Every send left with the cached token before the first 401 came back; each was retried once with the new one.
    expect(rejected.length).toBeGreaterThan(0);
    expect(rejected.length).toBeLessThanOrEqual(50);
    expect(sim.requests.filter((r) => r.status === 202)).toHaveLength(51);
    expect(sim.persons()).toHaveLength(51);
  });

  it("two processes each make their own single identity call", async () => {
    const processes = [await senderProcess()(), await senderProcess()()];
    await Promise.all(
      processes.map((client, p) =>
        client.submit({ resource: "persons", body: personBody(`p${p}@example.com`), correlationId: `warm-${p}` }),
      ),
    );
    const afterWarmUp = sim.identityCalls;
    expect(afterWarmUp).toBe(2);
    sim.expireTokens();

    await Promise.all(
      processes.flatMap((client, p) =>
        Array.from({ length: 25 }, (_, i) =>
          client.submit({
            resource: "persons",
            body: personBody(`p${p}-${i}@example.com`),
            correlationId: `${p}/${i}`,
          }),
        ),
      ),
    );

    expect(sim.identityCalls - afterWarmUp).toBe(2);
    expect(sim.persons()).toHaveLength(52);
  });
});

describe("a token close to expiry", () => {
  let shortLived: MarketoSimulator;
  beforeAll(async () => {
    shortLived = await startMarketoSimulator({ tokenTtlSeconds: 1, maxLifetimeMs: 60_000 });
  });
  afterAll(() => shortLived.close());

  /**
   * Marketo (and the simulator) answers a token request with the live token and its remaining life while it
   * lives, so refreshing early alone would only get the same dying token back: the provider must also refuse a
   * token with less than minUsableLifetimeMs left and wait for it to die. The handlers' factory keeps the defaults
   * (60 s margin, 5 s minimum), sized for Marketo's 3600 s tokens; here the same provider is built with values
   * sized for a 1 s token.
   */
  it("is refreshed before Marketo would reject it, so no request sees 401", async () => {
    const secret = secretOf(shortLived);
    const endpoints = resolveEndpoints(secret);
    const http = dispatcher();
    const tokens = new TokenProvider(() => requestAccessToken(endpoints, secret, http), {
      clock: systemClock,
      expiryMarginMs: 600,
      minUsableLifetimeMs: 200,
    });
    const client = new IngestionClient({ endpoints, tokens, dispatcher: http, clock: systemClock });

    // Token A lives 1 s; the provider plans to refresh it after 500 ms (the margin is capped at half its life).
    await client.submit({ resource: "persons", body: personBody("a@example.com"), correlationId: "first" });
    expect(shortLived.identityCalls).toBe(1);
    await sleep(600);
    // The next request spends 600 ms on its way (held by the gateway): A, with ≤ 400 ms left, would die on the way.
    shortLived.injectFault({ kind: "delay", ms: 600 });
    await client.submit({ resource: "persons", body: personBody("b@example.com"), correlationId: "second" });

    expect(shortLived.requests.map((r) => [r.correlationId, r.status])).toEqual([
      ["first", 202],
      ["second", 202],
    ]);
    // Identity call 2 got A back with expires_in 0 (too little life); call 3, after A died, issued token B.
    expect(shortLived.identityCalls).toBe(3);
    expect(tokens.identityCalls).toBe(3);
    expect(shortLived.persons()).toHaveLength(2);
  });
});

describe("Bulk API: an expired token (602) on concurrent calls", () => {
  it("is refreshed once for all callers, and each call is retried once", async () => {
    const client = await bulkProcess()();
    const route = { target: "leads" } as const;
    const job = await client.submit(route, { format: "csv" }, { name: "part.csv", text: "email\na@example.com\n" });
    expect(sim.identityCalls).toBe(1);
    sim.expireTokens();

    const statuses = await Promise.all(Array.from({ length: 10 }, () => client.status(route, job.batchId)));

    expect(statuses.every((s) => s.batchId === job.batchId)).toBe(true);
    expect(sim.identityCalls).toBe(2);
    const calls = sim.bulkLog.filter((e) => e.event === "status");
    const expired = calls.filter((e) => e.code === "602");
    expect(expired.length).toBeGreaterThan(0);
    expect(expired.length).toBeLessThanOrEqual(10);
    expect(calls.filter((e) => e.code === undefined)).toHaveLength(10);
    expect(calls).toHaveLength(10 + expired.length);
  });
});

describe("identity answers 503 with Retry-After", () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness();
  });
  afterAll(() => h.close());

  it("the sender's next identity call waits for Retry-After, and every row is still delivered", async () => {
    h.sim.injectFault({ kind: "status", status: 503, retryAfterSeconds: 1, path: "/identity/oauth/token" });
    const csv = `email\n${Array.from({ length: 6 }, (_, i) => `r${i}@example.com`).join("\n")}\n`;

    // Two rows per request: three batches in flight together, all needing the first token.
    const result = await h.run("persons/identity-busy.csv", csv, { splitterEnv: { MAX_REQUEST_OBJECTS: "2" } });

    const [refused, ...later] = h.sim.identityRequests;
    expect(refused).toMatchObject({ status: 503, retryAfterSeconds: 1 });
    // One identity call after the wait, shared by the three batches (one token provider per sender process).
    expect(later).toHaveLength(1);
    expect((later[0]?.receivedAt ?? 0) - (refused?.receivedAt ?? 0)).toBeGreaterThanOrEqual(1_000);
    expect(later[0]?.status).toBe(200);
    expect(result.summary).toMatchObject({ status: "complete", rowsRead: 6, accepted: 6, deadLettered: 0 });
    expect(result.deadLetterMessages).toBe(0);
    expect(h.sim.persons()).toHaveLength(6);
  });
});
