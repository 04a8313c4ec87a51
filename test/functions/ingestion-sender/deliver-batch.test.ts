import { describe, expect, it } from "vitest";
import { type MarketoFailure, MarketoRequestError } from "../../../shared/marketo/errors.ts";
import type { IngestionRequest } from "../../../shared/marketo/ingestion-client.ts";
import type { BatchMessage } from "../../../shared/contracts/batch-message.ts";
import { type DeliveryPolicy, deliverBatch } from "../../../functions/ingestion-sender/deliver-batch.ts";
import { FakeClock } from "../../support/fake-clock.ts";
import { batchCorrelationId } from "../../../functions/ingestion-sender/correlation-id.ts";

const body = '{"persons":[{"email":"a@x.io"},{"email":"b@x.io"}]}';
const message: BatchMessage = {
  v: 2,
  file: { bucket: "drop", key: "persons/a.csv", reportPrefix: "reports/persons/a.csv/v1/" },
  objectType: "persons",
  batch: { index: 3, rowCount: 2, rows: [[1, 2]], bytes: Buffer.byteLength(body) },
  body: JSON.parse(body) as Record<string, unknown>,
};

const policy: DeliveryPolicy = {
  inProcessAttempts: 3,
  inProcessMaxDelayMs: 5_000,
  backoff: { baseMs: 1_000, capMs: 60_000 },
  quotaDelayMs: 3_600_000,
  maxRequestBytes: 1_000_000,
  requestTimeoutMs: 20_000,
};

const fail = (disposition: MarketoFailure["disposition"], extra: Partial<MarketoFailure> = {}) =>
  new MarketoRequestError({ operation: "POST /persons", disposition, code: "x", message: "m", ...extra });

/** A client that answers from a script: an Error is thrown, a string is a request id. */
function scriptedClient(script: Array<Error | string>) {
  const requests: IngestionRequest[] = [];
  return {
    requests,
    submit: async (req: IngestionRequest) => {
      requests.push(req);
      const next = script.shift();
      if (next === undefined) throw new Error("script exhausted");
      if (next instanceof Error) throw next;
      return { requestId: next };
    },
  };
}

const run = (
  client: ReturnType<typeof scriptedClient>,
  clock = new FakeClock(),
  failedDeliveries = 0,
  remaining = 60_000,
) =>
  deliverBatch(
    message,
    body,
    { failedDeliveries, remainingMs: () => remaining },
    { client, clock, random: () => 0.5, policy },
  );

describe("deliverBatch", () => {
  it("sends the exact body once with a correlation id naming file and batch", async () => {
    const client = scriptedClient(["req-1"]);
    expect(await run(client)).toEqual({ status: "accepted", requestId: "req-1", tries: 1 });
    expect(client.requests).toEqual([
      {
        resource: "persons",
        body: JSON.stringify(message.body),
        correlationId: batchCorrelationId(message.file, 3),
        maxWaitMs: 5_000,
      },
    ]);
    expect(client.requests[0]?.correlationId).toMatch(/^persons\/a\.csv#[0-9a-f]{16}\/3$/);
  });

  it("sends to the resource its object type names, a custom object's by its API name", async () => {
    const client = scriptedClient(["req-1"]);
    const cars = '{"dedupeBy":"dedupeFields","customObjects":[{"vin":"V1"}]}';
    const carMessage: BatchMessage = {
      ...message,
      file: { bucket: "drop", key: "customobjects/car_c/a.csv", reportPrefix: "reports/customobjects/car_c/a.csv/v1/" },
      objectType: "customobjects",
      apiName: "car_c",
      batch: { index: 0, rowCount: 1, rows: [[1, 1]], bytes: Buffer.byteLength(cars) },
      body: JSON.parse(cars) as Record<string, unknown>,
    };
    await deliverBatch(
      carMessage,
      cars,
      { failedDeliveries: 0, remainingMs: () => 60_000 },
      { client, clock: new FakeClock(), random: () => 0.5, policy },
    );
    expect(client.requests.map((request) => request.resource)).toEqual(["customobjects/car_c"]);
  });

  it("lets a wait for identity take only what the invocation can spare after a request and settling", async () => {
    const roomy = scriptedClient(["req-1"]);
    await run(roomy, new FakeClock(), 0, 60_000);
    const tight = scriptedClient(["req-1"]);
    await run(tight, new FakeClock(), 0, 26_000);
    const none = scriptedClient(["req-1"]);
    await run(none, new FakeClock(), 0, 24_000);

    // 5 s in-process cap; 26 s left − 20 s request timeout − 5 s settle margin = 1 s; below that, nothing.
    expect([roomy, tight, none].map((c) => c.requests[0]?.maxWaitMs)).toEqual([5_000, 1_000, 0]);
  });

  it("retries transient failures in place with growing delays", async () => {
    const clock = new FakeClock();
    const client = scriptedClient([fail("retry"), fail("retry"), "req-3"]);
    expect(await run(client, clock)).toMatchObject({ status: "accepted", tries: 3 });
    expect(clock.sleeps).toEqual([750, 1_500]);
  });

  it("honours Retry-After as the minimum wait", async () => {
    const clock = new FakeClock();
    const client = scriptedClient([fail("retry", { retryAfterMs: 4_000 }), "req-2"]);
    await run(client, clock);
    expect(clock.sleeps).toEqual([4_000]);
  });

  it("hands the batch back to the queue when the wait is longer than worth spending here", async () => {
    const client = scriptedClient([fail("retry", { retryAfterMs: 120_000 })]);
    expect(await run(client)).toMatchObject({ status: "retry-later", delayMs: 120_000, tries: 1 });
  });

  it("hands the batch back after the in-place attempts, with backoff that grows with the receive count", async () => {
    const client = scriptedClient([fail("retry"), fail("retry"), fail("retry")]);
    const first = await run(client);
    expect(first).toMatchObject({ status: "retry-later", tries: 3 });
    const later = await run(scriptedClient([fail("retry"), fail("retry"), fail("retry")]), new FakeClock(), 3);
    expect(later.status === "retry-later" && first.status === "retry-later" && later.delayMs > first.delayMs).toBe(
      true,
    );
  });

  it("does not wait in place when the invocation is about to end", async () => {
    const client = scriptedClient([fail("retry")]);
    expect(await run(client, new FakeClock(), 0, 5_500)).toMatchObject({ status: "retry-later", tries: 1 });
  });

  it("does not try again in place unless a whole request timeout still fits (a timed-out try took its share)", async () => {
    // 28 s left: a 1 s wait plus a 20 s request plus 5 s to settle fits; with 25 s left it does not.
    const fits = scriptedClient([fail("retry"), "req-2"]);
    expect(await run(fits, new FakeClock(), 0, 28_000)).toMatchObject({ status: "accepted", tries: 2 });
    const tight = scriptedClient([fail("retry"), "req-2"]);
    expect(await run(tight, new FakeClock(), 0, 25_000)).toMatchObject({ status: "retry-later", tries: 1 });
  });

  it("reports permanent failures without retrying", async () => {
    const client = scriptedClient([fail("permanent", { status: 400, code: "4000802" })]);
    expect(await run(client)).toMatchObject({ status: "failed", tries: 1, failure: { code: "4000802" } });
    expect(client.requests).toHaveLength(1);
  });

  it("parks the batch until the quota resets when the daily quota is spent", async () => {
    const client = scriptedClient([fail("quota", { status: 429, code: "4290801" })]);
    expect(await run(client)).toMatchObject({ status: "retry-later", delayMs: 3_600_000 });
  });

  it("treats an unexpected error as transient, never as a reason to drop rows", async () => {
    const client = scriptedClient([new TypeError("boom"), new TypeError("boom"), new TypeError("boom")]);
    expect(await run(client)).toMatchObject({ status: "retry-later", failure: { code: "unexpected_error" } });
  });

  it("fails, without sending, a body over the request limit", async () => {
    const client = scriptedClient([]);
    const result = await deliverBatch(
      message,
      body,
      { failedDeliveries: 0, remainingMs: () => 60_000 },
      { client, clock: new FakeClock(), random: () => 0, policy: { ...policy, maxRequestBytes: 10 } },
    );
    expect(result).toMatchObject({ status: "failed", failure: { code: "request_too_large" } });
    expect(client.requests).toHaveLength(0);
  });
});
