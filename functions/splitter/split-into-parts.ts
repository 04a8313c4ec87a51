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
import { BULK_DELIMITERS, cellText, formatCsvCells, formatCsvLine } from "../../shared/text/csv-text.ts";
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
  /** Where the rejected rows go, as NDJSON parts (without it they are only counted). */
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
 * each a complete file with its own header row (the columns its rows have, in first-seen order), in one read of the
 * file. Parts are stored as they fill; their queue messages are held until the last row has been read, so a file
 * found broken midway queues nothing (its stored parts are orphans the report lifecycle expires).
 */
export async function splitIntoParts(request: BulkSplitRequest, sink: BulkPartSink): Promise<SplitSummary> {
  const held: Array<{ id: string; body: string }> = [];
  const summary = await readIntoParts(request, sink, held, new RejectionRecorder(request.storeRejectedRows));
  for (const message of held) await sink.publish(message);
  await sink.flush();
  return summary;
}

/** One part being filled: its columns grow as rows bring new ones (appended, so earlier lines only gain delimiters). */
interface OpenPart {
  columns: string[];
  known: Set<string>;
  /** Each line as formatted when added, with the column count it was formatted for (without its newline). */
  lines: Array<{ text: string; columnCount: number }>;
  rows: number[];
  /** The header row's bytes, line break included (0 while the part has no column). */
  headerBytes: number;
  /** The bytes of the part as it would be written now: header and lines, each line padded to every column. */
  bytes: number;
}

async function readIntoParts(
  request: BulkSplitRequest,
  sink: BulkPartSink,
  held: Array<{ id: string; body: string }>,
  rejected: RejectionRecorder,
): Promise<SplitSummary> {
  const summary = { rowsRead: 0, rowsQueued: 0, batches: 0 };
  const delimiter = BULK_DELIMITERS[request.params.format];
  const delimiterBytes = Buffer.byteLength(delimiter);
  const maxRequestBytes = request.maxRequestBytes ?? BULK_MAX_REQUEST_BYTES;
  // Both readings of Marketo's 10 MB hold: the file alone, and the request with its framing (which names the part).
  const limitOf = (index: number): number =>
    Math.min(
      request.maxPartBytes,
      maxRequestBytes - bulkImportFramingBytes(request.params, partFileName(index, request.params.format)),
    );
  const emptyPart = (): OpenPart => ({ columns: [], known: new Set(), lines: [], rows: [], headerBytes: 0, bytes: 0 });
  let part = emptyPart();
  let limit = limitOf(0);

  const emit = async (): Promise<void> => {
    if (part.rows.length === 0) return;
    const index = summary.batches++;
    const width = part.columns.length;
    const text =
      formatCsvLine(part.columns, delimiter) +
      part.lines.map((line) => `${line.text}${delimiter.repeat(width - line.columnCount)}\n`).join("");
    const bytes = Buffer.byteLength(text);
    // The running count is what decided the part's size; the text written must be exactly that.
    if (bytes !== part.bytes || bytes > limit) {
      throw new Error(`bulk part ${index}: ${bytes} bytes written, ${part.bytes} counted, limit ${limit}`);
    }
    const stored: BulkPart = {
      index,
      key: partKey(request.file, index, request.params.format),
      bytes,
      rowCount: part.rows.length,
      rows: toRowRanges(part.rows),
    };
    await sink.putPart(stored.key, text);
    const message: BulkPartMessage = {
      v: 1,
      kind: "bulk-part",
      file: request.file,
      route: request.route,
      params: request.params,
      part: stored,
      stage: { step: "submit", tries: 0, waits: 0 },
      copyId: randomUUID(),
    };
    held.push({ id: `p${index}`, body: toQueueSafeJson(message) });
    summary.rowsQueued += part.rows.length;
    part = emptyPart();
    limit = limitOf(summary.batches);
  };

  /** The part's bytes with `cells` added (and the columns they bring), or undefined when it would pass `limit`. */
  const withRow = (into: OpenPart, cells: Map<string, string>) => {
    const fresh = [...cells.keys()].filter((column) => !into.known.has(column));
    const columns = fresh.length ? [...into.columns, ...fresh] : into.columns;
    const line = formatCsvCells(
      columns.map((column) => cells.get(column) ?? ""),
      delimiter,
    );
    // The header is formatted again only when the row brings a column the part does not have yet.
    const headerBytes = fresh.length ? Buffer.byteLength(formatCsvLine(columns, delimiter)) : into.headerBytes;
    const bytes =
      into.bytes -
      into.headerBytes +
      headerBytes +
      into.rows.length * fresh.length * delimiterBytes +
      Buffer.byteLength(line) +
      1;
    return { fresh, columns, line, headerBytes, bytes };
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
    if (checked.cells.size === 0) {
      // An all-blank row would be a blank line in the import file, which Marketo's CSV reading skips.
      await reject(row, "row has no values");
      continue;
    }
    let added = withRow(part, checked.cells);
    if (added.bytes > limit) {
      await emit();
      added = withRow(part, checked.cells);
      if (added.bytes > limit) {
        await reject(row, `row is ${added.bytes} bytes with its header; one import file holds at most ${limit}`);
        continue;
      }
    }
    for (const column of added.fresh) part.known.add(column);
    part.columns = added.columns;
    part.lines.push({ text: added.line, columnCount: added.columns.length });
    part.rows.push(row.row);
    part.headerBytes = added.headerBytes;
    part.bytes = added.bytes;
  }
  await emit();
  request.onProgress?.(summary.rowsRead);
  return { ...summary, ...(await rejected.finish()) };
}
