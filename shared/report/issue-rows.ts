import { formatCsvLine } from "../text/csv-text.ts";
import type { SourceRow } from "../parsing/source-row.ts";
import {
  type BatchOutcome,
  IMPORT_ROW_FAILED,
  type OutcomeFailure,
  type RejectedRow,
  type SplitManifest,
} from "./file-report.ts";

/**
 * How a row ended when it did not end plainly accepted: refused, failed or dead-lettered, or imported by a bulk job
 * with a Marketo warning (`warned` rows count as accepted in the report's totals).
 */
export type IssueOutcome = "rejected" | "failed" | "dead-lettered" | "warned";

/** One row with an issue, with what the report knows about why. */
export interface RowIssueEntry {
  /** 1-based data row number of the original file. */
  row: number;
  /** Physical line where the row starts, when the manifest recorded it (the CSV writer fills it from the file). */
  line?: number;
  outcome: IssueOutcome;
  /** Marketo's error code for a failed or dead-lettered batch; `import_row_failed` for a row an import job failed. */
  code?: string;
  /** The field a rejection is about. */
  field?: string;
  reason: string;
}

/** What every row of one failed or dead-lettered batch range shares. */
type RangeIssue = Omit<RowIssueEntry, "row" | "line" | "field">;

/** Sorted, disjoint ranges of rows; parallel arrays keep them compact. */
interface Ranges {
  from: number[];
  to: number[];
  issue: RangeIssue[];
}

/**
 * Index of every row with an issue, from the manifest and the batch outcomes:
 * - `manifest.rejectedRows` (outcome "rejected", with line, field and reason);
 * - every row of an outcome with status "failed" or "dead-lettered" (its `rows` ranges; code and reason from
 *   `outcome.failure`);
 * - the `rowFailures` of accepted (bulk) outcomes (outcome "failed", code `import_row_failed` as in report.json,
 *   reason from Marketo's row issue);
 * - the `rowWarnings` of accepted (bulk) outcomes (outcome "warned", Marketo's warning text): imported rows, counted
 *   as accepted, listed so their row numbers are not lost.
 * Row failures and warnings without a row number cannot be placed in the file: they are only counted
 * (`unattributed`, `unattributedWarnings`).
 *
 * Memory is O(rejected rows + row failures + row warnings + batch ranges), never O(rows in failed batches): batch
 * ranges stay ranges and lookups are binary searches. When sources disagree about a row (which a consistent report
 * never does), the more specific record wins: a manifest rejection, then a bulk row failure, then a batch range,
 * then a warning; among overlapping batch ranges, the one listed first.
 */
export class IssueIndex {
  private constructor(
    /** Single-row issues (rejections, row failures, warnings), sorted by row, one per row. */
    private readonly points: readonly RowIssueEntry[],
    private readonly ranges: Ranges,
    private readonly rowCount: number,
    private readonly unattributedCount: number,
    private readonly warnedCount: number,
    private readonly unattributedWarningCount: number,
  ) {}

  static from(manifest: SplitManifest, outcomes: readonly BatchOutcome[]): IssueIndex {
    const points = new Map<number, RowIssueEntry>();
    // With parts, the manifest lists only the first rejections: issueRowsCsv streams them all from the parts.
    for (const rejected of manifest.rejectedRowParts === undefined ? manifest.rejectedRows : []) {
      if (points.has(rejected.row)) continue;
      points.set(rejected.row, {
        row: rejected.row,
        line: rejected.line,
        outcome: "rejected",
        ...(rejected.field !== undefined ? { field: rejected.field } : {}),
        reason: rejected.reason,
      });
    }
    let unattributed = 0;
    const spans: { from: number; to: number; order: number; issue: RangeIssue }[] = [];
    for (const outcome of outcomes) {
      if (outcome.status === "accepted") {
        for (const failure of outcome.rowFailures ?? []) {
          if (failure.row === undefined) unattributed++;
          else if (!points.has(failure.row)) {
            points.set(failure.row, {
              row: failure.row,
              outcome: "failed",
              code: IMPORT_ROW_FAILED,
              reason: failure.reason,
            });
          }
        }
        continue;
      }
      const issue = rangeIssue(outcome.status, outcome.index, outcome.failure);
      for (const [from, to] of outcome.rows) {
        if (from <= to) spans.push({ from, to, order: spans.length, issue });
      }
    }

    // Disjoint ranges: sort by start (first listed wins a tie), clip what an earlier range already covers, and
    // join neighbours that share an issue.
    spans.sort((a, b) => a.from - b.from || a.order - b.order);
    const ranges: Ranges = { from: [], to: [], issue: [] };
    let covered = 0;
    for (const span of spans) {
      if (span.to <= covered) continue;
      const from = Math.max(span.from, covered + 1);
      const last = ranges.to.length - 1;
      if (last >= 0 && ranges.issue[last] === span.issue && ranges.to[last] === from - 1) ranges.to[last] = span.to;
      else {
        ranges.from.push(from);
        ranges.to.push(span.to);
        ranges.issue.push(span.issue);
      }
      covered = span.to;
    }

    // Warnings last: a row with any other issue is listed with that one.
    let unattributedWarnings = 0;
    for (const outcome of outcomes) {
      if (outcome.status !== "accepted") continue;
      for (const warning of outcome.rowWarnings ?? []) {
        if (warning.row === undefined) unattributedWarnings++;
        else if (!points.has(warning.row) && findRange(ranges, warning.row) < 0) {
          points.set(warning.row, { row: warning.row, outcome: "warned", reason: warning.reason });
        }
      }
    }

    const sorted = [...points.values()].sort((a, b) => a.row - b.row);
    const warned = sorted.reduce((count, point) => count + (point.outcome === "warned" ? 1 : 0), 0);
    let rows = sorted.length;
    for (let i = 0; i < ranges.from.length; i++) rows += (ranges.to[i] as number) - (ranges.from[i] as number) + 1;
    // A point inside a range replaces that range's row rather than adding one.
    for (const point of sorted) if (findRange(ranges, point.row) >= 0) rows--;
    return new IssueIndex(sorted, ranges, rows, unattributed, warned, unattributedWarnings);
  }

  /** The issue of a row, or undefined when it ended accepted without a warning (or is not in the report at all). */
  lookup(row: number): RowIssueEntry | undefined {
    const point = findPoint(this.points, row);
    if (point) return { ...point };
    const at = findRange(this.ranges, row);
    return at < 0 ? undefined : { row, ...(this.ranges.issue[at] as RangeIssue) };
  }

  /** Rows with an issue (distinct row numbers), warned rows included: the lines of the rows-with-issues CSV. */
  get size(): number {
    return this.rowCount;
  }

  /** Rows listed as `warned` (imported with a Marketo warning; accepted in the report's totals). */
  get warned(): number {
    return this.warnedCount;
  }

  /** Bulk row failures Marketo reported that could not be attributed to a row of the file. */
  get unattributed(): number {
    return this.unattributedCount;
  }

  /** Bulk row warnings Marketo reported that could not be attributed to a row of the file. */
  get unattributedWarnings(): number {
    return this.unattributedWarningCount;
  }

  /** The highest row with an issue, 0 when there is none. */
  get lastRow(): number {
    const lastPoint = this.points[this.points.length - 1]?.row ?? 0;
    return Math.max(lastPoint, this.ranges.to[this.ranges.to.length - 1] ?? 0);
  }

  /** Every issue in row order, produced one at a time (a range is expanded as it is walked, never stored). */
  *entries(): Generator<RowIssueEntry> {
    const { points, ranges } = this;
    let p = 0;
    for (let r = 0; r < ranges.from.length; r++) {
      const issue = ranges.issue[r] as RangeIssue;
      const to = ranges.to[r] as number;
      for (let row = ranges.from[r] as number; row <= to; row++) {
        while (p < points.length && (points[p] as RowIssueEntry).row < row) yield { ...(points[p++] as RowIssueEntry) };
        if (p < points.length && (points[p] as RowIssueEntry).row === row) yield { ...(points[p++] as RowIssueEntry) };
        else yield { row, ...issue };
      }
    }
    while (p < points.length) yield { ...(points[p++] as RowIssueEntry) };
  }
}

function rangeIssue(
  status: "failed" | "dead-lettered",
  index: number,
  failure: OutcomeFailure | undefined,
): RangeIssue {
  const fallback = status === "failed" ? `batch ${index} failed` : `batch ${index} was dead-lettered`;
  return {
    outcome: status,
    ...(failure?.code ? { code: failure.code } : {}),
    reason: failure?.message || fallback,
  };
}

function findPoint(points: readonly RowIssueEntry[], row: number): RowIssueEntry | undefined {
  let low = 0;
  let high = points.length - 1;
  while (low <= high) {
    const mid = (low + high) >>> 1;
    const at = (points[mid] as RowIssueEntry).row;
    if (at === row) return points[mid];
    if (at < row) low = mid + 1;
    else high = mid - 1;
  }
  return undefined;
}

/** Index of the range holding `row`, or -1. */
function findRange(ranges: Ranges, row: number): number {
  let low = 0;
  let high = ranges.from.length - 1;
  while (low <= high) {
    const mid = (low + high) >>> 1;
    if (row < (ranges.from[mid] as number)) high = mid - 1;
    else if (row > (ranges.to[mid] as number)) low = mid + 1;
    else return mid;
  }
  return -1;
}

/** The metadata columns, before any prefix. */
export const ISSUE_COLUMNS = ["row", "line", "outcome", "code", "field", "reason"] as const;

/**
 * The header rule: metadata columns come first; when any original column has the name of a metadata column
 * (compared without regard to case, as spreadsheets and people read them), every metadata column gets the same
 * prefix, the shortest run of underscores that makes all names distinct: `_row,_line,…`, then `__row,…`.
 * Original columns keep their names, so the data part of the report has the file's own header.
 */
export function issueCsvHeader(columns: readonly string[]): string[] {
  const taken = new Set(columns.map((name) => name.toLowerCase()));
  let prefix = "";
  while (ISSUE_COLUMNS.some((name) => taken.has(`${prefix}${name}`.toLowerCase()))) prefix += "_";
  return [...ISSUE_COLUMNS.map((name) => `${prefix}${name}`), ...columns];
}

/** Lines are gathered into chunks of about this many characters. */
const CHUNK_CHARS = 64 * 1024;

/**
 * Streams the rows with an issue (see `IssueIndex`: not accepted, or imported with a warning) as CSV text: the
 * header (see `issueCsvHeader`) then one line per row of the index, in row order, with the row's original values. RFC 4180: CRLF line ends, fields quoted when
 * they hold a comma, quote, CR or LF. Values are written as they are (no formula escaping), so the file round-trips.
 *
 * `openRows` opens the file's rows from the start; it is called twice and each pass stops after the last issue row:
 * 1. the columns: the union of the keys of the file's first record and of the issue rows, in first-seen order
 *    except where the rows' own key order says otherwise (see `ColumnOrder`: a CSV file keeps its header order).
 *    The first record matters for CSV, whose records leave out empty cells: the column of a rejected row's
 *    missing field is still there to fill in. For JSON inputs the first record's keys join the issue rows'.
 * 2. the lines. A string is written as is, any other value as JSON text, a missing value as an empty cell. A row
 *    the parser rejected (no values) has empty data columns; so does an issue row the file no longer holds.
 *
 * Yields chunks of about 64 KiB; yields nothing (and never opens the file) when the index is empty.
 */
export async function* issueRowsCsv(
  openRows: () => AsyncIterable<SourceRow>,
  index: IssueIndex,
  rejectedRows?: () => AsyncIterable<RejectedRow>,
): AsyncGenerator<string> {
  if (index.size === 0 && !rejectedRows) return;
  const columns = await learnColumns(openRows(), issueEntries(index, rejectedRows));
  const header = issueCsvHeader(columns);
  let chunk: string[] = [csvLine(header)];
  let chunkChars = chunk[0]?.length ?? 0;
  const add = (entry: RowIssueEntry, source: SourceRow | undefined): string | undefined => {
    const line = csvLine(issueCells(entry, source, columns));
    chunk.push(line);
    chunkChars += line.length;
    if (chunkChars < CHUNK_CHARS) return undefined;
    const text = chunk.join("");
    chunk = [];
    chunkChars = 0;
    return text;
  };

  const issues = issueEntries(index, rejectedRows);
  let next = await issues.next();
  for await (const source of openRows()) {
    // Issue rows the file skipped (it is not the version that was split): metadata only.
    while (!next.done && next.value.row < source.row) {
      const text = add(next.value, undefined);
      if (text) yield text;
      next = await issues.next();
    }
    if (!next.done && next.value.row === source.row) {
      const text = add(next.value, source);
      if (text) yield text;
      next = await issues.next();
    }
    // Nothing after the last issue row is needed: stop reading (the source is released).
    if (next.done) break;
  }
  for (; !next.done; next = await issues.next()) {
    const text = add(next.value, undefined);
    if (text) yield text;
  }
  if (chunk.length) yield chunk.join("");
}

/**
 * The index's issues merged in row order with the rejected rows read from their parts (in file order), one at a
 * time. A row in both is listed as rejected, the more specific record (a consistent report never has one).
 */
export async function* issueEntries(
  index: IssueIndex,
  rejectedRows: (() => AsyncIterable<RejectedRow>) | undefined,
): AsyncGenerator<RowIssueEntry> {
  const indexed = index.entries();
  let next = indexed.next();
  for await (const rejected of rejectedRows?.() ?? []) {
    while (!next.done && next.value.row < rejected.row) {
      yield next.value;
      next = indexed.next();
    }
    if (!next.done && next.value.row === rejected.row) next = indexed.next();
    yield {
      row: rejected.row,
      line: rejected.line,
      outcome: "rejected",
      ...(rejected.field !== undefined ? { field: rejected.field } : {}),
      reason: rejected.reason,
    };
  }
  for (; !next.done; next = indexed.next()) yield next.value;
}

async function learnColumns(rows: AsyncIterable<SourceRow>, issues: AsyncIterator<RowIssueEntry>): Promise<string[]> {
  const order = new ColumnOrder();
  let next = await issues.next();
  let seeded = false;
  for await (const source of rows) {
    while (!next.done && next.value.row < source.row) next = await issues.next();
    const isIssue = !next.done && next.value.row === source.row;
    if (source.kind === "record" && (!seeded || isIssue)) {
      seeded = true;
      order.add(Object.keys(source.values));
    }
    if (isIssue) next = await issues.next();
    // Past the last issue row (and the first record seen): nothing more to learn.
    if (next.done && seeded) break;
  }
  await issues.return?.(undefined);
  return order.columns();
}

/**
 * Column names in an order consistent with every row's own key order where the rows agree: each row says its
 * keys come in that order (a CSV record lists its non-empty cells in header order), and names the rows do not
 * order relative to each other come in first-seen order. Rows that contradict each other (JSON objects may list
 * keys in any order) are settled by first-seen order too. Memory: the names and the distinct adjacent pairs.
 */
class ColumnOrder {
  private readonly ids = new Map<string, number>();
  private readonly names: string[] = [];
  /** Name id → ids of the names that directly follow it in some row. */
  private readonly after: Set<number>[] = [];

  add(keys: readonly string[]): void {
    let previous = -1;
    for (const key of keys) {
      let id = this.ids.get(key);
      if (id === undefined) {
        id = this.names.length;
        this.ids.set(key, id);
        this.names.push(key);
        this.after.push(new Set());
      }
      if (previous >= 0 && previous !== id) this.after[previous]?.add(id);
      previous = id;
    }
  }

  /** Kahn's topological sort, always taking the earliest-seen name that is free (a cycle frees its earliest). */
  columns(): string[] {
    const count = this.names.length;
    const incoming = new Array<number>(count).fill(0);
    for (const next of this.after) for (const id of next) incoming[id] = (incoming[id] as number) + 1;
    const free = new MinHeap();
    for (let id = 0; id < count; id++) if (incoming[id] === 0) free.push(id);
    const placed = new Array<boolean>(count).fill(false);
    const result: string[] = [];
    let scan = 0;
    while (result.length < count) {
      let id = free.pop();
      if (id === undefined) {
        while (placed[scan]) scan++;
        id = scan;
      }
      if (placed[id]) continue;
      placed[id] = true;
      result.push(this.names[id] as string);
      for (const next of this.after[id] as Set<number>) {
        incoming[next] = (incoming[next] as number) - 1;
        if (incoming[next] === 0 && !placed[next]) free.push(next);
      }
    }
    return result;
  }
}

class MinHeap {
  private readonly items: number[] = [];

  push(value: number): void {
    const items = this.items;
    items.push(value);
    for (let i = items.length - 1; i > 0;) {
      const parent = (i - 1) >> 1;
      if ((items[parent] as number) <= value) break;
      items[i] = items[parent] as number;
      items[parent] = value;
      i = parent;
    }
  }

  pop(): number | undefined {
    const items = this.items;
    const top = items[0];
    const last = items.pop();
    if (top === undefined || last === undefined || items.length === 0) return top;
    items[0] = last;
    for (let i = 0; ;) {
      const left = 2 * i + 1;
      const right = left + 1;
      let smallest = i;
      if (left < items.length && (items[left] as number) < (items[smallest] as number)) smallest = left;
      if (right < items.length && (items[right] as number) < (items[smallest] as number)) smallest = right;
      if (smallest === i) break;
      items[i] = items[smallest] as number;
      items[smallest] = last;
      i = smallest;
    }
    return top;
  }
}

function issueCells(entry: RowIssueEntry, source: SourceRow | undefined, columns: readonly string[]): string[] {
  const line = entry.line ?? source?.line;
  const cells = [
    String(entry.row),
    line === undefined ? "" : String(line),
    entry.outcome,
    entry.code ?? "",
    entry.field ?? "",
    entry.reason,
  ];
  const values = source?.kind === "record" ? source.values : undefined;
  for (const column of columns) cells.push(values ? valueText(values, column) : "");
  return cells;
}

function valueText(values: Record<string, unknown>, column: string): string {
  // Own keys only: a JSON row without a `constructor` key must not print Object.prototype's.
  if (!Object.hasOwn(values, column)) return "";
  const value = values[column];
  if (value === undefined) return "";
  if (typeof value === "string") return value;
  return JSON.stringify(value) ?? "";
}

/** One RFC 4180 line with CRLF: the shared writer's quoting, its LF swapped for CRLF. */
function csvLine(cells: readonly string[]): string {
  return `${formatCsvLine(cells, ",").slice(0, -1)}\r\n`;
}
