import { ItemTooLargeError, type PackedBatch, type PackLimits } from "../../shared/batching/batch-packer.ts";
import type { RowRejection, SourceRow } from "../../shared/parsing/source-row.ts";
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
  /** Opens the file from its start; called once per pass. */
  openRows: () => AsyncIterable<SourceRow>;
  limits: PackLimits;
  /** A message larger than this carries its body in the work bucket instead (default MAX_QUEUED_MESSAGE_BYTES). */
  maxMessageBytes?: number;
  onProgress?: (rowsRead: number) => void;
}

export interface SplitSummary {
  rowsRead: number;
  rowsQueued: number;
  batches: number;
  rejections: RowRejection[];
}

/**
 * Turns a file into ready-to-send request messages. The file is read twice: a dry pass finds file-level errors
 * (bad encoding, broken quoting) before anything is sent, so a broken file is rejected whole, never half-sent.
 * Throws InputFileError for such files; row-level problems are returned as rejections.
 */
export async function splitFile(request: SplitFileRequest, sink: BatchSink): Promise<SplitSummary> {
  // File-level errors come from reading, so the dry pass only reads: preparing, packing and serializing every row
  // for a sink that drops them made it cost as much as the real pass.
  for await (const _row of request.openRows()) {
    // read to the end
  }
  return runPass(request, sink);
}

async function runPass(request: SplitFileRequest, sink: BatchSink): Promise<SplitSummary> {
  const { route, file } = request;
  const maxMessageBytes = request.maxMessageBytes ?? MAX_QUEUED_MESSAGE_BYTES;
  const packer = request.plan.createPacker(request.limits);
  const summary: SplitSummary = { rowsRead: 0, rowsQueued: 0, batches: 0, rejections: [] };

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
    // The body is counted raw; its queue form can be larger (escapes), and then it travels in the work bucket.
    let text = serializeBatchMessage(head, batch.body);
    if (Buffer.byteLength(text) > maxMessageBytes) {
      await sink.storeBody(batchBodyKey(file, index), batch.body);
      text = serializeStoredBodyMessage(head);
    }
    await sink.publish({ id: `b${index}`, body: text });
  };

  for await (const row of request.openRows()) {
    summary.rowsRead++;
    if (summary.rowsRead % 10_000 === 0) request.onProgress?.(summary.rowsRead);
    if (row.kind === "rejection") {
      summary.rejections.push(row);
      continue;
    }
    const prepared = request.plan.prepare(row.values);
    if (!prepared.ok) {
      summary.rejections.push({
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
      summary.rejections.push({
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
  await sink.flush();
  request.onProgress?.(summary.rowsRead);
  return summary;
}
