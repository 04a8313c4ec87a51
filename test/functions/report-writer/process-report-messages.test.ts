import type { SQSRecord } from "aws-lambda";
import { describe, expect, it } from "vitest";
import { createLogger } from "../../../shared/lambda/logger.ts";
import { arbitrateFile, claimFile, type FileClaim } from "../../../functions/splitter/file-claim.ts";
import { type SplitOnceDeps, splitDroppedFileOnce } from "../../../functions/splitter/split-once.ts";
import type { FileReport } from "../../../shared/report/build-file-report.ts";
import type { ReportStore } from "../../../shared/contracts/report-store.ts";
import type { BatchOutcome, SplitManifest } from "../../../shared/report/file-report.ts";
import { findFileReport } from "../../../shared/report/find-file-report.ts";
import {
  processReportMessages,
  type ReportWriterDeps,
} from "../../../functions/report-writer/process-report-messages.ts";
import type { ReportMessage } from "../../../shared/contracts/report-message.ts";
import { FakeClock } from "../../support/fake-clock.ts";
import { MemoryClaims } from "../../support/memory-claims.ts";

const file = { bucket: "drop", key: "persons/a.csv", reportPrefix: "reports/persons/a.csv/v1/" };
const CSV = "email,firstName\r\na@x.io,Ann\r\nb@x.io,Bo\r\nc@x.io,Cy\r\n,NoEmail\r\n";
const manifest: SplitManifest = {
  v: 1,
  file,
  objectType: "persons",
  input: { format: "csv" },
  status: "queued",
  rowsRead: 4,
  rowsQueued: 3,
  batches: 2,
  rejectedRows: [{ row: 4, line: 5, field: "email", reason: "email is required" }],
  startedAt: "2026-11-23T10:00:00.000Z",
  finishedAt: "2026-11-23T10:00:01.000Z",
};
const outcome = (index: number, extra: Partial<BatchOutcome>): BatchOutcome => ({
  v: 1,
  index,
  rowCount: 1,
  rows: [[1, 1]],
  status: "accepted",
  attempts: 1,
  finishedAt: "2026-11-23T10:00:05.000Z",
  ...extra,
});

function writer(outcomes: BatchOutcome[], clock = new FakeClock(Date.parse("2026-11-23T10:01:00Z"))) {
  const written: FileReport[] = [];
  const requeued: Array<{ message: ReportMessage; delaySeconds: number }> = [];
  const deadLettered: string[] = [];
  const csv: string[] = [];
  const reports: ReportStore = {
    putManifest: async () => {},
    getManifest: async () => manifest,
    putBatchOutcome: async () => {},
    getBatchOutcome: async () => undefined,
    listBatchOutcomes: async () => outcomes,
    putFileReport: async (_file, report) => void written.push(report),
    getFileReport: async () => written.at(-1),
    lastOutcomeWrittenAt: async () => undefined,
  };
  const deps: ReportWriterDeps = {
    reports,
    // The manifest here lists its rejected rows itself (no parts).
    rejectedRows: { readRejectedRows: async function* () {} },
    openSource: async function* () {
      yield Buffer.from(CSV);
    },
    putIssueRows: async (ref, chunks) => {
      for await (const chunk of chunks) csv.push(chunk);
      return `${ref.reportPrefix}rows-with-issues.csv`;
    },
    queue: {
      requeue: async (body, delaySeconds) => void requeued.push({ message: JSON.parse(body), delaySeconds }),
      deadLetter: async (body) => void deadLettered.push(body),
    },
    clock,
    logger: createLogger("test"),
    policy: { recheckFirstSeconds: 30, recheckMaxSeconds: 300, giveUpAfterMs: 3_600_000 },
  };
  return { deps, written, requeued, deadLettered, csv };
}

const record = (message: unknown): SQSRecord =>
  ({
    messageId: "m1",
    receiptHandle: "r1",
    body: typeof message === "string" ? message : JSON.stringify(message),
    attributes: { ApproximateReceiveCount: "1" },
  }) as unknown as SQSRecord;
const first: ReportMessage = { v: 1, kind: "file-report", file, checks: 0 };

describe("report writer", () => {
  it("a file with open batches: report.json says running, and the file is looked at again later, less often each time", async () => {
    const w = writer([outcome(0, {})]);
    await processReportMessages([record(first)], w.deps);
    await processReportMessages([record({ ...first, checks: 4, firstCheckAt: "2026-11-23T10:00:30.000Z" })], w.deps);
    expect(w.written.map((r) => [r.status, r.pending])).toEqual([
      ["running", 2],
      ["running", 2],
    ]);
    expect(w.requeued.map((r) => [r.message.checks, r.delaySeconds])).toEqual([
      [1, 30],
      [5, 300],
    ]);
    expect(w.requeued[0]?.message.firstCheckAt).toBe("2026-11-23T10:01:00.000Z");
    expect(w.csv).toEqual([]);
  });

  it("stops re-checking a file still running after the give-up time: report.json says running, the DLQ says why", async () => {
    const w = writer([outcome(0, {})]);
    await processReportMessages([record({ ...first, checks: 9, firstCheckAt: "2026-11-23T08:00:00.000Z" })], w.deps);
    expect(w.written.at(-1)?.status).toBe("running");
    expect(w.requeued).toEqual([]);
    // Through the DLQ, so its alarm fires; redriven, the message starts checking again.
    expect(w.deadLettered.map((body) => JSON.parse(body))).toEqual([expect.objectContaining({ checks: 0 })]);
  });

  it("once every batch is final: the rows with issues as CSV, then the final report pointing at it", async () => {
    const failed = outcome(1, {
      rowCount: 2,
      rows: [[2, 3]],
      status: "failed",
      failure: { code: "4000802", message: "Invalid data", status: 400 },
    });
    const w = writer([outcome(0, { requestId: "req-0" }), failed]);
    await processReportMessages([record(first)], w.deps);
    expect(w.requeued).toEqual([]);
    expect(w.written.at(-1)).toMatchObject({
      status: "complete with failures",
      rowsRead: 4,
      accepted: 1,
      rejected: 1,
      failed: 2,
      requestIds: ["req-0"],
      failures: [{ outcome: "failed", code: "4000802", message: "Invalid data", rows: 2 }],
      rejections: [{ field: "email", reason: "email is required", rows: 1 }],
      rowsWithIssues: { key: "reports/persons/a.csv/v1/rows-with-issues.csv", rows: 3 },
      timings: { lastBatchFinishedAt: "2026-11-23T10:00:05.000Z", elapsedMs: 5_000 },
    });
    expect(w.csv.join("")).toBe(
      "row,line,outcome,code,field,reason,email,firstName\r\n" +
        "2,3,failed,4000802,,Invalid data,b@x.io,Bo\r\n" +
        "3,4,failed,4000802,,Invalid data,c@x.io,Cy\r\n" +
        "4,5,rejected,,email,email is required,,NoEmail\r\n",
    );
  });

  it("a body that is not a report message goes to the DLQ instead of looping", async () => {
    const w = writer([]);
    const response = await processReportMessages([record("{oops")], w.deps);
    expect(response.batchItemFailures).toEqual([]);
    expect(w.deadLettered).toEqual(["{oops"]);
  });
});

describe("arbitrateFile: a dropped file version is split once", () => {
  const input = {
    invocationId: "req-1",
    manifestExists: false,
    now: Date.parse("2026-11-23T10:00:00Z"),
    leaseMs: 960_000,
  };
  const claim = (owner: string, ageMs: number) => ({ owner, claimedAt: new Date(input.now - ageMs).toISOString() });

  it("the first invocation claims it; Lambda's retry (same request id) splits it again", () => {
    expect(arbitrateFile(input, undefined)).toEqual({ action: "split", as: "first" });
    expect(arbitrateFile(input, claim("req-1", 60_000))).toEqual({ action: "split", as: "retry" });
  });

  it("a duplicate event skips a file being split or already split", () => {
    expect(arbitrateFile(input, claim("req-0", 60_000))).toEqual({
      action: "skip",
      why: "in-progress",
      owner: "req-0",
    });
    expect(arbitrateFile({ ...input, manifestExists: true }, claim("req-0", 60_000))).toEqual({
      action: "skip",
      why: "done",
      owner: "req-0",
    });
  });

  it("a claim older than any invocation can live is taken over", () => {
    expect(arbitrateFile(input, claim("req-0", 960_001))).toEqual({ action: "split", as: "take-over" });
  });
});

describe("findFileReport: the report `status` prints", () => {
  const final = (reportedAt: string): FileReport =>
    ({ status: "complete with failures", timings: { reportedAt }, rowsRead: 4 }) as unknown as FileReport;
  const lookup = (stored: FileReport | undefined, lastWrite: number | undefined) => ({
    reports: {
      getManifest: async () => manifest,
      getFileReport: async () => stored,
      listBatchOutcomes: async () => [outcome(0, {}), outcome(1, { rowCount: 2, rows: [[2, 3]] })],
      lastOutcomeWrittenAt: async () => lastWrite,
    },
    listReportPrefixes: async () => [file.reportPrefix],
    now: () => Date.parse("2026-11-23T11:00:00Z"),
  });

  it("returns the stored final report when no batch ended after it", async () => {
    const stored = final("2026-11-23T10:05:00.000Z");
    const found = await findFileReport(file.key, undefined, lookup(stored, Date.parse("2026-11-23T10:04:00Z")));
    expect(found).toMatchObject({ found: "report", source: "stored", report: stored });
  });

  it("rebuilds it live when a batch ended later (a DLQ redrive), and while the file runs", async () => {
    const stale = await findFileReport(
      file.key,
      undefined,
      lookup(final("2026-11-23T10:05:00.000Z"), Date.parse("2026-11-23T10:30:00Z")),
    );
    expect(stale).toMatchObject({
      found: "report",
      source: "live",
      report: { status: "complete with failures", accepted: 3 },
    });
    const running = await findFileReport(file.key, undefined, lookup(undefined, undefined));
    expect(running).toMatchObject({ source: "live" });
  });

  it("says so when the key was never dropped", async () => {
    const none = await findFileReport("persons/other.csv", undefined, {
      ...lookup(undefined, undefined),
      listReportPrefixes: async () => [],
    });
    expect(none).toEqual({ found: "none", versions: 0 });
  });
});

describe("claimFile: the claim's lease runs from the latest attempt", () => {
  it("Lambda's retry rewrites the claim, so a duplicate event arriving later cannot take over mid-split", async () => {
    const store = new MemoryClaims<FileClaim>();
    const at = (iso: string) => ({
      invocationId: "req-1",
      manifestExists: false,
      now: Date.parse(iso),
      leaseMs: 960_000,
    });
    expect(await claimFile(file, at("2026-11-23T10:00:00Z"), store)).toEqual({ action: "split", as: "first" });
    expect(await claimFile(file, at("2026-11-23T10:14:00Z"), store)).toEqual({ action: "split", as: "retry" });
    const duplicate = { ...at("2026-11-23T10:20:00Z"), invocationId: "req-2" };
    expect(await claimFile(file, duplicate, store)).toEqual({ action: "skip", why: "in-progress", owner: "req-1" });
  });
});

describe("splitDroppedFileOnce: an announcement is never lost for good", () => {
  const dropped = { bucket: file.bucket, key: file.key, versionId: "v1" };
  const run = async (minutesSinceSplit: number, stored: FileReport | undefined, invocationId = "dup-event") => {
    const claims = new MemoryClaims<FileClaim>();
    await claims.write(
      `${file.reportPrefix}split-claim.json`,
      { owner: "req-1", claimedAt: manifest.startedAt },
      {
        IfNoneMatch: "*",
      },
    );
    const announced: string[] = [];
    const reports = {
      getManifest: async () => manifest,
      getFileReport: async () => stored,
    } as unknown as ReportStore;
    const result = await splitDroppedFileOnce(dropped, invocationId, {
      reports,
      claims,
      leaseMs: 960_000,
      clock: new FakeClock(Date.parse(manifest.finishedAt) + minutesSinceSplit * 60_000),
      announce: async (m: SplitManifest) => void announced.push(m.file.reportPrefix),
    } as unknown as SplitOnceDeps);
    return { result, announced };
  };

  it("a duplicate event for a split file with no report after 15 minutes announces it again", async () => {
    expect(await run(20, undefined)).toEqual({
      result: { status: "skipped", why: "done", owner: "req-1" },
      announced: [file.reportPrefix],
    });
  });

  it("but not while the first report is still due, nor once one exists", async () => {
    expect((await run(5, undefined)).announced).toEqual([]);
    expect((await run(20, { status: "complete" } as FileReport)).announced).toEqual([]);
  });

  it("Lambda's retry of the invocation that wrote the manifest announces it at once", async () => {
    expect((await run(0, undefined, "req-1")).announced).toEqual([file.reportPrefix]);
  });
});
