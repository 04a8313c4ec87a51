import type { SQSRecord } from "aws-lambda";
import { describe, expect, it } from "vitest";
import {
  processIngestionMessages,
  type SenderDeps,
} from "../../../functions/ingestion-sender/process-ingestion-messages.ts";
import { serializeStoredBodyMessage } from "../../../shared/contracts/batch-message.ts";
import type { DeadLetterReason } from "../../../shared/contracts/queue-control.ts";
import type { ReportStore } from "../../../shared/contracts/report-store.ts";
import { createLogger } from "../../../shared/lambda/logger.ts";
import type { BatchOutcome, SplitManifest } from "../../../shared/report/file-report.ts";
import { FakeClock } from "../../support/fake-clock.ts";
import { MemoryClaims } from "../../support/memory-claims.ts";

const file = { bucket: "drop", key: "persons/a.csv", reportPrefix: "reports/persons/a.csv/v1/" };
const manifest = { v: 1, file, status: "queued", rowsRead: 5, rowsQueued: 5, batches: 2 } as unknown as SplitManifest;

function senderWith(manifests: SplitManifest[]) {
  const outcomes = new Map<number, BatchOutcome>();
  const deadLetters: DeadLetterReason[] = [];
  const sent: unknown[] = [];
  const reports = {
    getManifest: async () => manifests[0],
    getBatchOutcome: async (_f: unknown, index: number) => outcomes.get(index),
    putBatchOutcome: async (_f: unknown, outcome: BatchOutcome) => void outcomes.set(outcome.index, outcome),
  } as unknown as ReportStore;
  const deps: SenderDeps = {
    client: async () => ({ submit: async (req) => (sent.push(req), { requestId: "r" }) }),
    reports,
    claims: new MemoryClaims(),
    claimTtlMs: 3 * 3_600_000,
    claimRecheckMs: 60_000,
    queue: {
      deadLetter: async (_body, reason) => void deadLetters.push(reason),
      retryAfter: async () => {},
    },
    readBody: async () => undefined,
    clock: new FakeClock(),
    random: () => 0.5,
    maxAttempts: 3,
    logger: createLogger("test"),
    metrics: { add: () => {} },
    policy: {
      inProcessAttempts: 1,
      inProcessMaxDelayMs: 0,
      backoff: { baseMs: 1_000, capMs: 60_000 },
      quotaDelayMs: 3_600_000,
      maxRequestBytes: 1_000_000,
      requestTimeoutMs: 20_000,
    },
  };
  return { deps, outcomes, deadLetters, sent };
}

const record = (body: string, messageId = "m-1"): SQSRecord =>
  ({ messageId, receiptHandle: "rh", body, attributes: { ApproximateReceiveCount: "1" } }) as unknown as SQSRecord;

const storedBodyMessage = (index: number, rows: [number, number]) =>
  serializeStoredBodyMessage({
    v: 2,
    file,
    objectType: "persons",
    batch: { index, rowCount: rows[1] - rows[0] + 1, rows: [rows], bytes: 100 },
  });

describe("a batch message that can never be sent", () => {
  it("is dead-lettered, and its rows are reported dead-lettered so the file's accounting closes", async () => {
    const { deps, outcomes, deadLetters, sent } = senderWith([manifest]);
    // The splitter stored the body in the work bucket, and it is gone.
    const response = await processIngestionMessages([record(storedBodyMessage(1, [3, 5]))], deps, () => 60_000);

    expect(response.batchItemFailures).toEqual([]);
    expect(sent).toEqual([]);
    expect(deadLetters).toMatchObject([{ code: "invalid_message" }]);
    expect(outcomes.get(1)).toMatchObject({
      index: 1,
      rowCount: 3,
      rows: [[3, 5]],
      status: "dead-lettered",
      failure: { code: "invalid_message" },
      deadLetteredBy: "m-1",
    });
  });

  it("adds nothing to a file's accounting when it names no batch the splitter announced, or a final one", async () => {
    const forged = senderWith([manifest]);
    await processIngestionMessages([record(storedBodyMessage(7, [1, 1]))], forged.deps, () => 60_000);
    expect(forged.deadLetters).toHaveLength(1);
    expect([...forged.outcomes.keys()]).toEqual([]);

    const unknownFile = senderWith([]);
    await processIngestionMessages([record(storedBodyMessage(0, [1, 1]))], unknownFile.deps, () => 60_000);
    expect([...unknownFile.outcomes.keys()]).toEqual([]);

    const final = senderWith([manifest]);
    const accepted = { v: 1, index: 0, rowCount: 2, rows: [[1, 2]], status: "accepted" } as BatchOutcome;
    final.outcomes.set(0, accepted);
    await processIngestionMessages([record(storedBodyMessage(0, [1, 2]))], final.deps, () => 60_000);
    expect(final.outcomes.get(0)).toBe(accepted);
  });

  it("is reported dead-lettered when only its body breaks the closed schema", async () => {
    const { deps, outcomes } = senderWith([manifest]);
    const text = JSON.stringify({
      v: 2,
      file,
      objectType: "persons",
      batch: { index: 0, rowCount: 1, rows: [[1, 1]], bytes: 40 },
      body: { dedupeFields: { field1: "x".repeat(300) }, persons: [{ email: "a@x.io" }] },
    });
    await processIngestionMessages([record(text)], deps, () => 60_000);
    expect(outcomes.get(0)).toMatchObject({ status: "dead-lettered", failure: { code: "invalid_message" } });
    expect(outcomes.get(0)?.failure?.message).toMatch(/body\.dedupeFields\.field1/);
  });
});
