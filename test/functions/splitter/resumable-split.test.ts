// A split that would outlast its Lambda invocation pauses at a row boundary, saves a checkpoint in the work bucket,
// and goes on in a fresh invocation with a ranged GET. These properties hold it to one promise: however often and
// wherever it is interrupted, it produces exactly the batches (bytes, rows, indexes) and the rejected rows of one
// uninterrupted run, and queues nothing until the last row is read. They run against the S3 emulator (ranged GETs,
// conditional checkpoint writes, held-message parts, rejected-row parts, the inflated copy of a gzip file).
import { gzipSync } from "node:zlib";
import { PutObjectCommand } from "@aws-sdk/client-s3";
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createSplitOnceDeps } from "../../../functions/splitter/split-runtime.ts";
import { SplitterSettingsSchema } from "../../../functions/splitter/settings.ts";
import {
  continueSplit,
  type SplitOnceDeps,
  type SplitOnceResult,
  splitDroppedFileOnce,
} from "../../../functions/splitter/split-once.ts";
import { readSettings } from "../../../shared/config/settings.ts";
import { BatchMessageText, batchBodyKey } from "../../../shared/contracts/batch-message.ts";
import type { BatchSink } from "../../../shared/contracts/batch-publisher.ts";
import { type DroppedFile, fileRefFor } from "../../../shared/contracts/s3-event.ts";
import type { SplitQueueMessage } from "../../../shared/contracts/split-checkpoint.ts";
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

/** The queue as the sender would see it: each message with its body resolved (inline, or from the work bucket). */
class QueueRecorder implements BatchSink {
  readonly published: string[] = [];
  readonly stored = new Map<string, string>();
  async publish(message: { id: string; body: string }): Promise<void> {
    this.published.push(message.body);
  }
  async flush(): Promise<void> {}
  async storeBody(key: string, text: string): Promise<void> {
    this.stored.set(key, text);
  }
  batches(file: DroppedFile) {
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
}

let files = 0;

/**
 * Drops `bytes` under a fresh key and splits it: in one invocation, or with every invocation given a budget of
 * rows (its remaining time drops below the margin after that many clock reads), continuing through the
 * continuation messages until the file is split.
 */
async function split(bytes: Uint8Array, extension: string, budgets?: number[], maxObjects = 3): Promise<Run> {
  const key = `persons/resume-${++files}${extension}`;
  const put = await aws.s3.send(new PutObjectCommand({ Bucket: aws.dropBucket, Key: key, Body: bytes }));
  const dropped: DroppedFile = { bucket: aws.dropBucket, key, size: bytes.length, eTag: put.ETag as string };
  const settings = readSettings(
    SplitterSettingsSchema,
    localSplitterEnv(aws, { MAX_REQUEST_OBJECTS: String(maxObjects), SPLIT_SAFETY_MARGIN_MS: "1000" }),
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
  while (result.status === "paused") {
    queuedBeforeLast += queue.published.length;
    const next = continuations.shift();
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
  return {
    manifest: result.manifest,
    batches: queue.batches(dropped),
    rejected,
    invocations: invocation,
    bytesRead,
    largestChunk,
    queuedBeforeLast,
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

const budgets = fc.array(fc.integer({ min: 1, max: 6 }), { minLength: 1, maxLength: 4 });

describe("a split interrupted anywhere gives the batches and rejected rows of one uninterrupted run", () => {
  it("for CSV, TSV and SSV files with quoted multi-line fields, CR/CRLF/LF, BOM and non-ASCII text", async () => {
    await fc.assert(
      fc.asyncProperty(
        personTable(30),
        layoutOf(["csv", "tsv", "ssv"]),
        budgets,
        fc.integer({ min: 1, max: 4 }),
        async (table, layout, budget, maxObjects) => {
          const bytes = writeTable(table, layout);
          const whole = await split(bytes, `.${layout.format}`, undefined, maxObjects);
          const interrupted = await split(bytes, `.${layout.format}`, budget, maxObjects);
          expect(outcomeOf(interrupted)).toEqual(outcomeOf(whole));
          expect(interrupted.queuedBeforeLast).toBe(0);
          if (whole.manifest.status === "queued" && whole.manifest.rowsRead > Math.max(...budget)) {
            expect(interrupted.invocations).toBeGreaterThan(1);
          }
        },
      ),
      { numRuns: 60 },
    );
  }, 120_000);

  it("for gzip files: the first pause inflates a copy into the work bucket, and the split reads on in it", async () => {
    await fc.assert(
      fc.asyncProperty(personTable(30), layoutOf(["csv"]), budgets, async (table, layout, budget) => {
        const bytes = new Uint8Array(gzipSync(writeTable(table, layout)));
        const whole = await split(bytes, ".csv.gz");
        const interrupted = await split(bytes, ".csv.gz", budget);
        expect(outcomeOf(interrupted)).toEqual(outcomeOf(whole));
        if (whole.manifest.status === "queued" && whole.manifest.rowsRead > Math.max(...budget)) {
          expect(interrupted.invocations).toBeGreaterThan(1);
        }
        expect(interrupted.queuedBeforeLast).toBe(0);
      }),
      { numRuns: 25 },
    );
  }, 120_000);

  it("fetches the file once, plus at most a chunk per pause: ≤ 1.05× its bytes over several invocations", async () => {
    const rows = Array.from(
      { length: 150_000 },
      (_, i) => `p${i}@example.com,"Zoë ${i}, ""the"" 🎉\r\nsecond line",${i % 97 === 0 ? "" : "Acme"}`,
    );
    const bytes = new Uint8Array(Buffer.from(`\uFEFFemail,notes,company\r\n${rows.join("\r\n")}\r\n`, "utf8"));
    const whole = await split(bytes, ".csv", undefined, 1000);
    const interrupted = await split(bytes, ".csv", [30_000, 40_000, 50_000], 1000);
    expect(interrupted.invocations).toBe(4);
    expect(outcomeOf(interrupted)).toEqual(outcomeOf(whole));
    expect(whole.bytesRead).toBe(bytes.length);
    const pauses = interrupted.invocations - 1;
    expect(interrupted.bytesRead).toBeLessThanOrEqual(bytes.length + pauses * interrupted.largestChunk);
    expect(interrupted.bytesRead).toBeLessThanOrEqual(1.05 * bytes.length);
  }, 60_000);
});
