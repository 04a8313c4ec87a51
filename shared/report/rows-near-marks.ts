import type { RowMark, RowMarks } from "../contracts/split-checkpoint.ts";
import type { ReaderPosition } from "../parsing/input-format.ts";
import type { SourceRow } from "../parsing/source-row.ts";

/** Opens a file's rows from its start (undefined) or from a row boundary. */
export type OpenRowsAt = (position: ReaderPosition | undefined) => AsyncIterable<SourceRow>;

/** The reader position a mark stands for, with the file-wide parts its format needs. */
export function positionAtMark(marks: RowMarks, mark: RowMark): ReaderPosition {
  const { byte, lineFeeds, row, nextLine } = mark;
  const boundary = { byte, lineFeeds, row, nextLine };
  switch (marks.format) {
    case "json":
      return { kind: "json", ...boundary, closed: mark.closed === true };
    case "ndjson":
      return { kind: "ndjson", ...boundary };
    default:
      if (!marks.header || !marks.recordDelimiter) throw new Error("row marks of a delimited file need its header");
      return { ...boundary, header: marks.header, recordDelimiter: marks.recordDelimiter };
  }
}

/** The mark of a position (its file-wide parts are kept once, in the marks' head). */
export function markAt(position: ReaderPosition): RowMark {
  const { byte, lineFeeds, row, nextLine } = position;
  return {
    byte,
    lineFeeds,
    row,
    nextLine,
    ...("kind" in position && position.kind === "json" && position.closed ? { closed: true as const } : {}),
  };
}

/**
 * The rows numbered in `wanted` (ascending), read only near them: each stretch is read from the last mark before it
 * (a ranged GET), and a reader moves on rather than reopen while no closer mark lies ahead. With marks every
 * ROW_MARK_EVERY rows, rows far apart cost a few thousand rows each, whatever the file's size.
 */
export async function* rowsNearMarks(
  wanted: AsyncIterable<number>,
  marks: RowMarks,
  open: OpenRowsAt,
): AsyncGenerator<SourceRow> {
  let reader: AsyncIterator<SourceRow> | undefined;
  /** The row the reader last read (its mark's row when it has read none yet). */
  let at = 0;
  let done = false;
  try {
    for await (const row of wanted) {
      if (row <= at && reader) continue;
      const mark = markBefore(marks.marks, row);
      const markRow = mark?.row ?? 0;
      if (!reader || done || at >= row || at < markRow) {
        await reader?.return?.();
        reader = open(mark && positionAtMark(marks, mark))[Symbol.asyncIterator]();
        at = markRow;
        done = false;
      }
      while (at < row) {
        const next = await reader.next();
        if (next.done) {
          done = true;
          break;
        }
        at = next.value.row;
        if (at === row) yield next.value;
      }
    }
  } finally {
    await reader?.return?.();
  }
}

/** The last mark before `row` (a mark is the boundary after its row), or undefined: read from the start. */
function markBefore(marks: readonly RowMark[], row: number): RowMark | undefined {
  let low = 0;
  let high = marks.length - 1;
  let found: RowMark | undefined;
  while (low <= high) {
    const mid = (low + high) >>> 1;
    const mark = marks[mid] as RowMark;
    if (mark.row < row) {
      found = mark;
      low = mid + 1;
    } else high = mid - 1;
  }
  return found;
}
