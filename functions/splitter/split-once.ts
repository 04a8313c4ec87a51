import type { SplitManifest } from "../../shared/report/file-report.ts";
import type { FileRef } from "../../shared/contracts/batch-message.ts";
import type { ClaimStore } from "../../shared/contracts/claim-store.ts";
import { claimFile, type FileClaim } from "./file-claim.ts";
import {
  type DroppedFileDeps,
  type ExplicitTarget,
  type PausedSplit,
  processDroppedFileResumably,
} from "./process-dropped-file.ts";
import { type DroppedFile, fileRefFor } from "../../shared/contracts/s3-event.ts";
import {
  inflatedCopyKey,
  SPLIT_CHECKPOINT_FILE,
  type SplitCheckpoint,
  SplitCheckpointSchema,
  type SplitContinuation,
  type SplitQueueMessage,
  type SplitStart,
} from "../../shared/contracts/split-checkpoint.ts";

/** What a split needs to stop before its invocation's time runs out and go on in a fresh one. */
export interface ContinuationDeps {
  /** The checkpoint object, replaced with conditional writes (one chain of continuations per file). */
  checkpoints: ClaimStore<unknown>;
  /** Queues the message that starts the next invocation (the split-continuation queue). */
  continueLater: (message: SplitQueueMessage) => Promise<void>;
  /** Inflates a gzip file into the work bucket under `key`; returns the inflated bytes. */
  inflateCopy: (dropped: DroppedFile, key: string) => Promise<number>;
  /** Time kept in hand: the split pauses once less than this remains (to save its state and queue what is next). */
  safetyMarginMs: number;
}

export interface SplitOnceDeps extends DroppedFileDeps {
  claims: ClaimStore<FileClaim>;
  /** The splitter's timeout plus a margin: no invocation holds a claim longer. */
  leaseMs: number;
  /** Tells the report writer a file's manifest exists (it then reports the file once every batch is final). */
  announce: (manifest: SplitManifest) => Promise<void>;
  /** Absent: a split runs to its end in one invocation. */
  continuation?: ContinuationDeps;
}

/** The invocation's clock: Lambda's `context.getRemainingTimeInMillis`. */
export interface InvocationTime {
  remainingMs: () => number;
}

export type SplitOnceResult =
  | { status: "split"; manifest: SplitManifest; as: "first" | "retry" | "take-over" | "continuation" }
  | { status: "paused"; seq: number; rowsRead: number }
  /** Not started: too little time was left; a fresh invocation starts it (`startDeferredSplit`). */
  | { status: "deferred" }
  | { status: "skipped"; why: "done" | "in-progress" | "stale-continuation"; owner?: string };

const checkpointKey = (file: FileRef) => `${file.reportPrefix}${SPLIT_CHECKPOINT_FILE}`;

/**
 * Splits a dropped file once per object version, however many events announce it. A retry of a crashed
 * invocation splits again from the start; the batches it queues a second time are dropped by the senders'
 * batch claims, so Marketo still receives each batch once. Given the invocation's time, a split that would run
 * past it pauses at a row boundary and continues in a fresh invocation (`continueSplit`); one that would start
 * with less than the safety margin left does not start here at all, but in a fresh invocation (`startDeferredSplit`).
 */
export async function splitDroppedFileOnce(
  dropped: DroppedFile,
  invocationId: string,
  deps: SplitOnceDeps,
  explicit?: ExplicitTarget,
  time?: InvocationTime,
  /** False for a split already deferred once: it starts, whatever the time (it reads a row before it may pause). */
  mayDefer = true,
): Promise<SplitOnceResult> {
  const continuation = time ? deps.continuation : undefined;
  if (mayDefer && continuation && time && pauseWhen(time, continuation)()) {
    // Not even time for a first row: the split would pause at once, writing a checkpoint (and claiming the file) where
    // this one message does. Nothing is claimed yet.
    await continuation.continueLater({ v: 1, kind: "split-start", dropped, ...(explicit ? { explicit } : {}) });
    return { status: "deferred" };
  }
  const file = fileRefFor(dropped);
  const existing = await deps.reports.getManifest(file);
  const decision = await claimFile(
    file,
    { invocationId, manifestExists: existing !== undefined, now: deps.clock.now(), leaseMs: deps.leaseMs },
    deps.claims,
  );
  if (decision.action === "skip") {
    // The manifest exists but the announcement may have been lost (this invocation died right after writing it,
    // or every retry did): announce again. A repeat is harmless; a report chain is idempotent.
    if (existing && (decision.owner === invocationId || (await reportOverdue(file, existing, deps)))) {
      await deps.announce(existing);
    }
    return { status: "skipped", why: decision.why, ...(decision.owner ? { owner: decision.owner } : {}) };
  }
  const saved = continuation ? await continuation.checkpoints.read(checkpointKey(file)) : undefined;
  if (continuation && saved) {
    // Lambda's retry of an invocation that paused, then died: the split goes on from its checkpoint (starting over
    // would split the file twice). The continuation may not have been queued: queue it (a repeat is harmless).
    const { seq } = SplitCheckpointSchema.parse(saved.value);
    await continuation.continueLater({ v: 1, kind: "split-continuation", reportPrefix: file.reportPrefix, seq });
    return { status: "paused", seq, rowsRead: 0 };
  }
  const result = await processDroppedFileResumably(
    dropped,
    deps,
    explicit,
    continuation && time ? { pause: pauseWhen(time, continuation) } : undefined,
  );
  if ("paused" in result) {
    const next = await saveAndContinue(result.paused, invocationId, 1, { IfNoneMatch: "*" }, deps);
    return next ?? { status: "skipped", why: "in-progress" };
  }
  await deps.announce(result.manifest);
  return { status: "split", manifest: result.manifest, as: decision.as };
}

/**
 * One continuation message: reads the checkpoint it names, renews the split's claim, makes the inflated copy of a
 * gzip file when the split must enter it mid-way, and goes on with the split. A message for a checkpoint that has
 * moved on (SQS delivers at least once) or a file already split does nothing.
 */
export async function continueSplit(
  message: SplitContinuation,
  invocationId: string,
  deps: SplitOnceDeps,
  time: InvocationTime,
): Promise<SplitOnceResult> {
  const continuation = deps.continuation;
  if (!continuation) throw new Error("split continuations are not configured (SPLIT_CONTINUATION_QUEUE_URL)");
  const key = `${message.reportPrefix}${SPLIT_CHECKPOINT_FILE}`;
  const stored = await continuation.checkpoints.read(key);
  if (!stored) return { status: "skipped", why: "stale-continuation" };
  let checkpoint: SplitCheckpoint = SplitCheckpointSchema.parse(stored.value);
  let etag = stored.etag;
  if (checkpoint.seq !== message.seq) return { status: "skipped", why: "stale-continuation" };
  const file = fileRefFor(checkpoint.dropped);
  const existing = await deps.reports.getManifest(file);
  // The lease runs from now: the split is alive in this invocation.
  const decision = await claimFile(
    file,
    {
      invocationId: checkpoint.owner,
      manifestExists: existing !== undefined,
      now: deps.clock.now(),
      leaseMs: deps.leaseMs,
    },
    deps.claims,
  );
  if (decision.action === "skip") return { status: "skipped", why: decision.why };
  // One invocation at a time goes on from a checkpoint (SQS may deliver a message twice): the other waits for the
  // message to come back, and by then finds the checkpoint moved on, or its runner gone for longer than a lease.
  const now = deps.clock.now();
  if (checkpoint.runner && checkpoint.runner.id !== invocationId) {
    if (now - Date.parse(checkpoint.runner.since) <= deps.leaseMs) throw new ContinuationBusyError(message);
  }
  checkpoint = { ...checkpoint, runner: { id: invocationId, since: new Date(now).toISOString() } };
  const claimed = await continuation.checkpoints.write(key, checkpoint, { IfMatch: etag });
  if (claimed === undefined) throw new ContinuationBusyError(message);
  etag = claimed;
  if (checkpoint.source.kind === "inflate") {
    const copy = inflatedCopyKey(file.reportPrefix);
    const bytes = await continuation.inflateCopy(checkpoint.dropped, copy);
    checkpoint = { ...checkpoint, source: { kind: "inflated", key: copy, bytes } };
    const written = await continuation.checkpoints.write(key, checkpoint, { IfMatch: etag });
    if (written === undefined) return { status: "skipped", why: "stale-continuation" };
    etag = written;
  }
  // An intake split has no key prefix or sidecar to resolve its target from: the checkpoint carries it.
  const result = await processDroppedFileResumably(checkpoint.dropped, deps, checkpoint.explicit, {
    pause: pauseWhen(time, continuation),
    from: checkpoint,
  });
  if ("paused" in result) {
    const next = await saveAndContinue(result.paused, checkpoint.owner, checkpoint.seq + 1, { IfMatch: etag }, deps);
    return next ?? { status: "skipped", why: "stale-continuation" };
  }
  await deps.announce(result.manifest);
  return { status: "split", manifest: result.manifest, as: "continuation" };
}

/**
 * A split another invocation deferred (`split-start`): started here, with this invocation's whole time, as the
 * first invocation of a dropped file would (claim, split, pause and continue when it must).
 */
export function startDeferredSplit(
  message: SplitStart,
  invocationId: string,
  deps: SplitOnceDeps,
  time: InvocationTime,
): Promise<SplitOnceResult> {
  if (!deps.continuation) throw new Error("split continuations are not configured (SPLIT_CONTINUATION_QUEUE_URL)");
  // Deferred once is enough: deferring again could hand it on forever where every invocation starts short of time.
  return splitDroppedFileOnce(message.dropped, invocationId, deps, message.explicit, time, false);
}

/** Another invocation goes on from the same checkpoint now; the message is retried after its visibility timeout. */
export class ContinuationBusyError extends Error {
  override readonly name = "ContinuationBusyError";
  constructor(message: SplitContinuation) {
    super(`checkpoint ${message.seq} of ${message.reportPrefix} is being continued by another invocation`);
  }
}

/** Pauses once the time left is within the margin (checked after each row; a clock read costs nanoseconds). */
function pauseWhen(time: InvocationTime, continuation: ContinuationDeps): () => boolean {
  return () => time.remainingMs() < continuation.safetyMarginMs;
}

/** Writes the checkpoint (only if no other invocation moved it meanwhile), then queues the next invocation. */
async function saveAndContinue(
  paused: PausedSplit,
  owner: string,
  seq: number,
  condition: { IfNoneMatch: "*" } | { IfMatch: string },
  deps: SplitOnceDeps,
): Promise<SplitOnceResult | undefined> {
  const continuation = deps.continuation as ContinuationDeps;
  const file = fileRefFor(paused.dropped);
  // No runner: the next invocation takes it.
  const checkpoint: SplitCheckpoint = { ...paused, owner, seq };
  const written = await continuation.checkpoints.write(checkpointKey(file), checkpoint, condition);
  if (written === undefined) return undefined;
  await continuation.continueLater({ v: 1, kind: "split-continuation", reportPrefix: file.reportPrefix, seq });
  return { status: "paused", seq, rowsRead: paused.progress.rowsRead };
}

/** Long enough for any announced file to have a report.json (the first check comes within minutes). */
const REPORT_OVERDUE_MS = 15 * 60_000;

async function reportOverdue(file: FileRef, manifest: SplitManifest, deps: SplitOnceDeps): Promise<boolean> {
  if (deps.clock.now() - Date.parse(manifest.finishedAt) < REPORT_OVERDUE_MS) return false;
  return (await deps.reports.getFileReport(file)) === undefined;
}
