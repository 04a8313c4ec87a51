import { ItemTooLargeError, type PackedBatch, type PackLimits } from "../../shared/batching/batch-packer.ts";
import type { RowRejection, SourceRow } from "../../shared/parsing/source-row.ts";
import { type FileRef, serializeBatchMessage, toRowRanges } from "../../shared/contracts/batch-message.ts";
import type { ObjectRoute } from "../../shared/options/object-route.ts";
import type { BatchPublisher } from "../../shared/contracts/batch-publisher.ts";
import type { RequestPlan } from "./request-plan.ts";

export interface SplitFileRequest {
  file: FileRef;
  route: ObjectRoute;
  /** Row rules and body shape of the route's endpoint, with the file's options applied. */
  plan: RequestPlan;
  /** Opens the file from its start; called once per pass. */
  openRows: () => AsyncIterable<SourceRow>;
  limits: PackLimits;
  onProgress?: (rowsRead: number) => void;
}

export interface SplitSummary {
  rowsRead: number;
  rowsQueued: number;
  batches: number;
  rejections: RowRejection[];
}

const dryRun: BatchPublisher = { publish: async () => {}, flush: async () => {} };

/**
 * Turns a file into ready-to-send request messages. The file is read twice: a dry pass finds file-level errors
 * (bad encoding, broken quoting) before anything is sent, so a broken file is rejected whole, never half-sent.
 * Throws InputFileError for such files; row-level problems are returned as rejections.
 */
export async function splitFile(request: SplitFileRequest, publisher: BatchPublisher): Promise<SplitSummary> {
  await runPass(request, dryRun);
  return runPass(request, publisher);
}

async function runPass(request: SplitFileRequest, publisher: BatchPublisher): Promise<SplitSummary> {
  const { route, file } = request;
  const packer = request.plan.createPacker(request.limits);
  const summary: SplitSummary = { rowsRead: 0, rowsQueued: 0, batches: 0, rejections: [] };

  const emit = async (batch: PackedBatch<number> | undefined): Promise<void> => {
    if (!batch) return;
    const index = summary.batches++;
    summary.rowsQueued += batch.items.length;
    const head = {
      v: 1 as const,
      file,
      objectType: route.objectType,
      resource: route.resource,
      batch: { index, rowCount: batch.items.length, rows: toRowRanges(batch.items) },
    };
    await publisher.publish({ id: `b${index}`, body: serializeBatchMessage(head, batch.body) });
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
    try {
      await emit(packer.add(prepared, row.row));
    } catch (error) {
      if (!(error instanceof ItemTooLargeError)) throw error;
      summary.rejections.push({
        kind: "rejection",
        row: row.row,
        line: row.line,
        reason: `row is ${error.itemBytes} bytes as JSON; one request holds at most ${error.maxItemBytes}`,
      });
    }
  }
  await emit(packer.flush());
  await publisher.flush();
  request.onProgress?.(summary.rowsRead);
  return summary;
}
