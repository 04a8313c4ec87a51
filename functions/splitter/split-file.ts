import { z } from "zod";
import { ItemTooLargeError, type PackedBatch, type PackLimits } from "../../shared/batching/batch-packer.ts";
import type { SourceRow } from "../../shared/parsing/source-row.ts";
import { RejectionRecorder, type RejectionSummary, type StoreRejectedRows } from "./rejected-rows.ts";
import {
  type BatchMessageHead,
  batchBodyKey,
  type FileRef,
  serializeBatchMessage,
  serializeStoredBodyMessage,
  toRowRanges,
} from "../../shared/contracts/batch-message.ts";
import type { ObjectRoute } from "../../shared/options/object-route.ts";
import type { BatchSink } from "../../shared/contracts/batch-publisher.ts";
import type { RequestPlan } from "./request-plan.ts";
import { ROW_MARK_EVERY, type RowMark, type SplitProgress } from "../../shared/contracts/split-checkpoint.ts";
import { BoundedWrites } from "../../shared/async/bounded-writes.ts";

/**
 * Largest queue message the splitter sends: SQS takes 1 MiB, and a dead-lettered message keeps its body and gains
 * up to 8 reason attributes (each at most 1,024 characters), which count toward the same limit.
 */
export const MAX_QUEUED_MESSAGE_BYTES = 1_048_576 - 16_384;

export interface SplitFileRequest {
  file: FileRef;
  route: ObjectRoute;
  /** Row rules and body shape of the route's endpoint, with the file's options applied. */
  plan: RequestPlan;
  /** Opens the file from its start; called once. */
  openRows: () => AsyncIterable<SourceRow>;
  limits: PackLimits;
  /** A message larger than this carries its body in the work bucket instead (default MAX_QUEUED_MESSAGE_BYTES). */
  maxMessageBytes?: number;
  /** Bytes of messages held in memory until the file is known good (default DEFAULT_HOLD_BYTES). */
  holdBytes?: number;
  onProgress?: (rowsRead: number) => void;
  /** Where the rejected rows go, as NDJSON parts. */
  storeRejectedRows?: StoreRejectedRows;
  /** Goes on from a paused split of the same file (`openRows` then opens the rows after the pause). */
  resume?: SplitProgress;
  /** Asked after each row this invocation packs (never before the first): true stops the split after that row. */
  shouldPause?: () => boolean;
  /** Called after every ROW_MARK_EVERY-th row (the reader's cursor is at its end); returns the mark to keep. */
  markRow?: () => RowMark;
  /** Where messages waiting for the end of the file go when the split pauses; needed with `shouldPause`. */
  heldMessages?: HeldMessageStore;
  /** Body writes to the work bucket in flight at once (default STAGING_CONCURRENCY). */
  stagingConcurrency?: number;
}

/**
 * Staged bodies are written this many at a time: one at a time, a large file's split waited a whole S3 round trip per
 * batch (about 10,800 for 1 GB). Each write in flight holds its body (at most a request's 1 MB).
 */
export const STAGING_CONCURRENCY = 8;

/** Parts of held messages (NDJSON of `{id, body}`), written at each pause and queued at the very end. */
export interface HeldMessageStore {
  put(part: number, ndjson: string): Promise<void>;
  read(part: number): Promise<string>;
}

/** How a split ended: the whole file read, or paused after a row (its progress saved for the next invocation). */
export type SplitResult = { done: true; summary: SplitSummary } | { done: false; progress: SplitProgress };

export interface SplitSummary extends RejectionSummary {
  rowsRead: number;
  rowsQueued: number;
  batches: number;
  /** Row boundaries every ROW_MARK_EVERY rows, when `markRow` was given. */
  marks?: RowMark[];
}

/**
 * Queue messages held back until the file is known good, in memory while they are few: a small file is read once and
 * queued as before. Past this many bytes of held messages, the held bodies go to the work bucket and every message
 * from then on is a small pointer (`bodyObject`), so memory stays flat for any size of file.
 */
export const DEFAULT_HOLD_BYTES = 32 * 1024 * 1024;

/**
 * A message waiting for the end of the file: its body while it carries it inline (the queue text is made again at
 * publish: holding both doubled the memory held), or the text of its pointer once the body is staged.
 */
type HeldMessage =
  { head: BatchMessageHead; body: string; pointer?: undefined } | { head: BatchMessageHead; pointer: string };

/**
 * Turns a file into ready-to-send request messages in one read. Nothing is queued until the whole file has been
 * read: a file-level error (bad encoding, broken quoting) found anywhere rejects it whole, never half-sent. Messages
 * wait in memory up to `holdBytes`; beyond, their bodies are staged in the work bucket and only pointers wait (the
 * sender reads a stored body as it reads an inline one).
 * Throws InputFileError for such files; row-level problems are returned as rejections.
 */
export async function splitFile(request: SplitFileRequest, sink: BatchSink): Promise<SplitSummary> {
  const result = await splitFileResumably(request, sink);
  if (!result.done) throw new Error("splitFile cannot pause: use splitFileResumably");
  return result.summary;
}

/**
 * `splitFile` that can stop after any row when `shouldPause` says so, and go on later from its saved progress: the
 * bodies held so far are staged in the work bucket, their pointer messages saved as a part, the rejected rows
 * written, and the open batch returned. Nothing is queued until the invocation that reads the file's last row.
 */
export async function splitFileResumably(request: SplitFileRequest, sink: BatchSink): Promise<SplitResult> {
  const staging = new BoundedWrites(request.stagingConcurrency ?? STAGING_CONCURRENCY);
  try {
    return await splitWithStaging(request, sink, staging);
  } catch (error) {
    // No write outlives the split: a Lambda returning with writes in flight is frozen with them, and they would end
    // (or fail) in a later invocation. The split's own error is the one that counts.
    await staging.drain();
    throw error;
  }
}

/** `splitFileResumably` with its body writes in `staging` (the caller waits for them when it fails). */
async function splitWithStaging(
  request: SplitFileRequest,
  sink: BatchSink,
  staging: BoundedWrites,
): Promise<SplitResult> {
  const { route, file, resume } = request;
  const rejected = new RejectionRecorder(request.storeRejectedRows, undefined, resume?.rejections);
  const maxMessageBytes = request.maxMessageBytes ?? MAX_QUEUED_MESSAGE_BYTES;
  const holdBytes = request.holdBytes ?? DEFAULT_HOLD_BYTES;
  const packer = request.plan.createPacker(request.limits, resume?.packer);
  const { summary, marks } = countsFrom(resume);
  let heldParts = resume?.heldParts ?? 0;
  const held: HeldMessage[] = [];
  let heldBytes = 0;
  // A resumed split has held messages in parts already: every body from now on is staged too (memory stays flat).
  let spilled = resume !== undefined;
  if (request.shouldPause && !request.heldMessages)
    throw new Error("a split that can pause needs a held-message store");

  /** Starts the body's write (waiting only for room among the writes in flight); `staging.settle()` finishes it. */
  const stage = async (message: HeldMessage): Promise<HeldMessage & { pointer: string }> => {
    if (message.pointer !== undefined) return message;
    const { body } = message;
    await staging.start(() => sink.storeBody(batchBodyKey(file, message.head.batch.index), body));
    return { head: message.head, pointer: serializeStoredBodyMessage(message.head) };
  };

  const emit = async (batch: PackedBatch<number> | undefined): Promise<void> => {
    if (!batch) return;
    const index = summary.batches++;
    summary.rowsQueued += batch.items.length;
    const head: BatchMessageHead = {
      v: 2,
      file,
      objectType: route.objectType,
      ...(route.apiName !== undefined ? { apiName: route.apiName } : {}),
      batch: { index, rowCount: batch.items.length, rows: toRowRanges(batch.items), bytes: batch.bytes },
    };
    if (spilled) {
      // Every body is staged from here on: its inline queue form (a megabyte escaped, then measured) is never used.
      const staged = await stage({ head, body: batch.body });
      held.push(staged);
      heldBytes += staged.pointer.length;
      return;
    }
    const text = serializeBatchMessage(head, batch.body);
    // The body is counted raw; its queue form can be larger (escapes), and then it travels in the work bucket.
    const inline: HeldMessage = { head, body: batch.body };
    const message = Buffer.byteLength(text) > maxMessageBytes ? await stage(inline) : inline;
    held.push(message);
    heldBytes += message.pointer?.length ?? text.length;
    if (!spilled && heldBytes > holdBytes) {
      // Too much to hold: stage every held body now, and every later one as it comes.
      spilled = true;
      heldBytes = 0;
      for (let i = 0; i < held.length; i++) {
        const staged = await stage(held[i] as HeldMessage);
        held[i] = staged;
        heldBytes += staged.pointer.length;
      }
    }
  };

  let paused = false;
  for await (const row of request.openRows()) {
    summary.rowsRead++;
    if (summary.rowsRead % 10_000 === 0) request.onProgress?.(summary.rowsRead);
    packRow: {
      if (row.kind === "rejection") {
        await rejected.add(row);
        break packRow;
      }
      const prepared = request.plan.prepare(row.values);
      if (!prepared.ok) {
        await rejected.add({
          kind: "rejection",
          row: row.row,
          line: row.line,
          ...(prepared.field ? { field: prepared.field } : {}),
          reason: prepared.reason,
        });
        break packRow;
      }
      let closed: PackedBatch<number> | undefined;
      try {
        closed = packer.add(prepared, row.row);
      } catch (error) {
        if (!(error instanceof ItemTooLargeError)) throw error;
        await rejected.add({
          kind: "rejection",
          row: row.row,
          line: row.line,
          reason: `row is ${error.itemBytes} bytes as JSON; one request holds at most ${error.maxItemBytes}`,
        });
      }
      // Awaited only when a batch closes: an await per row costs a microtask turn per row.
      if (closed) await emit(closed);
    }
    // After a whole row, before the reader moves on: the reader's cursor is at this row's end.
    if (request.markRow && summary.rowsRead % ROW_MARK_EVERY === 0) marks.push(request.markRow());
    if (request.shouldPause?.()) {
      paused = true;
      break;
    }
  }
  if (paused) {
    const store = request.heldMessages as HeldMessageStore;
    // Their bodies go to the work bucket; their pointer messages into a part the last invocation queues.
    const lines: string[] = [];
    for (const waiting of held) lines.push(`${JSON.stringify(idAndText(await stage(waiting)))}\n`);
    // Every body is in the work bucket before a pointer to it is saved (the next invocation trusts them).
    await staging.settle();
    if (lines.length > 0) await store.put(heldParts++, lines.join(""));
    const open = packer.save();
    return {
      done: false,
      progress: {
        ...summary,
        heldParts,
        ...(open ? { packer: open } : {}),
        rejections: await rejected.save(),
        marks,
      },
    };
  }
  await emit(packer.flush());
  // Every body is in the work bucket before the first pointer to one is queued.
  await staging.settle();
  // The whole file was read without a file-level error: now, and only now, its batches are queued.
  for (let part = 0; part < heldParts; part++) {
    const ndjson = await (request.heldMessages as HeldMessageStore).read(part);
    for (const line of ndjson.split("\n")) if (line) await sink.publish(HeldLineSchema.parse(JSON.parse(line)));
  }
  for (const entry of held) await sink.publish(idAndText(entry));
  await sink.flush();
  request.onProgress?.(summary.rowsRead);
  return { done: true, summary: { ...summary, ...(await rejected.finish()), marks } };
}

/** The counts and row marks a split starts from: a paused split's saved ones, or none. */
export function countsFrom(resume: Pick<SplitProgress, "rowsRead" | "rowsQueued" | "batches" | "marks"> | undefined): {
  summary: { rowsRead: number; rowsQueued: number; batches: number };
  marks: RowMark[];
} {
  return {
    summary: { rowsRead: resume?.rowsRead ?? 0, rowsQueued: resume?.rowsQueued ?? 0, batches: resume?.batches ?? 0 },
    marks: [...(resume?.marks ?? [])],
  };
}

/** A held message as queued: its pointer, or its queue text made now (it is not kept while the message waits). */
const idAndText = (entry: HeldMessage) => ({
  id: `b${entry.head.batch.index}`,
  body: entry.pointer ?? serializeBatchMessage(entry.head, entry.body),
});
export const HeldLineSchema = z.strictObject({ id: z.string(), body: z.string() });
