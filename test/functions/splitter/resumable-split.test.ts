// A split that would outlast its Lambda invocation pauses at a row boundary, saves a checkpoint in the work bucket,
// and goes on in a fresh invocation with a ranged GET. These properties hold it to one promise: however often and
// wherever it is interrupted, it produces exactly the batches (bytes, rows, indexes) and the rejected rows of one
// uninterrupted run, and queues nothing until the last row is read. They run against the S3 emulator (ranged GETs,
// conditional checkpoint writes, held-message parts, rejected-row parts, the inflated copy of a gzip file).
import { gzipSync } from "node:zlib";
import { ListObjectsV2Command, PutObjectCommand } from "@aws-sdk/client-s3";
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createSplitOnceDeps } from "../../../functions/splitter/split-runtime.ts";
import { SplitterSettingsSchema } from "../../../functions/splitter/settings.ts";
import {
  continueSplit,
  startDeferredSplit,
  type SplitOnceDeps,
  type SplitOnceResult,
  splitDroppedFileOnce,
} from "../../../functions/splitter/split-once.ts";
import { readSettings } from "../../../shared/config/settings.ts";
import { S3ReportStore } from "../../../shared/aws/s3-report-store.ts";
import { BatchMessageText, batchBodyKey } from "../../../shared/contracts/batch-message.ts";
import type { BatchSink, BulkPartSink } from "../../../shared/contracts/batch-publisher.ts";
import { BulkPartMessageSchema } from "../../../shared/contracts/bulk-message.ts";
import { type DroppedFile, fileRefFor } from "../../../shared/contracts/s3-event.ts";
import { type SplitQueueMessage, SPLIT_STATE_FOLDER } from "../../../shared/contracts/split-checkpoint.ts";
import type { SplitManifest } from "../../../shared/report/file-report.ts";
import { type LocalAws, startLocalAws } from "../../../local/local-aws.ts";
import { localSplitterEnv } from "../../../local/run-pipeline-locally.ts";
import { FakeClock } from "../../support/fake-clock.ts";
import { layoutOf, personTable, writeTable } from "../../support/fuzz-arbitraries.ts";

let aws: LocalAws;
beforeAll(async () => {
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = "true";
  aws = await startLocalAws();
});
afterAll(async () => aws?.close());

/**
 * The queues as the senders would see them: each batch message with its body resolved (inline, or from the work
 * bucket), and each bulk part message with the part stored for it.
 */
class QueueRecorder implements BatchSink, BulkPartSink {
  readonly published: string[] = [];
  readonly stored = new Map<string, string>();
  async publish(message: { id: string; body: string }): Promise<void> {
    this.published.push(message.body);
  }
  async flush(): Promise<void> {}
  async storeBody(key: string, text: string): Promise<void> {
    this.stored.set(key, text);
  }
  async putPart(key: string, text: string): Promise<void> {
    // A part is stored once: a second write of a key would be a part made twice.
    expect(this.stored.has(key)).toBe(false);
    this.stored.set(key, text);
  }
  /** Bulk part messages in queue order, with their stored part; the file and the random copy id are left out. */
  parts() {
    return this.published.map((text) => {
      const { file: _file, copyId, ...message } = BulkPartMessageSchema.parse(JSON.parse(text));
      expect(copyId).toBeDefined();
      const { key, ...part } = message.part;
      return { ...message, part, text: this.stored.get(key) };
    });
  }
  batches(file: DroppedFile) {
    if (file.key.startsWith("bulk/")) return this.parts();
    return this.published.map((text) => {
      const message = BatchMessageText.parse(text);
      const body = message.body
        ? JSON.stringify(message.body)
        : this.stored.get(batchBodyKey(fileRefFor(file), message.batch.index));
      return { batch: message.batch, body };
    });
  }
}

interface Run {
  manifest: SplitManifest;
  batches: ReturnType<QueueRecorder["batches"]>;
  rejected: unknown[];
  invocations: number;
  bytesRead: number;
  /** The largest chunk the S3 client handed over: a pause reads at most about one past its row. */
  largestChunk: number;
  /** Messages queued by any invocation but the last (must stay 0: nothing before the file is known good). */
  queuedBeforeLast: number;
  /** Open bulk parts saved at pauses (a part filled across invocations). */
  openPartsSaved: number;
  /** `row-marks.json`, where the report writer starts its ranged reads (undefined: none written). */
  rowMarks: unknown;
}

let files = 0;

/**
 * Drops `bytes` under a fresh key and splits it: in one invocation, or with every invocation given a budget of
 * rows (its remaining time drops below the margin after that many clock reads), continuing through the
 * continuation messages until the file is split.
 */
async function split(
  bytes: Uint8Array,
  extension: string,
  budgets?: number[],
  maxObjects = 3,
  { folder = "persons/", env = {} }: { folder?: string; env?: Record<string, string> } = {},
): Promise<Run> {
  const key = `${folder}resume-${++files}${extension}`;
  const put = await aws.s3.send(new PutObjectCommand({ Bucket: aws.dropBucket, Key: key, Body: bytes }));
  const dropped: DroppedFile = { bucket: aws.dropBucket, key, size: bytes.length, eTag: put.ETag as string };
  const settings = readSettings(
    SplitterSettingsSchema,
    localSplitterEnv(aws, { MAX_REQUEST_OBJECTS: String(maxObjects), SPLIT_SAFETY_MARGIN_MS: "1000", ...env }),
  );
  const queue = new QueueRecorder();
  const continuations: SplitQueueMessage[] = [];
  let bytesRead = 0;
  let largestChunk = 0;
  const counted = (chunks: AsyncIterable<Uint8Array>) =>
    (async function* () {
      for await (const chunk of chunks) {
        bytesRead += chunk.length;
        largestChunk = Math.max(largestChunk, chunk.length);
        yield chunk;
      }
    })();
  const base = createSplitOnceDeps(settings, aws.s3, aws.sqs);
  const deps: SplitOnceDeps = {
    ...base,
    clock: new FakeClock(),
    publisher: queue,
    bulk: { ...base.bulk, sink: queue },
    open: (file) => counted(base.open(file)),
    openFrom: (file, from) => counted((base.openFrom as NonNullable<typeof base.openFrom>)(file, from)),
    announce: async () => {},
    continuation: {
      ...(base.continuation as NonNullable<typeof base.continuation>),
      continueLater: async (message) => void continuations.push(message),
    },
  };
  let invocation = 0;
  const time = () => {
    const budget = budgets ? (budgets[invocation++ % budgets.length] as number) : Infinity;
    let reads = 0;
    return { remainingMs: () => (++reads > budget ? 0 : 900_000) };
  };
  let result: SplitOnceResult = await splitDroppedFileOnce(dropped, "first-invocation", deps, undefined, time());
  let queuedBeforeLast = 0;
  // Bounded: a split that never ends (deferred on and on, say) fails the test rather than hanging it.
  for (let rounds = 0; result.status === "paused" || result.status === "deferred"; rounds++) {
    if (rounds > 10_000) throw new Error("the split went through 10,000 invocations without ending");
    queuedBeforeLast += queue.published.length;
    const next = continuations.shift();
    if (result.status === "deferred") {
      if (next?.kind !== "split-start") throw new Error(`a deferred split queued ${next?.kind ?? "nothing"}`);
      result = await startDeferredSplit(next, `start-${rounds}`, deps, time());
      continue;
    }
    if (next?.kind !== "split-continuation") throw new Error(`a paused split queued ${next?.kind ?? "nothing"}`);
    expect(next.seq).toBe(result.seq);
    result = await continueSplit(next, `continuation-${next.seq}`, deps, time());
  }
  expect(continuations).toEqual([]);
  if (result.status !== "split") throw new Error(`split ended ${result.status}`);
  const rejected: unknown[] = [];
  for await (const row of base.reports.readRejectedRows(fileRefFor(dropped), result.manifest.rejectedRowParts ?? 0)) {
    rejected.push(row);
  }
  const openParts = await aws.s3.send(
    new ListObjectsV2Command({
      Bucket: aws.workBucket,
      Prefix: `${fileRefFor(dropped).reportPrefix}${SPLIT_STATE_FOLDER}open-part/`,
    }),
  );
  return {
    manifest: result.manifest,
    batches: queue.batches(dropped),
    rejected,
    invocations: invocation,
    bytesRead,
    largestChunk,
    queuedBeforeLast,
    openPartsSaved: openParts.KeyCount ?? 0,
    rowMarks: await new S3ReportStore(aws.s3, aws.workBucket).getRowMarks(fileRefFor(dropped)),
  };
}

/**
 * What must not depend on how the split was interrupted. The rejected rows are compared row by row; how many parts
 * hold them may differ (each pause writes the rows it has as a part).
 */
const outcomeOf = (run: Run) => {
  const { file: _file, startedAt: _s, finishedAt: _f, rejectedRowParts: _p, ...manifest } = run.manifest;
  return { manifest, batches: run.batches, rejected: run.rejected };
};

/**
 * What every property holds an interrupted split to: the outcome of the whole run, nothing queued before its last
 * invocation, and a pause indeed taken when the file had more rows than an invocation's budget.
 */
function expectSameAsWhole(whole: Run, interrupted: Run, budget: number[]): void {
  expect(outcomeOf(interrupted)).toEqual(outcomeOf(whole));
  expect(interrupted.queuedBeforeLast).toBe(0);
  if (whole.manifest.status === "queued" && whole.manifest.rowsRead > Math.max(...budget)) {
    expect(interrupted.invocations).toBeGreaterThan(1);
  }
}

const budgets = fc.array(fc.integer({ min: 1, max: 6 }), { minLength: 1, maxLength: 4 });

describe("a split interrupted anywhere gives the batches and rejected rows of one uninterrupted run", () => {
  const plainFiles = [
    [
      "CSV, TSV and SSV files with quoted multi-line fields, CR/CRLF/LF, BOM and non-ASCII text",
      ["csv", "tsv", "ssv"],
      60,
    ],
    [
      "JSON array and NDJSON files: pretty or compact, CRLF, blank lines, BOM and non-ASCII text",
      ["json", "ndjson"],
      40,
    ],
  ] as const;
  for (const [files, formats, numRuns] of plainFiles) {
    it(`for ${files}`, async () => {
      await fc.assert(
        fc.asyncProperty(
          personTable(30),
          layoutOf(formats),
          budgets,
          fc.integer({ min: 1, max: 4 }),
          async (table, layout, budget, maxObjects) => {
            const bytes = writeTable(table, layout);
            const whole = await split(bytes, `.${layout.format}`, undefined, maxObjects);
            const interrupted = await split(bytes, `.${layout.format}`, budget, maxObjects);
            expectSameAsWhole(whole, interrupted, budget);
          },
        ),
        { numRuns },
      );
    }, 120_000);
  }

  it("for gzip files: the first pause inflates a copy into the work bucket, and the split reads on in it", async () => {
    await fc.assert(
      fc.asyncProperty(personTable(30), layoutOf(["csv", "ndjson", "json"]), budgets, async (table, layout, budget) => {
        const bytes = new Uint8Array(gzipSync(writeTable(table, layout)));
        const whole = await split(bytes, `.${layout.format}.gz`);
        const interrupted = await split(bytes, `.${layout.format}.gz`, budget);
        expectSameAsWhole(whole, interrupted, budget);
      }),
      { numRuns: 25 },
    );
  }, 120_000);

  it("never hands a split on for good: with no time in any invocation, it is deferred once, then reads a row each time", async () => {
    const rows = Array.from({ length: 7 }, (_, i) => JSON.stringify({ email: `p${i}@example.com` }));
    const bytes = new Uint8Array(Buffer.from(`${rows.join("\n")}\n`, "utf8"));
    const whole = await split(bytes, ".ndjson");
    const starved = await split(bytes, ".ndjson", [0]);
    expect(outcomeOf(starved)).toEqual(outcomeOf(whole));
    // The first invocation defers the split; the deferred start and every continuation read one row each.
    expect(starved.invocations).toBe(1 + 7 + 1);
  }, 60_000);

  // Each under the S3 emulator's 10 MB request limit; budgets that take four invocations to read it.
  const budgetsFor = { csv: [30_000, 40_000, 50_000], ndjson: [20_000, 25_000, 30_000] };
  const largeFile = {
    csv: () =>
      `\uFEFFemail,notes,company\r\n${Array.from(
        { length: 150_000 },
        (_, i) => `p${i}@example.com,"Zoë ${i}, ""the"" 🎉\r\nsecond line",${i % 97 === 0 ? "" : "Acme"}`,
      ).join("\r\n")}\r\n`,
    ndjson: () =>
      `\uFEFF${Array.from({ length: 90_000 }, (_, i) =>
        JSON.stringify({
          email: `p${i}@example.com`,
          notes: `Zoë ${i}, "the" 🎉\r\nsecond line`,
          company: i % 97 === 0 ? null : "Acme",
        }),
      ).join("\r\n")}\r\n`,
  };
  for (const format of ["csv", "ndjson"] as const) {
    it(`fetches a ${format} file once, plus at most a chunk per pause: ≤ 1.05× its bytes over several invocations`, async () => {
      const bytes = new Uint8Array(Buffer.from(largeFile[format](), "utf8"));
      const whole = await split(bytes, `.${format}`, undefined, 1000);
      const interrupted = await split(bytes, `.${format}`, budgetsFor[format], 1000);
      expect(interrupted.invocations).toBe(4);
      expect(outcomeOf(interrupted)).toEqual(outcomeOf(whole));
      expect(whole.bytesRead).toBe(bytes.length);
      const pauses = interrupted.invocations - 1;
      expect(interrupted.bytesRead).toBeLessThanOrEqual(bytes.length + pauses * interrupted.largestChunk);
      expect(interrupted.bytesRead).toBeLessThanOrEqual(1.05 * bytes.length);
    }, 60_000);
  }
});

/** Splits a file dropped under bulk/leads/ (parts of at most `maxPartBytes`), whole or through invocations. */
const splitBulk = (bytes: Uint8Array, extension: string, budgets: number[] | undefined, maxPartBytes: number) =>
  split(bytes, extension, budgets, 3, {
    folder: "bulk/leads/",
    env: { BULK_MAX_PART_BYTES: String(maxPartBytes) },
  });

describe("a Bulk Import split interrupted anywhere stores the parts and queues the messages of one uninterrupted run", () => {
  it("for CSV, TSV, SSV, JSON array and NDJSON files: parts filled across pauses, columns a part gains midway, rejected rows", async () => {
    await fc.assert(
      fc.asyncProperty(
        personTable(30),
        layoutOf(["csv", "tsv", "ssv", "json", "ndjson"]),
        budgets,
        fc.integer({ min: 1024, max: 4096 }),
        async (table, layout, budget, maxPartBytes) => {
          const bytes = writeTable(table, layout);
          const whole = await splitBulk(bytes, `.${layout.format}`, undefined, maxPartBytes);
          const interrupted = await splitBulk(bytes, `.${layout.format}`, budget, maxPartBytes);
          expectSameAsWhole(whole, interrupted, budget);
        },
      ),
      { numRuns: 40 },
    );
  }, 120_000);

  it("for gzip files: the split reads on in the inflated copy, and the parts are the same", async () => {
    await fc.assert(
      fc.asyncProperty(personTable(30), layoutOf(["csv", "ndjson"]), budgets, async (table, layout, budget) => {
        const bytes = new Uint8Array(gzipSync(writeTable(table, layout)));
        const whole = await splitBulk(bytes, `.${layout.format}.gz`, undefined, 2048);
        const interrupted = await splitBulk(bytes, `.${layout.format}.gz`, budget, 2048);
        expectSameAsWhole(whole, interrupted, budget);
      }),
      { numRuns: 15 },
    );
  }, 120_000);

  it("a part is filled on across pauses, and a column a row brings midway pads the lines before it", async () => {
    // Twelve rows of 78 to 90 bytes in parts of at most 1,024 bytes: rows 1-11, then row 12. Row 4 is the first with
    // a company. Three rows an invocation (the clock runs short on the read after the budget's two).
    const rows = Array.from({ length: 12 }, (_, i) => {
      const company = i >= 3 ? `Company ${i + 1}` : "";
      return `lead${i + 1}@example.com,First ${i + 1} ${"x".repeat(50)},${company}`;
    });
    const bytes = new Uint8Array(Buffer.from(`email,firstName,company\n${rows.join("\n")}\n`));
    const whole = await splitBulk(bytes, ".csv", undefined, 1024);
    const interrupted = await splitBulk(bytes, ".csv", [2], 1024);

    expect(outcomeOf(interrupted)).toEqual(outcomeOf(whole));
    expect(interrupted.invocations).toBe(5);
    // The first part was open at the pauses after rows 3, 6 and 9, the second after row 12.
    expect(interrupted.openPartsSaved).toBe(4);
    expect(interrupted.queuedBeforeLast).toBe(0);
    const [first, second] = interrupted.batches as ReturnType<QueueRecorder["parts"]>;
    expect(first?.part).toMatchObject({ index: 0, rowCount: 11, rows: [[1, 11]] });
    const firstLines = first?.text?.split("\n") ?? [];
    expect(firstLines.slice(0, 5)).toEqual([
      "email,firstName,company",
      `lead1@example.com,First 1 ${"x".repeat(50)},`,
      `lead2@example.com,First 2 ${"x".repeat(50)},`,
      `lead3@example.com,First 3 ${"x".repeat(50)},`,
      `lead4@example.com,First 4 ${"x".repeat(50)},Company 4`,
    ]);
    expect(second?.part).toMatchObject({ index: 1, rowCount: 1, rows: [[12, 12]] });
  }, 60_000);

  it("writes the row marks of one uninterrupted run, for the report writer's ranged reads of a bulk file", async () => {
    const rows = Array.from({ length: 25_000 }, (_, i) =>
      i % 5_000 === 7 ? `,"No email ${i}"` : `lead${i}@example.com,"Zoë ${i}, ""the"" 🎉\r\nsecond line"`,
    );
    const bytes = new Uint8Array(Buffer.from(`\uFEFFemail,notes\r\n${rows.join("\r\n")}\r\n`, "utf8"));
    const whole = await splitBulk(bytes, ".csv", undefined, 200_000);
    const interrupted = await splitBulk(bytes, ".csv", [7_000, 9_000], 200_000);
    expect(interrupted.invocations).toBe(4);
    expect(outcomeOf(interrupted)).toEqual(outcomeOf(whole));
    expect(whole.manifest).toMatchObject({ status: "queued", rowsRead: 25_000, rowsQueued: 24_995 });
    expect(interrupted.rowMarks).toEqual(whole.rowMarks);
    expect(whole.rowMarks).toMatchObject({ source: { kind: "dropped" }, marks: [{ row: 10_000 }, { row: 20_000 }] });
  }, 60_000);
});
