import { randomUUID } from "node:crypto";
import type { RowRejection, SourceRow } from "../../shared/parsing/source-row.ts";
import { type FileRef, toRowRanges } from "../../shared/contracts/batch-message.ts";
import type { BulkPartSink } from "../../shared/contracts/batch-publisher.ts";
import type { SplitSummary } from "./split-file.ts";
import { bulkImportFramingBytes } from "../../shared/marketo/bulk-multipart.ts";
import { BULK_MAX_REQUEST_BYTES } from "../../shared/contracts/marketo-limits.ts";
import { RejectionRecorder, type StoreRejectedRows } from "./rejected-rows.ts";
import {
  type BulkJobParams,
  type BulkPart,
  type BulkPartMessage,
  partFileName,
  partKey,
} from "../../shared/contracts/bulk-message.ts";
import type { BulkRoute } from "../../shared/options/bulk-route.ts";
import { BULK_DELIMITERS, cellText, formatCsvLine } from "../../shared/text/csv-text.ts";
import { toQueueSafeJson } from "../../shared/text/queue-text.ts";
import type { RequiredColumn } from "../../shared/options/record-rules.ts";

export interface BulkSplitRequest {
  file: FileRef;
  route: BulkRoute;
  params: BulkJobParams;
  openRows: () => AsyncIterable<SourceRow>;
  /** Largest part, header included (Marketo: 10 MB per import file). */
  maxPartBytes: number;
  /**
   * Largest import request: the part plus the multipart framing the bulk client sends around it (Marketo answers
   * 413 over 10 MB for the whole payload). Default: 10,000,000.
   */
  maxRequestBytes?: number;
  onProgress?: (rowsRead: number) => void;
  /** Where the rejected rows go, as NDJSON parts (the dry pass only counts them). */
  storeRejectedRows?: StoreRejectedRows;
}

type Checked = { ok: true; cells: Map<string, string> } | { ok: false; field?: string; reason: string };

/**
 * Bulk rows are flat text; a lead needs its lookup field and a program member its email (the key Marketo
 * matches on), so rows without them are refused here with a reason rather than failed by the job.
 */
export function checkBulkRow(route: BulkRoute, params: BulkJobParams, values: Record<string, unknown>): Checked {
  const cells = new Map<string, string>();
  for (const [field, value] of Object.entries(values)) {
    const text = cellText(value);
    if (text === undefined) {
      return { ok: false, field, reason: `${field} holds a nested or non-finite value; a bulk import file is flat` };
    }
    if (text !== "") cells.set(field, text);
  }
  const key =
    route.target === "leads"
      ? (params.lookupField ?? "email")
      : route.target === "programmembers"
        ? "email"
        : undefined;
  if (key !== undefined && !cells.get(key)?.trim()) {
    const why =
      route.target === "leads"
        ? `the lookup field ${key} is blank`
        : "email is blank (program members are matched by email)";
    return { ok: false, field: key, reason: why };
  }
  return { ok: true, cells };
}

/**
 * The key column a delimited file's header lacks though every bulk row needs it (see checkBulkRow), or undefined.
 */
export function missingBulkColumn(
  route: BulkRoute,
  params: Pick<BulkJobParams, "lookupField">,
  columns: readonly string[],
): RequiredColumn | undefined {
  if (route.target === "leads") {
    const key = params.lookupField ?? "email";
    return columns.includes(key) ? undefined : { column: key, why: "it is the lookup field" };
  }
  if (route.target === "programmembers" && !columns.includes("email")) {
    return { column: "email", why: "program members are matched by email" };
  }
  return undefined;
}

/**
 * Turns a file into import parts of at most `maxPartBytes` whose import requests stay within `maxRequestBytes`,
 * each a complete file with the header row, stored before its message is queued. Read twice: the dry pass finds file-level errors and the columns (every field any
 * valid row has, in first-seen order), so nothing is stored or queued for a broken file.
 */
export async function splitIntoParts(request: BulkSplitRequest, sink: BulkPartSink): Promise<SplitSummary> {
  const columns = new Set<string>();
  await runPass(request, undefined, new RejectionRecorder(), (cells) => {
    for (const field of cells.keys()) columns.add(field);
  });
  return runPass(request, { sink, columns: [...columns] }, new RejectionRecorder(request.storeRejectedRows));
}

async function runPass(
  request: BulkSplitRequest,
  output: { sink: BulkPartSink; columns: string[] } | undefined,
  rejected: RejectionRecorder,
  onRow?: (cells: Map<string, string>) => void,
): Promise<SplitSummary> {
  const summary = { rowsRead: 0, rowsQueued: 0, batches: 0 };
  const delimiter = BULK_DELIMITERS[request.params.format];
  const header = output ? formatCsvLine(output.columns, delimiter) : "";
  const headerBytes = Buffer.byteLength(header);
  const maxRequestBytes = request.maxRequestBytes ?? BULK_MAX_REQUEST_BYTES;
  // Both readings of Marketo's 10 MB hold: the file alone, and the request with its framing (which names the part).
  const limitOf = (index: number): number =>
    Math.min(
      request.maxPartBytes,
      maxRequestBytes - bulkImportFramingBytes(request.params, partFileName(index, request.params.format)),
    );
  let lines: string[] = [];
  let rows: number[] = [];
  let bytes = headerBytes;
  let limit = limitOf(0);

  const emit = async (): Promise<void> => {
    if (!output || rows.length === 0) return;
    const index = summary.batches++;
    const part: BulkPart = {
      index,
      key: partKey(request.file, index, request.params.format),
      bytes,
      rowCount: rows.length,
      rows: toRowRanges(rows),
    };
    await output.sink.putPart(part.key, header + lines.join(""));
    const message: BulkPartMessage = {
      v: 1,
      kind: "bulk-part",
      file: request.file,
      route: request.route,
      params: request.params,
      part,
      stage: { step: "submit", tries: 0, waits: 0 },
      copyId: randomUUID(),
    };
    await output.sink.publish({ id: `p${index}`, body: toQueueSafeJson(message) });
    summary.rowsQueued += rows.length;
    lines = [];
    rows = [];
    bytes = headerBytes;
    limit = limitOf(summary.batches);
  };

  const reject = (row: { row: number; line: number }, reason: string, field?: string): Promise<void> => {
    const rejection: RowRejection = { kind: "rejection", row: row.row, line: row.line, reason };
    if (field) rejection.field = field;
    return rejected.add(rejection);
  };

  for await (const row of request.openRows()) {
    summary.rowsRead++;
    if (summary.rowsRead % 10_000 === 0) request.onProgress?.(summary.rowsRead);
    if (row.kind === "rejection") {
      await rejected.add(row);
      continue;
    }
    const checked = checkBulkRow(request.route, request.params, row.values);
    if (!checked.ok) {
      await reject(row, checked.reason, checked.field);
      continue;
    }
    if (![...checked.cells.values()].some((value) => value !== "")) {
      // An all-blank row would be a blank line in the import file, which Marketo's CSV reading skips.
      await reject(row, "row has no values");
      continue;
    }
    onRow?.(checked.cells);
    if (!output) continue;
    const line = formatCsvLine(
      output.columns.map((column) => checked.cells.get(column) ?? ""),
      delimiter,
    );
    const lineBytes = Buffer.byteLength(line);
    if (headerBytes + lineBytes > limit) {
      await reject(row, `row is ${lineBytes} bytes; with the header, one import file holds at most ${limit}`);
      continue;
    }
    if (bytes + lineBytes > limit) await emit();
    lines.push(line);
    rows.push(row.row);
    bytes += lineBytes;
  }
  await emit();
  await output?.sink.flush();
  request.onProgress?.(summary.rowsRead);
  return { ...summary, ...(await rejected.finish()) };
}
