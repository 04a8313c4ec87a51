import { SecretsManagerClient } from "@aws-sdk/client-secrets-manager";
import { setTimeout as sleep } from "node:timers/promises";
import type { Dispatcher } from "undici";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { type Delivery, type DeliveryPolicy, deliverBatch } from "../../functions/ingestion-sender/deliver-batch.ts";
import { type LocalAws, startLocalAws } from "../../local/local-aws.ts";
import { type MarketoSimulator, simulatorSecret, startMarketoSimulator } from "../../local/marketo-simulator/index.ts";
import { S3FleetPause } from "../../shared/aws/s3-fleet-pause.ts";
import type { BatchMessage } from "../../shared/contracts/batch-message.ts";
import { createMarketoDispatcher } from "../../shared/marketo/http.ts";
import { IngestionClient } from "../../shared/marketo/ingestion-client.ts";
import { lazyMarketoClient } from "../../shared/marketo/lazy-client.ts";
import { type Clock, systemClock } from "../../shared/time/clock.ts";
import { FakeClock } from "../support/fake-clock.ts";

/**
 * Marketo's limits are per client id, so they hold for the whole fleet of senders: several sender processes (each
 * its own client stack and its own view of the shared pause, as separate Lambda containers) against the simulator
 * over real HTTP, with the pause marker in the S3 emulator's work bucket.
 */
const SECRET_ID = "marketo-ingest/marketo";
let aws: LocalAws;
let sim: MarketoSimulator;
let secrets: SecretsManagerClient;
const dispatchers: Dispatcher[] = [];
let markerKey: string;
let run = 0;

const policy: DeliveryPolicy = {
  inProcessAttempts: 3,
  inProcessMaxDelayMs: 5_000,
  backoff: { baseMs: 100, capMs: 1_000 },
  quotaDelayMs: 3_600_000,
  maxRequestBytes: 1_000_000,
  requestTimeoutMs: 5_000,
};

function batch(name: string): { message: BatchMessage; body: string } {
  const body = JSON.stringify({ persons: [{ email: `${name}@example.com` }] });
  return {
    body,
    message: {
      v: 2,
      file: { bucket: "drop", key: `persons/${name}.csv`, reportPrefix: `reports/persons/${name}.csv/v1/` },
      objectType: "persons",
      batch: { index: 0, rowCount: 1, rows: [[1, 1]], bytes: Buffer.byteLength(body) },
      body: JSON.parse(body) as Record<string, unknown>,
    },
  };
}

/** One sender container: its own connection pool, token cache and cached view of the fleet's pause. */
function senderProcess(clock: Clock, cacheMs: number) {
  const http = createMarketoDispatcher({ timeoutMs: 5_000 });
  dispatchers.push(http);
  const client = lazyMarketoClient(
    secrets,
    SECRET_ID,
    http,
    ({ endpoints, tokens }) => new IngestionClient({ endpoints, tokens, dispatcher: http, clock: systemClock }),
  );
  const fleetPause = new S3FleetPause(aws.s3, { bucket: aws.workBucket, key: markerKey, cacheMs, clock });
  return async (name: string): Promise<Delivery> => {
    const { message, body } = batch(name);
    return deliverBatch(
      message,
      body,
      { failedDeliveries: 0, remainingMs: () => 60_000 },
      { client: await client(), clock, random: () => 0.5, policy, fleetPause },
    );
  };
}

beforeAll(async () => {
  aws = await startLocalAws();
  sim = await startMarketoSimulator({ maxLifetimeMs: 120_000 });
  aws.secrets.putSecret(SECRET_ID, JSON.stringify(simulatorSecret(sim)));
  secrets = new SecretsManagerClient({
    endpoint: aws.secrets.url,
    region: "us-east-1",
    credentials: { accessKeyId: "local", secretAccessKey: "local" },
  });
});
afterAll(async () => {
  secrets.destroy();
  await Promise.all(dispatchers.map((d) => d.close()));
  await sim.close();
  await aws.close();
});
beforeEach(() => {
  sim.reset();
  markerKey = `fleet/pause-${++run}.json`;
});

describe("after a 429 with Retry-After", () => {
  it("no request from any of four senders reaches Marketo before Retry-After has passed; all batches still land", async () => {
    const cacheMs = 200;
    const senders = Array.from({ length: 4 }, () => senderProcess(systemClock, cacheMs));
    // Every sender is warm (token, connections, a view of the marker) and has sent once.
    const warm = await Promise.all(senders.map((send, i) => send(`warm-${i}`)));
    expect(warm.map((d) => d.status)).toEqual(["accepted", "accepted", "accepted", "accepted"]);
    // Their views of the marker are older than cacheMs: what a sender sees is at most that stale.
    await sleep(cacheMs + 50);
    sim.injectFault({ kind: "status", status: 429, retryAfterSeconds: 2, path: "/persons" });

    const triggering = senders[0]!("trigger");
    const observer = new S3FleetPause(aws.s3, {
      bucket: aws.workBucket,
      key: markerKey,
      cacheMs: 0,
      clock: systemClock,
    });
    while ((await observer.current()) === undefined) await sleep(10);
    // Sender 0 recorded the pause: the other three now each send three batches, side by side.
    const others = await Promise.all(
      senders.slice(1).map(async (send, s) => {
        const outcomes: Delivery[] = [];
        for (let i = 0; i < 3; i++) outcomes.push(await send(`sender-${s + 1}-${i}`));
        return outcomes;
      }),
    );

    expect((await triggering).status).toBe("accepted");
    expect(others.flat().map((d) => d.status)).toEqual(Array(9).fill("accepted"));
    const throttled = sim.requests.findIndex((r) => r.status === 429);
    const retryAfterEnds = (sim.requests[throttled]?.receivedAt ?? 0) + 2_000;
    const after = sim.requests.slice(throttled + 1);
    expect(after).toHaveLength(10);
    expect(after.every((r) => r.status === 202)).toBe(true);
    const earliest = Math.min(...after.map((r) => r.receivedAt));
    expect(earliest).toBeGreaterThanOrEqual(retryAfterEnds);
    expect(sim.persons()).toHaveLength(4 + 1 + 9);
  });

  it("a pause longer than an invocation can wait hands the batch back, with nothing sent and no attempt spent", async () => {
    const [first, second] = [senderProcess(systemClock, 0), senderProcess(systemClock, 0)];
    sim.injectFault({ kind: "status", status: 429, retryAfterSeconds: 60, path: "/persons" });

    const throttled = await first!("a");
    const waiting = await second!("b");

    expect(throttled).toMatchObject({ status: "retry-later", tries: 1 });
    expect(waiting).toMatchObject({ status: "paused", tries: 0, pause: { reason: "rate-limit", code: "429001" } });
    expect(waiting.status === "paused" && waiting.delayMs).toBeGreaterThan(55_000);
    expect(sim.requests.map((r) => r.status)).toEqual([429]);
  });
});

describe("after the daily quota (4290801)", () => {
  it("the whole fleet waits until 00:00 US Central, then sends", async () => {
    // 23:30 in Chicago (CST, UTC−6) on the injected clock: the reset is 30 minutes away.
    const clock = new FakeClock(Date.parse("2026-12-02T05:30:00Z"));
    const senders = Array.from({ length: 4 }, () => senderProcess(clock, 1_000));
    sim.injectFault({ kind: "status", status: 429, errorCode: "4290801", path: "/persons" });

    const spent = await senders[0]!("first");
    const beforeReset = await Promise.all(senders.flatMap((send, s) => [send(`b-${s}-0`), send(`b-${s}-1`)]));
    clock.advance(29 * 60_000);
    const aMinuteBefore = await Promise.all(senders.map((send, s) => send(`c-${s}`)));

    expect(spent).toMatchObject({ status: "retry-later", failure: { code: "4290801" }, delayMs: 30 * 60_000 });
    expect(beforeReset.map((d) => d.status)).toEqual(Array(8).fill("paused"));
    expect(beforeReset.map((d) => d.status === "paused" && d.delayMs)).toEqual(Array(8).fill(30 * 60_000));
    expect(aMinuteBefore.map((d) => d.status === "paused" && d.delayMs)).toEqual(Array(4).fill(60_000));
    expect(sim.requests.map((r) => [r.status, r.errorCode])).toEqual([[429, "4290801"]]);

    clock.advance(60_000);
    const afterReset = await Promise.all(senders.map((send, s) => send(`d-${s}`)));
    expect(afterReset.map((d) => d.status)).toEqual(Array(4).fill("accepted"));
    expect(sim.requests.slice(1).map((r) => r.status)).toEqual([202, 202, 202, 202]);
  });
});
