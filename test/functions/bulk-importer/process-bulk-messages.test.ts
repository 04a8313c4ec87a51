import type { SQSRecord } from "aws-lambda";
import { describe, expect, it } from "vitest";
import type { BulkPartMessage } from "../../../shared/contracts/bulk-message.ts";
import type { JobSlots, SlotLease } from "../../../shared/contracts/job-slots.ts";
import { type BulkImporterDeps, processBulkMessages } from "../../../functions/bulk-importer/process-bulk-messages.ts";
import { createLogger } from "../../../shared/lambda/logger.ts";
import type { BulkJobStatus } from "../../../shared/marketo/bulk-import-client.ts";
import { MarketoRequestError } from "../../../shared/marketo/errors.ts";
import type { DeadLetterReason } from "../../../shared/contracts/queue-control.ts";
import type { BatchOutcome } from "../../../shared/report/file-report.ts";
import type { ReportStore } from "../../../shared/contracts/report-store.ts";
import { FakeClock } from "../../support/fake-clock.ts";
import { MemoryClaims } from "../../support/memory-claims.ts";

const file = { bucket: "drop", key: "bulk/leads/a.csv", reportPrefix: "reports/bulk/leads/a.csv/v1/" };
const submitMessage: BulkPartMessage = {
  v: 1,
  kind: "bulk-part",
  file,
  route: { target: "leads" },
  params: { format: "csv" },
  part: { index: 0, key: `${file.reportPrefix}bulk-parts/000000.csv`, bytes: 40, rowCount: 2, rows: [[1, 2]] },
  stage: { step: "submit", tries: 0, waits: 0 },
};
const holder = `${file.reportPrefix}0`;
/** Copy ids as the splitter draws them (UUIDs). */
const COPY_1 = "6f1c2b7e-8d4a-4c1e-9f3b-2a5d7e9c1b01";
const COPY_2 = "6f1c2b7e-8d4a-4c1e-9f3b-2a5d7e9c1b02";
/** The part's final outcome, as its job's last poll writes it. */
const acceptedPart: BatchOutcome = {
  v: 1,
  index: 0,
  rowCount: 2,
  rows: [[1, 2]],
  status: "accepted",
  attempts: 1,
  finishedAt: "x",
};

/** In-memory slots with the same contract as S3JobSlots (one holder per slot). */
class MemorySlots implements JobSlots {
  readonly held = new Map<number, { holder: string; batchId?: number }>();
  constructor(private readonly capacity = 10) {}
  async acquire(who: string): Promise<SlotLease | undefined> {
    for (const [slot, lease] of this.held) {
      if (lease.holder === who) return { slot, ...(lease.batchId ? { batchId: lease.batchId } : {}) };
    }
    for (let slot = 0; slot < this.capacity; slot++) {
      if (!this.held.has(slot)) {
        this.held.set(slot, { holder: who });
        return { slot };
      }
    }
    return undefined;
  }
  async attach(slot: number, who: string, batchId: number): Promise<void> {
    this.held.set(slot, { holder: who, batchId });
  }
  async renew(): Promise<void> {}
  async release(slot: number, who: string): Promise<void> {
    if (this.held.get(slot)?.holder === who) this.held.delete(slot);
  }
}

function setup(script: { submit?: Array<Error | BulkJobStatus>; status?: Array<Error | BulkJobStatus> } = {}) {
  const calls: string[] = [];
  const outcomes = new Map<number, BatchOutcome>();
  const requeued: Array<{ message: BulkPartMessage; delaySeconds: number }> = [];
  const deadLettered: DeadLetterReason[] = [];
  const deadLetterBodies: BulkPartMessage[] = [];
  const slots = new MemorySlots();
  const claims = new MemoryClaims();
  const next = (list: Array<Error | BulkJobStatus> | undefined) => {
    const item = list?.shift();
    if (!item) throw new Error("script exhausted");
    if (item instanceof Error) throw item;
    return item;
  };
  const reports: ReportStore = {
    putManifest: async () => {},
    getManifest: async () => undefined,
    putBatchOutcome: async (_file, outcome) => void outcomes.set(outcome.index, outcome),
    getBatchOutcome: async (_file, index) => outcomes.get(index),
    listBatchOutcomes: async () => [...outcomes.values()],
    putFileReport: async () => {},
    getFileReport: async () => undefined,
    lastOutcomeWrittenAt: async () => undefined,
  };
  const deps: BulkImporterDeps = {
    client: async () => ({
      submit: async () => (calls.push("submit"), next(script.submit)),
      status: async () => (calls.push("status"), next(script.status)),
      rowsFile: async () => (calls.push("rowsFile"), undefined),
    }),
    slots,
    claims,
    claimTtlMs: 3_600_000,
    claimRecheckMs: 60_000,
    readPart: async () => "email,firstName\na@x.io,A\nb@x.io,B\n",
    reports,
    queue: {
      requeue: async (body, delaySeconds) => void requeued.push({ message: JSON.parse(body), delaySeconds }),
      deadLetter: async (body, reason) => {
        deadLettered.push(reason);
        if (body.startsWith("{") && body.endsWith("}")) deadLetterBodies.push(JSON.parse(body));
      },
    },
    clock: new FakeClock(),
    random: () => 0.5,
    logger: createLogger("test"),
    policy: {
      maxAttempts: 3,
      backoff: { baseMs: 1_000, capMs: 60_000 },
      slotWaitSeconds: 30,
      pollFirstSeconds: 5,
      pollMaxSeconds: 30,
      quotaWaitSeconds: 900,
      rateLimitWaitMs: 20_000,
    },
  };
  return { deps, calls, outcomes, requeued, deadLettered, deadLetterBodies, slots, claims };
}

const record = (message: unknown, receiveCount = 1): SQSRecord =>
  ({
    messageId: "m1",
    receiptHandle: "r1",
    body: typeof message === "string" ? message : JSON.stringify(message),
    attributes: { ApproximateReceiveCount: String(receiveCount) },
  }) as unknown as SQSRecord;

const job = (status: BulkJobStatus["status"], extra: Partial<BulkJobStatus> = {}): BulkJobStatus => ({
  batchId: 77,
  status,
  processed: 2,
  failed: 0,
  warnings: 0,
  message: "",
  ...extra,
});
const restError = (code: string, disposition: "retry" | "permanent") =>
  new MarketoRequestError({ operation: "POST /bulk/v1/leads.json", disposition, code, message: `error ${code}` });

describe("the bulk importer, one step per message", () => {
  it("submits, records the job on its slot, and queues the first poll after the configured delay", async () => {
    const t = setup({ submit: [job("Queued")] });
    await processBulkMessages([record(submitMessage)], t.deps);
    expect(t.calls).toEqual(["submit"]);
    expect(t.slots.held.get(0)).toEqual({ holder, batchId: 77 });
    expect(t.requeued).toEqual([
      {
        message: expect.objectContaining({ stage: expect.objectContaining({ step: "poll", batchId: 77, slot: 0 }) }),
        delaySeconds: 5,
      },
    ]);
  });

  it("a submit message redelivered after its job was submitted polls that job instead of importing twice", async () => {
    const t = setup();
    await t.slots.acquire(holder);
    await t.slots.attach(0, holder, 555);
    await processBulkMessages([record(submitMessage, 2)], t.deps);
    expect(t.calls).toEqual([]);
    expect(t.requeued[0]?.message.stage).toMatchObject({ step: "poll", batchId: 555 });
  });

  it("two copies of one part (a resumed splitter queued it twice): one submits, the other waits and then drops", async () => {
    const t = setup({ submit: [job("Queued")] });
    const first = { ...submitMessage, copyId: COPY_1 };
    const second = { ...submitMessage, copyId: COPY_2 };
    await processBulkMessages([record(first)], t.deps);
    await processBulkMessages([record(second)], t.deps);
    expect(t.calls).toEqual(["submit"]);
    expect(t.requeued.map((r) => [r.message.copyId, r.message.stage.step])).toEqual([
      [COPY_1, "poll"],
      [COPY_2, "submit"],
    ]);
    // The first copy's job ends; the waiting copy comes back, finds the outcome, and calls nothing.
    t.outcomes.set(0, acceptedPart);
    await processBulkMessages([record(t.requeued[1]?.message)], t.deps);
    expect(t.calls).toEqual(["submit"]);
    expect(t.requeued).toHaveLength(2);
  });

  it("waits without spending an attempt when no slot is free, or when Marketo answers 1016/1029", async () => {
    const full = setup();
    for (let i = 0; i < 10; i++) await full.slots.acquire(`other-${i}`);
    await processBulkMessages([record(submitMessage)], full.deps);
    expect(full.calls).toEqual([]);
    expect(full.requeued[0]?.message.stage).toMatchObject({ step: "submit", tries: 0, waits: 1 });
    expect(full.requeued[0]?.delaySeconds).toBe(45);

    const busy = setup({ submit: [restError("1029", "retry")] });
    await processBulkMessages([record(submitMessage)], busy.deps);
    expect(busy.requeued[0]?.message.stage).toMatchObject({ step: "submit", tries: 0, waits: 1 });
    expect(busy.slots.held.size).toBe(0);
  });

  it("backs off on 606 for at least the 20 s window, and dead-letters after max attempts with the reason", async () => {
    const t = setup({ submit: [restError("606", "retry")] });
    await processBulkMessages([record(submitMessage)], t.deps);
    expect(t.requeued[0]?.delaySeconds).toBeGreaterThanOrEqual(20);

    const exhausted = setup({ submit: [restError("611", "retry")] });
    const third = { ...submitMessage, stage: { step: "submit" as const, tries: 2, waits: 4 } };
    await processBulkMessages([record(third)], exhausted.deps);
    expect(exhausted.deadLettered).toEqual([
      expect.objectContaining({ code: "611", attempts: 3, reportPrefix: file.reportPrefix, batchIndex: 0 }),
    ]);
    expect(exhausted.outcomes.get(0)).toMatchObject({ status: "dead-lettered", failure: { code: "611" } });
    expect(exhausted.slots.held.size).toBe(0);
  });

  it("a dead-lettered part redriven from the DLQ is submitted again, by that copy only", async () => {
    const t = setup({ submit: [restError("611", "retry"), job("Queued")] });
    const owner = { ...submitMessage, copyId: COPY_1, stage: { step: "submit" as const, tries: 2, waits: 0 } };
    await processBulkMessages([record(owner)], t.deps);
    expect(t.outcomes.get(0)).toMatchObject({ status: "dead-lettered", deadLetteredBy: COPY_1 });
    const redriven = t.deadLetterBodies[0];
    expect(redriven?.copyId).not.toBe(COPY_1);
    // The dead-lettering copy itself (a stray redelivery) does nothing; the DLQ copy submits.
    await processBulkMessages([record(owner)], t.deps);
    expect(t.calls).toEqual(["submit"]);
    await processBulkMessages([record(redriven)], t.deps);
    expect(t.calls).toEqual(["submit", "submit"]);
    expect(t.requeued.at(-1)?.message.stage).toMatchObject({ step: "poll", batchId: 77 });
  });

  it("a permanent error ends the part as failed with Marketo's code, frees the slot, and is not retried", async () => {
    const t = setup({ submit: [restError("610", "permanent")] });
    await processBulkMessages([record(submitMessage)], t.deps);
    expect(t.outcomes.get(0)).toMatchObject({ status: "failed", failure: { code: "610", message: "error 610" } });
    expect(t.requeued).toEqual([]);
    expect(t.slots.held.size).toBe(0);
  });

  it("polls with growing delays while the job runs, then reports it and frees the slot", async () => {
    const poll = {
      ...submitMessage,
      stage: {
        step: "poll" as const,
        batchId: 77,
        slot: 0,
        submittedAt: "2026-11-01T10:00:00.000Z",
        polls: 2,
        tries: 0,
      },
    };
    const t = setup({ status: [job("Importing"), job("Complete")] });
    await t.slots.acquire(holder);
    await processBulkMessages([record(poll)], t.deps);
    expect(t.requeued[0]).toMatchObject({ delaySeconds: 20, message: { stage: { polls: 3 } } });
    await processBulkMessages([record(t.requeued[0]?.message)], t.deps);
    expect(t.outcomes.get(0)).toMatchObject({ status: "accepted", job: { batchId: 77, status: "Complete" } });
    expect(t.slots.held.size).toBe(0);
  });

  it("a duplicate of a finished part calls nothing and frees a slot a crash left held", async () => {
    const poll = {
      ...submitMessage,
      stage: {
        step: "poll" as const,
        batchId: 77,
        slot: 0,
        submittedAt: "2026-11-01T10:00:00.000Z",
        polls: 0,
        tries: 0,
      },
    };
    const t = setup();
    await t.slots.acquire(holder);
    t.outcomes.set(0, acceptedPart);
    await processBulkMessages([record(poll, 3)], t.deps);
    expect(t.calls).toEqual([]);
    expect(t.slots.held.size).toBe(0);
  });

  it("invalid JSON on the bulk queue goes to the DLQ with a reason, once", async () => {
    const t = setup();
    const response = await processBulkMessages([record("{not json")], t.deps);
    expect(response.batchItemFailures).toEqual([]);
    expect(t.deadLettered).toEqual([expect.objectContaining({ code: "invalid_message" })]);
  });
});
