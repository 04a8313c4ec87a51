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
}

export interface SplitSummary extends RejectionSummary {
  rowsRead: number;
  rowsQueued: number;
  batches: number;
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
  const { route, file } = request;
  const rejected = new RejectionRecorder(request.storeRejectedRows);
  const maxMessageBytes = request.maxMessageBytes ?? MAX_QUEUED_MESSAGE_BYTES;
  const holdBytes = request.holdBytes ?? DEFAULT_HOLD_BYTES;
  const packer = request.plan.createPacker(request.limits);
  const summary = { rowsRead: 0, rowsQueued: 0, batches: 0 };
  const held: HeldMessage[] = [];
  let heldBytes = 0;
  let spilled = false;

  const stage = async (message: HeldMessage): Promise<HeldMessage & { pointer: string }> => {
    if (message.pointer !== undefined) return message;
    await sink.storeBody(batchBodyKey(file, message.head.batch.index), message.body);
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

  for await (const row of request.openRows()) {
    summary.rowsRead++;
    if (summary.rowsRead % 10_000 === 0) request.onProgress?.(summary.rowsRead);
    if (row.kind === "rejection") {
      await rejected.add(row);
      continue;
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
      continue;
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
  await emit(packer.flush());
  // The whole file was read without a file-level error: now, and only now, its batches are queued.
  for (const entry of held) {
    const text = entry.pointer ?? serializeBatchMessage(entry.head, entry.body);
    await sink.publish({ id: `b${entry.head.batch.index}`, body: text });
  }
  await sink.flush();
  request.onProgress?.(summary.rowsRead);
  return { ...summary, ...(await rejected.finish()) };
}
