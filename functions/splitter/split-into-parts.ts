import { randomUUID } from "node:crypto";
import type { RowRejection, SourceRow } from "../../shared/parsing/source-row.ts";
import { type FileRef, toRowRanges } from "../../shared/contracts/batch-message.ts";
import type { BulkPartSink } from "../../shared/contracts/batch-publisher.ts";
import { countsFrom, HeldLineSchema, type HeldMessageStore, type SplitSummary } from "./split-file.ts";
import { bulkImportFramingBytes } from "../../shared/marketo/bulk-multipart.ts";
import { BULK_MAX_REQUEST_BYTES } from "../../shared/contracts/marketo-limits.ts";
import { RejectionRecorder, type StoreRejectedRows } from "./rejected-rows.ts";
import {
  type BulkJobParams,
  type BulkPart,
  type BulkPartMessage,
  BulkPartMessageSchema,
  partFileName,
  partKey,
} from "../../shared/contracts/bulk-message.ts";
import type { BulkRoute } from "../../shared/options/bulk-route.ts";
import { BULK_DELIMITERS, cellText, formatCsvCells, formatCsvLine } from "../../shared/text/csv-text.ts";
import { toQueueSafeJson } from "../../shared/text/queue-text.ts";
import type { RequiredColumn } from "../../shared/options/record-rules.ts";
import {
  type BulkSplitProgress,
  type OpenBulkPart,
  OpenBulkPartSchema,
  ROW_MARK_EVERY,
  type RowMark,
} from "../../shared/contracts/split-checkpoint.ts";

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
  /** Goes on from a paused split of the same file (`openRows` then opens the rows after the pause). */
  resume?: BulkSplitProgress;
  /** Asked after each row this invocation reads (never before the first): true stops the split after that row. */
  shouldPause?: () => boolean;
  /** Called after every ROW_MARK_EVERY-th row (the reader's cursor is at its end); returns the mark to keep. */
  markRow?: () => RowMark;
  /** Where the stored parts' messages go when the split pauses; needed with `shouldPause`. */
  heldMessages?: HeldMessageStore;
  /** Where the part being filled goes when the split pauses; needed with `shouldPause`. */
  openParts?: OpenPartStore;
}

/** The part a paused split was filling (JSON of OpenBulkPart), by the rows read at the pause. */
export interface OpenPartStore {
  put(rowsRead: number, json: string): Promise<void>;
  read(rowsRead: number): Promise<string>;
}

/** How a bulk split ended: the whole file read, or paused after a row (its progress saved for the next invocation). */
export type BulkSplitResult = { done: true; summary: SplitSummary } | { done: false; progress: BulkSplitProgress };

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
  const result = await splitIntoPartsResumably(request, sink);
  if (!result.done) throw new Error("splitIntoParts cannot pause: use splitIntoPartsResumably");
  return result.summary;
}

/** One part being filled: its columns grow as rows bring new ones (appended, so earlier lines only gain delimiters). */
interface OpenPart extends OpenBulkPart {
  known: Set<string>;
}

/**
 * `splitIntoParts` that can stop after any row when `shouldPause` says so, and go on later from its saved progress:
 * the held messages of the parts stored so far are saved as a held part, the part being filled is saved as it stands
 * (the next invocation goes on filling exactly it), and the rejected rows are written. Nothing is queued until the
 * invocation that reads the file's last row.
 */
export async function splitIntoPartsResumably(request: BulkSplitRequest, sink: BulkPartSink): Promise<BulkSplitResult> {
  const { resume } = request;
  if (request.shouldPause && (!request.heldMessages || !request.openParts)) {
    throw new Error("a bulk split that can pause needs a held-message store and an open-part store");
  }
  const rejected = new RejectionRecorder(request.storeRejectedRows, undefined, resume?.rejections);
  const { summary, marks } = countsFrom(resume);
  let heldParts = resume?.heldParts ?? 0;
  /** Messages of the parts this invocation stored (without copyId: it is drawn when a message is queued). */
  const held: BulkPartMessage[] = [];
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
  let part = resume?.openPart ? await readOpenPart(request, resume) : emptyPart();
  let limit = limitOf(summary.batches);

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
    held.push({
      v: 1,
      kind: "bulk-part",
      file: request.file,
      route: request.route,
      params: request.params,
      part: stored,
      stage: { step: "submit", tries: 0, waits: 0 },
    });
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

  let paused = false;
  for await (const row of request.openRows()) {
    summary.rowsRead++;
    if (summary.rowsRead % 10_000 === 0) request.onProgress?.(summary.rowsRead);
    // Awaits only when a row is rejected or a part is stored: an await per row costs a microtask turn per row.
    readRow: {
      if (row.kind === "rejection") {
        await rejected.add(row);
        break readRow;
      }
      const checked = checkBulkRow(request.route, request.params, row.values);
      if (!checked.ok) {
        await reject(row, checked.reason, checked.field);
        break readRow;
      }
      if (checked.cells.size === 0) {
        // An all-blank row would be a blank line in the import file, which Marketo's CSV reading skips.
        await reject(row, "row has no values");
        break readRow;
      }
      let added = withRow(part, checked.cells);
      if (added.bytes > limit) {
        await emit();
        added = withRow(part, checked.cells);
        if (added.bytes > limit) {
          await reject(row, `row is ${added.bytes} bytes with its header; one import file holds at most ${limit}`);
          break readRow;
        }
      }
      for (const column of added.fresh) part.known.add(column);
      part.columns = added.columns;
      part.lines.push({ text: added.line, columnCount: added.columns.length });
      part.rows.push(row.row);
      part.headerBytes = added.headerBytes;
      part.bytes = added.bytes;
    }
    // After a whole row, before the reader moves on: the reader's cursor is at this row's end.
    if (request.markRow && summary.rowsRead % ROW_MARK_EVERY === 0) marks.push(request.markRow());
    if (request.shouldPause?.()) {
      paused = true;
      break;
    }
  }
  if (paused) {
    // The stored parts' messages into a held part; the open part as it stands (the next invocation fills it on).
    const lines = held.map((message) => `${JSON.stringify(heldLineOf(message))}\n`);
    if (lines.length > 0) await (request.heldMessages as HeldMessageStore).put(heldParts++, lines.join(""));
    if (part.rows.length > 0) {
      const { known: _known, ...open } = part;
      await (request.openParts as OpenPartStore).put(summary.rowsRead, JSON.stringify(open));
    }
    return {
      done: false,
      progress: {
        kind: "bulk",
        ...summary,
        heldParts,
        ...(part.rows.length > 0 ? { openPart: { rows: part.rows.length, bytes: part.bytes } } : {}),
        rejections: await rejected.save(),
        marks,
      },
    };
  }
  await emit();
  // The whole file was read without a file-level error: now, and only now, its parts are queued.
  for (let index = 0; index < heldParts; index++) {
    const ndjson = await (request.heldMessages as HeldMessageStore).read(index);
    for (const line of ndjson.split("\n")) {
      if (!line) continue;
      const { body } = HeldLineSchema.parse(JSON.parse(line));
      await sink.publish(queuedMessageOf(BulkPartMessageSchema.parse(JSON.parse(body))));
    }
  }
  for (const message of held) await sink.publish(queuedMessageOf(message));
  await sink.flush();
  request.onProgress?.(summary.rowsRead);
  return { done: true, summary: { ...summary, ...(await rejected.finish()), marks } };
}

/** A held part message as saved at a pause: without copyId, which only a queued copy gets. */
const heldLineOf = (message: BulkPartMessage) => ({ id: `p${message.part.index}`, body: toQueueSafeJson(message) });

/**
 * A part's message as queued, with a copyId drawn now: every copy the splitter queues is told apart by the importer
 * (a last invocation retried after queuing some parts queues them again, and both copies must not own the part).
 */
const queuedMessageOf = (message: BulkPartMessage) => ({
  id: `p${message.part.index}`,
  body: toQueueSafeJson({ ...message, copyId: randomUUID() }),
});

/** The part a paused split was filling, checked against what its checkpoint says it held. */
async function readOpenPart(request: BulkSplitRequest, resume: BulkSplitProgress): Promise<OpenPart> {
  const store = request.openParts;
  if (!store) throw new Error("a resumed bulk split with an open part needs the open-part store");
  const open = OpenBulkPartSchema.parse(JSON.parse(await store.read(resume.rowsRead)));
  if (open.rows.length !== resume.openPart?.rows || open.bytes !== resume.openPart.bytes) {
    throw new Error(
      `open bulk part after row ${resume.rowsRead}: ${open.rows.length} rows, ${open.bytes} bytes stored; ` +
        `the checkpoint says ${resume.openPart?.rows} rows, ${resume.openPart?.bytes} bytes`,
    );
  }
  return { ...open, known: new Set(open.columns) };
}
