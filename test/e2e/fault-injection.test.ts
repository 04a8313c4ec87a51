import { DeleteMessageCommand, ReceiveMessageCommand, SendMessageCommand } from "@aws-sdk/client-sqs";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { samplePersons, toCsv } from "../../scripts/make-sample-persons.ts";
import { listReportPrefixes, S3ReportStore } from "../../shared/aws/s3-report-store.ts";
import type { LocalRunResult } from "../../local/run-pipeline-locally.ts";
import type { Fault } from "../../local/marketo-simulator/index.ts";
import { readVersionedJson } from "../../shared/aws/s3-conditional.ts";
import { FLEET_PAUSE_KEY } from "../../shared/contracts/fleet-pause.ts";
import { findFileReport } from "../../shared/report/find-file-report.ts";
import { expectEveryRowAccountedFor, expectPersonsWrittenOnce, readIssueRows } from "./accounting.ts";
import { type FaultProxy, startFaultProxy } from "./fault-proxy.ts";
import { useHarness } from "./harness.ts";
import { STATUS_EXIT_SPLIT_FAILED, statusCommand } from "../../cli/status.ts";

/**
 * One scenario per fault, through the real handlers, the S3/SQS emulator and the Marketo simulator over HTTP.
 * Every scenario ends with the same two checks: every row read is accounted for (accepted, rejected, failed or
 * dead-lettered, none pending, and report.json agrees), and every accepted row reached Marketo exactly once.
 * Faults are scripted by count (`after`, `times`) or drawn from a seeded PRNG; the data is seeded too.
 */
const h = useHarness({ bulkImportMs: 100 });

const ROWS = samplePersons(1_500, 31);
const CSV = toCsv(ROWS);
const EMAILS = ROWS.map((row) => row.email as string);
/** 100 objects per request: 15 batches, so faults land mid-run with other batches in flight. */
const SMALL_BATCHES = { MAX_REQUEST_OBJECTS: "100" };

const requestsOf = (status: number) => h().sim.requests.filter((r) => r.status === status);

async function expectDeliveredOnce(result: LocalRunResult): Promise<void> {
  expectEveryRowAccountedFor(result);
  expect(result.summary).toMatchObject({ status: "complete", accepted: ROWS.length, deadLettered: 0 });
  expect(result.deadLetterMessages).toBe(0);
  expectPersonsWrittenOnce(h(), EMAILS);
}

describe("Data Ingestion faults: retried, then delivered exactly once", () => {
  const scenarios: Array<[string, Fault[], Record<string, string>?]> = [
    [
      "5xx (500, 502, 503) mid-run",
      [
        { kind: "status", status: 500, after: 2 },
        { kind: "status", status: 502, after: 5 },
        { kind: "status", status: 503, after: 8, times: 2 },
      ],
    ],
    ["connection reset by the server", [{ kind: "reset", after: 3, times: 3 }]],
    [
      "responses slower than the client timeout (the gateway drops the request)",
      [{ kind: "delay", ms: 3_000, ifClientGone: "discard", after: 4, times: 2 }],
    ],
  ];

  it.each(scenarios)("%s", async (name, faults, env = {}) => {
    for (const fault of faults) h().sim.injectFault(fault);
    // Each scenario drops its own key: the same key and bytes again would be a duplicate event, split once.
    const result = await h().run(`persons/${name.split(" ")[0]}.csv`, CSV, {
      splitterEnv: SMALL_BATCHES,
      senderEnv: env,
    });
    await expectDeliveredOnce(result);
    const expected = faults.reduce((sum, fault) => sum + (fault.times ?? 1), 0);
    expect(h().sim.faultLog).toHaveLength(expected);
  });

  it("429 with Retry-After: the batch waits at least as long as Marketo asked", async () => {
    h().sim.injectFault({ kind: "status", status: 429, retryAfterSeconds: 2, after: 3, times: 2 });
    const result = await h().run("persons/429.csv", CSV, { splitterEnv: SMALL_BATCHES });
    await expectDeliveredOnce(result);
    const limited = requestsOf(429);
    expect(limited).toHaveLength(2);
    for (const request of limited) {
      const next = h().sim.requests.find(
        (r) => r.correlationId === request.correlationId && r.receivedAt > request.receivedAt,
      );
      expect((next?.receivedAt ?? 0) - request.receivedAt).toBeGreaterThanOrEqual(2_000);
    }
    // The senders told the whole fleet: the pause marker in the work bucket says why (test/e2e/fleet-limits.test.ts).
    const marker = await readVersionedJson(h().aws.s3, h().aws.workBucket, FLEET_PAUSE_KEY);
    expect(marker?.value).toMatchObject({ v: 1, reason: "rate-limit", code: "429001" });
  });

  it("daily quota (429 4290801): the batch waits for the reset, and waiting does not spend its attempts", async () => {
    // One batch meets the spent quota three times; two failed attempts would dead-letter it, three waits must not.
    const rows = samplePersons(80, 33);
    h().sim.injectFault({
      kind: "status",
      status: 429,
      errorCode: "4290801",
      message: "Daily quota reached",
      times: 3,
    });
    const result = await h().run("persons/quota.csv", toCsv(rows), {
      // The fleet's pause after 4290801 lasts 1 s here instead of until Marketo's midnight reset.
      senderEnv: { QUOTA_DELAY_MS: "1000", QUOTA_PAUSE_MAX_MS: "1000", MAX_ATTEMPTS: "2" },
    });
    expectEveryRowAccountedFor(result);
    expect(result.summary).toMatchObject({ status: "complete", accepted: rows.length, deadLettered: 0 });
    expectPersonsWrittenOnce(
      h(),
      rows.map((row) => row.email as string),
    );
    expect(h().sim.requests.map((r) => r.status)).toEqual([429, 429, 429, 202]);
    expect(result.outcomes[0]?.attempts).toBe(1);
  });

  it("token expiry mid-run: one identity call refreshes it for every sender in flight", async () => {
    h().sim.injectFault({ kind: "expireTokens", after: 5 });
    const result = await h().run("persons/token.csv", CSV, { splitterEnv: SMALL_BATCHES });
    await expectDeliveredOnce(result);
    expect(requestsOf(401).length).toBeGreaterThanOrEqual(1);
    for (const rejected of requestsOf(401)) {
      const sameBatch = h().sim.requests.filter((r) => r.correlationId === rejected.correlationId);
      expect(sameBatch.map((r) => r.status)).toEqual([401, 202]);
    }
    expect(h().sim.identityCalls).toBe(2);
  });

  it("a response lost after Marketo applied the request: resent, and the rows are upserted again with the same values", async () => {
    // The only fault where at-least-once shows: Marketo accepted, the answer never arrived. Data Ingestion has no
    // way to ask whether a request was applied, so the batch is sent again; persons are upserts, values unchanged.
    h().sim.injectFault({ kind: "delay", ms: 3_000, ifClientGone: "process", after: 4 });
    const result = await h().run("persons/lost-answer.csv", CSV, { splitterEnv: SMALL_BATCHES });
    expectEveryRowAccountedFor(result);
    expect(result.summary).toMatchObject({ status: "complete", accepted: ROWS.length });
    // The held request completes at Marketo after its client gave up (and after the resend): wait for it.
    await vi.waitFor(() => expect(h().sim.requests.filter((r) => r.clientGone)).toHaveLength(1), { timeout: 5_000 });
    const lost = h().sim.requests.filter((r) => r.clientGone);
    const twice = h()
      .sim.persons()
      .filter((p) => p.writes === 2);
    expect(twice).toHaveLength(lost[0]?.objectCount ?? -1);
    expect(
      h()
        .sim.persons()
        .every((p) => p.writes <= 2),
    ).toBe(true);
    const byEmail = new Map(ROWS.map((row) => [row.email as string, row]));
    for (const person of twice)
      expect(person.fields.firstName ?? "").toBe(byEmail.get(String(person.fields.email))?.firstName ?? "");
  });

  it("seeded chaos (5xx, 429, resets, slow answers, token expiry on ~30% of requests): every row delivered once", async () => {
    h().sim.injectChaos({
      seed: 20261123,
      rate: 0.3,
      maxFaults: 40,
      faults: [
        { kind: "status", status: 500 },
        { kind: "status", status: 503 },
        { kind: "status", status: 429, retryAfterSeconds: 1 },
        { kind: "reset" },
        { kind: "delay", ms: 2_500, ifClientGone: "discard" },
        { kind: "expireTokens" },
      ],
    });
    const result = await h().run("persons/chaos.csv", CSV, { splitterEnv: { MAX_REQUEST_OBJECTS: "50" } });
    // Held requests end (discarded) after their clients gave up; let them, so none lands in the next test.
    await vi.waitFor(() => expect(h().sim.requests.filter((r) => r.status === 0)).toEqual([]), { timeout: 5_000 });
    await expectDeliveredOnce(result);
    // The PRNG's draws are fixed by the seed; how many land depends on how many requests the retries add.
    const applied = h().sim.faultsApplied("chaos");
    expect(Object.values(applied).reduce((a, b) => a + b, 0)).toBeGreaterThanOrEqual(5);
    expect(Object.values(applied).filter((count) => count > 0).length).toBeGreaterThanOrEqual(3);
  });
});

describe("faults that end a batch: reported with the reason, never retried pointlessly, nothing lost", () => {
  it("permanent 400: its rows are failed with Marketo's code in the report and the CSV; the rest delivered once", async () => {
    h().sim.injectFault({ kind: "status", status: 400, errorCode: "4000802", message: "Invalid data", after: 6 });
    const result = await h().run("persons/permanent.csv", CSV, { splitterEnv: SMALL_BATCHES });
    expectEveryRowAccountedFor(result);
    const failed = result.outcomes.filter((o) => o.status === "failed");
    expect(failed).toHaveLength(1);
    expect(requestsOf(400)).toHaveLength(1);
    const failedRows = new Set(
      failed.flatMap((o) => o.rows.flatMap(([from, to]) => Array.from({ length: to - from + 1 }, (_, i) => from + i))),
    );
    expect(result.summary).toMatchObject({ failed: failedRows.size, accepted: ROWS.length - failedRows.size });
    expectPersonsWrittenOnce(
      h(),
      EMAILS.filter((_, i) => !failedRows.has(i + 1)),
    );
    const issues = await readIssueRows(h(), result);
    expect(issues.map((issue) => Number(issue.row)).sort((a, b) => a - b)).toEqual(
      [...failedRows].sort((a, b) => a - b),
    );
    expect(issues.every((issue) => issue.code === "4000802" && issue.outcome === "failed")).toBe(true);
  });

  it("retries exhausted: the batch goes to the DLQ with code, attempts and first/last failure time; the report says so", async () => {
    const rows = samplePersons(30, 32);
    h().sim.injectFault({ kind: "status", status: 503, times: 1_000 });
    const result = await h().run("persons/exhausted.csv", toCsv(rows), {
      senderEnv: { MAX_ATTEMPTS: "3", IN_PROCESS_ATTEMPTS: "1", RETRY_BASE_MS: "0", RETRY_CAP_MS: "0" },
    });
    expectEveryRowAccountedFor(result);
    expect(result.summary).toMatchObject({ status: "complete with failures", deadLettered: 30, accepted: 0 });
    expect(h().sim.persons()).toHaveLength(0);
    expect(requestsOf(503)).toHaveLength(3);
    const dead = await h().aws.sqs.send(
      new ReceiveMessageCommand({
        QueueUrl: h().aws.ingestionDlqUrl,
        MaxNumberOfMessages: 10,
        MessageAttributeNames: ["All"],
      }),
    );
    expect(dead.Messages).toHaveLength(1);
    const attributes = Object.fromEntries(
      Object.entries(dead.Messages?.[0]?.MessageAttributes ?? {}).map(([name, value]) => [name, value.StringValue]),
    );
    expect(attributes).toMatchObject({ code: "5000801", attempts: "3", batchIndex: "0" });
    expect(Date.parse(attributes.lastFailureAt ?? "")).toBeGreaterThanOrEqual(
      Date.parse(attributes.firstFailureAt ?? ""),
    );
    expect(result.report?.failures).toEqual([
      { outcome: "dead-lettered", code: "5000801", message: "Internal Server Error", rows: 30 },
    ]);
    expect(await readIssueRows(h(), result)).toHaveLength(30);

    // The runbook: once Marketo is back, redrive the DLQ. The batch is sent once more and the report catches up.
    h().sim.reset();
    const message = dead.Messages?.[0];
    await h().aws.sqs.send(new SendMessageCommand({ QueueUrl: h().aws.ingestionQueueUrl, MessageBody: message?.Body }));
    await h().aws.sqs.send(
      new DeleteMessageCommand({ QueueUrl: h().aws.ingestionDlqUrl, ReceiptHandle: message?.ReceiptHandle }),
    );
    await h().run("persons/after-redrive.csv", "email\r\nredrive-neighbour@example.com\r\n");
    expectPersonsWrittenOnce(h(), [...rows.map((row) => row.email as string), "redrive-neighbour@example.com"]);
    const reports = new S3ReportStore(h().aws.s3, h().aws.workBucket);
    expect(await reports.getBatchOutcome(result.file, 0)).toMatchObject({ status: "accepted" });
    const found = await findFileReport("persons/exhausted.csv", undefined, {
      reports,
      listReportPrefixes: (key) => listReportPrefixes(h().aws.s3, h().aws.workBucket, key),
      now: () => Date.now(),
    });
    expect(found).toMatchObject({ source: "live", report: { status: "complete", accepted: 30, deadLettered: 0 } });
  });

  it("poison message on the queue: dead-lettered at once with its reason; the file beside it is delivered once", async () => {
    await h().aws.sqs.send(
      new SendMessageCommand({ QueueUrl: h().aws.ingestionQueueUrl, MessageBody: '{"v":1,"oops"' }),
    );
    const result = await h().run("persons/beside-poison.csv", CSV, { splitterEnv: SMALL_BATCHES });
    expectEveryRowAccountedFor(result);
    expect(result.summary).toMatchObject({ status: "complete", accepted: ROWS.length });
    expectPersonsWrittenOnce(h(), EMAILS);
    const dead = await h().aws.sqs.send(
      new ReceiveMessageCommand({
        QueueUrl: h().aws.ingestionDlqUrl,
        MaxNumberOfMessages: 10,
        MessageAttributeNames: ["All"],
      }),
    );
    expect(
      dead.Messages?.map((m) => [
        m.Body,
        m.MessageAttributes?.code?.StringValue,
        m.MessageAttributes?.message?.StringValue,
      ]),
    ).toEqual([['{"v":1,"oops"', "invalid_message", "not a valid batch message: (message): is not valid JSON"]]);
  });

  it("forged messages on the queue (a Marketo path, a crafted API name): dead-lettered with the reason, never sent", async () => {
    const batch = { index: 0, rowCount: 1, rows: [[1, 1]] };
    const personsBody = { persons: [{ email: "forged@example.com" }] };
    const carsBody = { dedupeBy: "dedupeFields", customObjects: [{ vin: "FORGED" }] };
    const fileOf = (key: string) => ({ bucket: h().aws.dropBucket, key, reportPrefix: `reports/${key}/v1/` });
    const forged = [
      {
        message: {
          v: 2,
          file: fileOf("persons/forged.csv"),
          objectType: "persons",
          resource: "../identity/oauth/token",
          batch: { ...batch, bytes: JSON.stringify(personsBody).length },
          body: personsBody,
        },
        reason: 'not a valid batch message: (message): Unrecognized key: "resource"',
      },
      {
        message: {
          v: 2,
          file: fileOf("customobjects/car_c/forged.csv"),
          objectType: "customobjects",
          apiName: "car_c/../../../identity/oauth/token",
          batch: { ...batch, bytes: JSON.stringify(carsBody).length },
          body: carsBody,
        },
        reason: "not a valid batch message: apiName: must be a custom object API name (letters, digits, _)",
      },
    ];
    for (const { message } of forged) {
      await h().aws.sqs.send(
        new SendMessageCommand({ QueueUrl: h().aws.ingestionQueueUrl, MessageBody: JSON.stringify(message) }),
      );
    }
    const result = await h().run("persons/beside-forged.csv", CSV, { splitterEnv: SMALL_BATCHES });
    expectEveryRowAccountedFor(result);
    expect(result.summary).toMatchObject({ status: "complete", accepted: ROWS.length });
    expectPersonsWrittenOnce(h(), EMAILS);

    // Marketo saw the file beside them and nothing else: no forged path, no forged correlation id, no forged row.
    expect(h().sim.requests.filter((r) => !r.correlationId?.startsWith(`${result.file.key}#`))).toEqual([]);
    expect(h().sim.requests.every((r) => r.path === `/subscriptions/${h().sim.munchkinId}/persons`)).toBe(true);
    expect(
      h()
        .sim.persons()
        .some((p) => p.fields.email === "forged@example.com"),
    ).toBe(false);

    const sent = new Map(forged.map(({ message, reason }) => [JSON.stringify(message), reason]));
    const dead = new Map<string, string | undefined>();
    for (let receive = 0; receive < 5 && dead.size < sent.size; receive++) {
      const received = await h().aws.sqs.send(
        new ReceiveMessageCommand({
          QueueUrl: h().aws.ingestionDlqUrl,
          MaxNumberOfMessages: 10,
          MessageAttributeNames: ["All"],
        }),
      );
      for (const m of received.Messages ?? []) {
        if (!sent.has(m.Body ?? "")) continue;
        expect(m.MessageAttributes?.code?.StringValue).toBe("invalid_message");
        dead.set(m.Body as string, m.MessageAttributes?.message?.StringValue);
        await h().aws.sqs.send(
          new DeleteMessageCommand({ QueueUrl: h().aws.ingestionDlqUrl, ReceiptHandle: m.ReceiptHandle }),
        );
      }
    }
    expect(dead).toEqual(sent);
  });
});

describe("Bulk Import faults (Marketo REST codes): the part waits or backs off, then is imported once", () => {
  const leads = Array.from({ length: 240 }, (_, i) => `lead${i}@example.com,First ${i},${i % 90}`);
  const file = `email,firstName,leadScore\n${leads.join("\n")}\n`;
  const bulkEmails = leads.map((line) => line.split(",")[0] as string);

  it.each([
    ["606 rate limit", "606"],
    ["615 concurrent access limit", "615"],
    ["1016 too many imports", "1016"],
    ["1029 too many jobs in queue", "1029"],
  ])("%s on submit", async (_name, code) => {
    h().sim.injectFault({ kind: "restError", code, path: "/bulk/v1/leads.json", after: 1, times: 2 });
    const result = await h().run(`bulk/leads/fault-${code}.csv`, file, {
      splitterEnv: { BULK_MAX_PART_BYTES: "2048" },
    });
    expectEveryRowAccountedFor(result);
    expect(result.summary).toMatchObject({ status: "complete", accepted: leads.length, deadLettered: 0 });
    expect(h().sim.faultsApplied().restError).toBe(2);
    // Each part became exactly one job, and each lead was written once.
    expect(h().sim.bulkJobs.filter((j) => !j.foreign)).toHaveLength(result.manifest?.batches ?? -1);
    expectPersonsWrittenOnce(h(), bulkEmails);
  });
});

describe("pipeline faults", () => {
  const rows = samplePersons(2_400, 22);
  const emails = rows.map((row) => row.email as string);

  it("duplicate S3 event, one after the other: the second finds the manifest and sends nothing", async () => {
    const result = await h().run("persons/dup-sequential.csv", toCsv(rows), {
      deliverEvent: async (invoke, event) => {
        await invoke(event, "first-delivery");
        await invoke(event, "second-delivery");
      },
    });
    expectEveryRowAccountedFor(result);
    expect(result.eventSource.messagesReceived).toBe(result.manifest?.batches);
    expect(requestsOf(202)).toHaveLength(result.manifest?.batches ?? -1);
    expectPersonsWrittenOnce(h(), emails);
  });

  it("duplicate S3 event, both at once: exactly one invocation splits the file", async () => {
    const result = await h().run("persons/dup-concurrent.csv", toCsv(rows), {
      deliverEvent: async (invoke, event) => {
        await Promise.all([invoke(event, "delivery-a"), invoke(event, "delivery-b")]);
      },
    });
    expectEveryRowAccountedFor(result);
    expect(result.summary.accepted).toBe(rows.length);
    expect(result.eventSource.messagesReceived).toBe(result.manifest?.batches);
    expectPersonsWrittenOnce(h(), emails);
    // One announcement, so one report chain.
    const leftover = await h().aws.sqs.send(new ReceiveMessageCommand({ QueueUrl: h().aws.reportQueueUrl }));
    expect(leftover.Messages ?? []).toHaveLength(0);
  });

  describe("splitter stopped mid-file", () => {
    let proxy: FaultProxy;
    beforeAll(async () => {
      proxy = await startFaultProxy(h().aws.endpoint);
    });
    afterAll(async () => {
      await proxy.close();
    });

    it("is resumed by Lambda's retry; the batches it queued twice reach Marketo once", async () => {
      const many = samplePersons(3_000, 23);
      // Two SendMessageBatch calls (20 batches) get through, then SQS fails until the invocation gives up.
      proxy.failAfter("SendMessageBatch", 2);
      let attempts = 0;
      const result = await h().run("persons/resumed.csv", toCsv(many), {
        splitterEnv: { MAX_REQUEST_OBJECTS: "50", AWS_ENDPOINT_URL_SQS: proxy.url },
        deliverEvent: async (invoke, event) => {
          attempts++;
          await expect(invoke(event, "req-1")).rejects.toThrow();
          proxy.heal();
          attempts++;
          await invoke(event, "req-1"); // Lambda retries an async invocation with the same request id
        },
      });

      expect(attempts).toBe(2);
      expectEveryRowAccountedFor(result);
      expect(result.manifest?.batches).toBe(60);
      expect(result.summary).toMatchObject({ status: "complete", accepted: many.length });
      // 20 batches were queued twice, yet Marketo received each of the 60 batches once.
      expect(result.eventSource.messagesReceived).toBeGreaterThanOrEqual(80);
      expect(requestsOf(202)).toHaveLength(60);
      expect(new Set(requestsOf(202).map((r) => r.correlationId)).size).toBe(60);
      expectPersonsWrittenOnce(
        h(),
        many.map((row) => row.email as string),
      );
    });

    it("fails for good when every retry fails: the report says failed and why, and status exits 5", async () => {
      const many = samplePersons(1_000, 24);
      // One SendMessageBatch (10 batches of 50) gets through, then SQS fails on every attempt Lambda makes.
      proxy.seen.clear();
      proxy.failAfter("SendMessageBatch", 1);
      let result: LocalRunResult;
      try {
        result = await h().run("persons/failed-for-good.csv", toCsv(many), {
          splitterEnv: { MAX_REQUEST_OBJECTS: "50", AWS_ENDPOINT_URL_SQS: proxy.url },
        });
      } finally {
        proxy.heal();
      }

      expect(result.manifest).toMatchObject({ status: "failed", error: { code: "SPLIT_FAILED" } });
      expect(result.manifest?.error?.message).toMatch(
        /^the split failed for good \(RetriesExhausted after 3 attempts\): /,
      );
      // The 500 rows queued before the failure were still sent, and the report counts them under its final status.
      expect(result.report).toMatchObject({
        status: "failed",
        accepted: 500,
        error: { code: "SPLIT_FAILED", message: result.manifest?.error?.message },
      });
      expect(requestsOf(202)).toHaveLength(10);

      const printed: string[] = [];
      const log = vi.spyOn(console, "log").mockImplementation((line: string) => void printed.push(line));
      try {
        const env = { ...h().aws.awsEnv, AWS_ENDPOINT_URL: h().aws.endpoint };
        const code = await statusCommand("persons/failed-for-good.csv", { bucket: h().aws.workBucket }, env);
        expect(code).toBe(STATUS_EXIT_SPLIT_FAILED);
      } finally {
        log.mockRestore();
      }
      expect(printed[0]).toMatch(/^persons\/failed-for-good\.csv: failed/);
      expect(printed).toContainEqual(expect.stringMatching(/^split failed: SPLIT_FAILED: the split failed for good/));
    }, 60_000);

    it("a bulk file too: the parts it queued twice are imported once each", async () => {
      const leads = Array.from({ length: 720 }, (_, i) => `lead${i}@example.com,First ${i},${i % 90}`);
      // 12 parts of ≤ 2 KiB. The first SendMessageBatch (10 parts) gets through, the rest fails until the invocation gives up.
      proxy.failAfter("SendMessageBatch", 1);
      proxy.seen.clear();
      const result = await h().run("bulk/leads/resumed.csv", `email,firstName,leadScore\n${leads.join("\n")}\n`, {
        splitterEnv: { BULK_MAX_PART_BYTES: "2048", AWS_ENDPOINT_URL_SQS: proxy.url },
        // Many importers at once, so a part's two copies are handled at the same time (the race claims close).
        bulkEventSource: { batchSize: 1, maxConcurrency: 24 },
        deliverEvent: async (invoke, event) => {
          await expect(invoke(event, "req-2")).rejects.toThrow();
          proxy.heal();
          await invoke(event, "req-2");
        },
      });
      expectEveryRowAccountedFor(result);
      expect(result.summary).toMatchObject({ status: "complete", accepted: leads.length });
      const parts = result.manifest?.batches ?? -1;
      expect(parts).toBeGreaterThan(10);
      expect(h().sim.bulkJobs.filter((j) => !j.foreign)).toHaveLength(parts);
      expectPersonsWrittenOnce(
        h(),
        leads.map((line) => line.split(",")[0] as string),
      );
    });
  });
});
