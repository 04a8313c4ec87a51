import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { Agent, fetch, request } from "undici";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { transportFailure } from "../../../shared/marketo/errors.ts";
import { IngestionClient } from "../../../shared/marketo/ingestion-client.ts";
import { TokenProvider } from "../../../shared/marketo/token-provider.ts";
import type { BatchMessage } from "../../../shared/contracts/batch-message.ts";
import { deliverBatch } from "../../../functions/ingestion-sender/deliver-batch.ts";
import { FakeClock } from "../../support/fake-clock.ts";

/**
 * A request the HTTP client refuses to send fails the same way every time: it is a permanent failure with a reason
 * naming the header, never a transient one retried for an hour. Real undici against a server on 127.0.0.1.
 */
let server: Server;
let url: string;
let received = 0;
const dispatcher = new Agent();

beforeAll(async () => {
  server = createServer((req, res) => {
    received++;
    req.resume();
    res.writeHead(202, { "x-request-id": "r-1" }).end();
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(async () => {
  await dispatcher.close();
  await new Promise((resolve) => server.close(resolve));
});
beforeEach(() => {
  received = 0;
});

async function refusalOf(send: () => Promise<unknown>) {
  try {
    await send();
  } catch (error) {
    return transportFailure("POST /persons", error).failure;
  }
  throw new Error("the request was sent");
}

const UNSENDABLE = [
  ["a character above U+00FF", "Größe-ő 2026.csv"],
  ["CJK", "東京.csv"],
  ["an emoji", "🎉.csv"],
  ["a line feed", "a\nb.csv"],
  ["a carriage return", "a\rb.csv"],
  ["a control character", "a\u0001b.csv"],
];

describe("a request undici refuses before sending", () => {
  it.each(UNSENDABLE)(
    "undici request(), a header with %s: permanent invalid_request naming the header",
    async (_n, value) => {
      const failure = await refusalOf(() =>
        request(`${url}/x`, { headers: { "x-correlation-id": value }, dispatcher }),
      );

      expect(failure).toMatchObject({ disposition: "permanent", code: "invalid_request" });
      expect(failure.message).toContain("x-correlation-id");
      expect(failure.message).not.toContain(value);
      expect(received).toBe(0);
    },
  );

  it.each(UNSENDABLE)(
    "undici fetch() (the Bulk client), a header with %s: permanent, value not repeated",
    async (_n, value) => {
      const failure = await refusalOf(() => fetch(`${url}/x`, { headers: { authorization: value }, dispatcher }));

      expect(failure).toMatchObject({ disposition: "permanent", code: "invalid_request" });
      expect(failure.message).not.toContain(value);
      expect(received).toBe(0);
    },
  );

  it("the network failing is still transient, through request() and fetch()", async () => {
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, "127.0.0.1", resolve));
    const closedUrl = `http://127.0.0.1:${(closed.address() as AddressInfo).port}/x`;
    await new Promise((resolve) => closed.close(resolve));

    expect(await refusalOf(() => request(closedUrl, { dispatcher }))).toMatchObject({
      disposition: "retry",
      code: "ECONNREFUSED",
    });
    expect(await refusalOf(() => fetch(closedUrl, { dispatcher }))).toMatchObject({ disposition: "retry" });
  });

  it("a batch whose request cannot be sent ends failed after one try, with the reason, and is not retried", async () => {
    const body = '{"persons":[{"email":"a@x.io"}]}';
    const message: BatchMessage = {
      v: 2,
      file: { bucket: "drop", key: "persons/a.csv", reportPrefix: "reports/persons/a.csv/v1/" },
      objectType: "persons",
      batch: { index: 0, rowCount: 1, rows: [[1, 1]], bytes: Buffer.byteLength(body) },
      body: JSON.parse(body) as Record<string, unknown>,
    };
    const clock = new FakeClock();
    // Stands for any header the client cannot send: here a token the identity answer should never have held.
    const tokens = new TokenProvider(async () => ({ accessToken: "tökenő", expiresInSeconds: 3600 }), { clock });
    const client = new IngestionClient({
      endpoints: { ingestionUrl: url, munchkinId: "123-ABC-456" },
      tokens,
      dispatcher,
      clock,
    });

    const delivery = await deliverBatch(
      message,
      body,
      { failedDeliveries: 0, remainingMs: () => 60_000 },
      {
        client,
        clock,
        random: () => 0.5,
        policy: {
          inProcessAttempts: 3,
          inProcessMaxDelayMs: 5_000,
          backoff: { baseMs: 1_000, capMs: 60_000 },
          quotaDelayMs: 3_600_000,
          maxRequestBytes: 1_000_000,
          requestTimeoutMs: 20_000,
        },
      },
    );

    expect(delivery).toMatchObject({
      status: "failed",
      tries: 1,
      failure: { disposition: "permanent", code: "invalid_request" },
    });
    expect(delivery.status === "failed" && delivery.failure.message).toMatch(/x-mkto-user-token/);
    expect(JSON.stringify(delivery)).not.toContain("tökenő");
    expect(clock.sleeps).toEqual([]);
    expect(received).toBe(0);
  });
});
