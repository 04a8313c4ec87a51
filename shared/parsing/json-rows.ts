import { type BytePosition, type DecodedSpan, decodeUtf8 } from "./decode-utf8.ts";
import { InputFileError } from "./input-file-error.ts";
import { lineTooLong, type ReaderLimits, withDefaultLimits } from "./reader-limits.ts";
import { setField, type SourceRow } from "./source-row.ts";

const isPlainObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === "object" && value !== null && !Array.isArray(value);

/** JSON null means "no value", like an empty CSV cell: left out rather than sent as null. */
function withoutNulls(object: Record<string, unknown>): Record<string, unknown> {
  const values: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(object)) if (value !== null && value !== "") setField(values, key, value);
  return values;
}

/** A boundary after a line of an NDJSON file: bytes and lines before it, rows read. */
export interface NdjsonPosition extends BytePosition {
  kind: "ndjson";
  row: number;
  /** Physical line the next line is (line feeds before it + 1). */
  nextLine: number;
}

/** A boundary just after an array element's `,` (or the closing `]`) of a JSON array file. */
export interface JsonArrayPosition extends BytePosition {
  kind: "json";
  row: number;
  nextLine: number;
  /** The element ended the array: only whitespace may follow. */
  closed: boolean;
}

/** Where the row last yielded ends (`at()` is computed only when asked: a checkpoint or a row mark). */
export interface JsonCursor<P> {
  at?: () => P;
}

export interface JsonReadOptions<P> {
  limits?: Partial<ReaderLimits>;
  /** Reads on from a boundary: `chunks` start at `resume.byte`. */
  resume?: P;
  cursor?: JsonCursor<P>;
}

/**
 * Where the reader stands in the input: the decoded text it is going through and the input offset its end has, and
 * where the row it yielded last ends. That end becomes a byte offset only when asked (the bytes after it in the text
 * are its UTF-8 length: strict decoding means the input is exactly the text's UTF-8).
 */
class TextPlace {
  text = "";
  endByte: number;
  /** Index just past the last row in `text` (-1: no row yet), and the line count the reader had there. */
  private rowEnd = -1;
  private rowLine = 0;
  constructor(
    private readonly span: DecodedSpan,
    start: number,
  ) {
    this.endByte = start;
  }
  /** Called with each decoded text as it arrives. */
  enter(text: string): void {
    this.text = text;
    this.endByte = this.span.endByte;
  }
  /** The row about to be yielded ends at `index` of the current text. */
  endRow(index: number, line: number): void {
    this.rowEnd = index;
    this.rowLine = line;
  }
  /** Sets `cursor.at` to the last row's end (`resume` before any row), as `position` makes it of a byte and line. */
  attach<P>(cursor: JsonCursor<P>, resume: P | undefined, position: (byte: number, line: number) => P): void {
    cursor.at = () => {
      if (this.rowEnd >= 0)
        return position(this.endByte - Buffer.byteLength(this.text.slice(this.rowEnd)), this.rowLine);
      if (resume) return resume;
      throw new Error("no row has been read yet");
    };
  }
}

function decodeFrom(chunks: AsyncIterable<Uint8Array>, resume: BytePosition | undefined) {
  const span: DecodedSpan = { endByte: resume?.byte ?? 0, lineFeedsBefore: resume?.lineFeeds ?? 0 };
  const texts = decodeUtf8(chunks, {
    span,
    ...(resume ? { from: { byte: resume.byte, lineFeeds: resume.lineFeeds } } : {}),
  });
  return { texts, place: new TextPlace(span, resume?.byte ?? 0) };
}

/**
 * Streams the elements of a top-level JSON array without holding the file: a small scanner finds where each
 * element ends (depth and string state), then JSON.parse reads that element. Values keep their JSON types.
 */
export async function* readJsonArrayRows(
  chunks: AsyncIterable<Uint8Array>,
  options: JsonReadOptions<JsonArrayPosition> = {},
): AsyncGenerator<SourceRow> {
  const { resume, cursor } = options;
  // An element longer than this is rejected before its text outgrows memory (or V8's string length: RangeError).
  const { maxLineChars } = withDefaultLimits(options.limits);
  let state: "before" | "between" | "element" | "after" = resume ? (resume.closed ? "after" : "between") : "before";
  let element = "";
  let depth = 0;
  let inString = false;
  let escaped = false;
  let line = resume?.nextLine ?? 1;
  let elementLine = line;
  let row = resume?.row ?? 0;
  const { texts, place } = decodeFrom(chunks, resume);
  // A row's end is just past its `,` or `]`; the lines before it are `line - 1`.
  if (cursor) {
    place.attach(cursor, resume, (byte, endLine) => ({
      kind: "json",
      byte,
      lineFeeds: endLine - 1,
      row,
      nextLine: endLine,
      closed: state === "after",
    }));
  }

  const finish = (): SourceRow | undefined => {
    const text = element.trim();
    element = "";
    if (text === "") return undefined;
    row++;
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch {
      throw new InputFileError("MALFORMED_JSON", `element ${row} (line ${elementLine}) is not valid JSON`, {
        line: elementLine,
      });
    }
    if (!isPlainObject(value)) {
      return { kind: "rejection", row, line: elementLine, reason: "array element is not a JSON object" };
    }
    return { kind: "record", row, line: elementLine, values: withoutNulls(value) };
  };

  for await (const text of texts) {
    place.enter(text);
    let start = 0;
    for (let i = 0; i < text.length; i++) {
      const c = text[i] as string;
      if (c === "\n") line++;
      if (state === "before") {
        if (c === "[") {
          state = "between";
          start = i + 1;
        } else if (!/\s/.test(c)) {
          throw new InputFileError("MALFORMED_JSON", "a JSON file must hold one array of objects", { line });
        }
        continue;
      }
      if (state === "after") {
        if (!/\s/.test(c)) throw new InputFileError("MALFORMED_JSON", "content after the end of the array", { line });
        continue;
      }
      if (inString) {
        if (escaped) escaped = false;
        else if (c === "\\") escaped = true;
        else if (c === '"') inString = false;
        continue;
      }
      if (state === "between" && !/\s/.test(c) && c !== "," && c !== "]") {
        state = "element";
        elementLine = line;
      }
      if (c === '"') inString = true;
      else if (c === "{" || c === "[") depth++;
      else if ((c === "}" || c === "]") && depth > 0) depth--;
      else if (depth === 0 && (c === "," || c === "]")) {
        element += text.slice(start, i);
        if (element.length > maxLineChars) throw lineTooLong(maxLineChars, elementLine, "an array element");
        start = i + 1;
        const parsed = finish();
        state = c === "]" ? "after" : "between";
        if (parsed) {
          place.endRow(i + 1, line);
          yield parsed;
        } else if (c === ",") throw new InputFileError("MALFORMED_JSON", "empty array element", { line });
      }
    }
    if (state === "element" || state === "between") {
      element += text.slice(start);
      if (element.length > maxLineChars) throw lineTooLong(maxLineChars, elementLine, "an array element");
    }
  }
  if (state === "before") throw new InputFileError("EMPTY_FILE", "file is empty: expected a JSON array of objects");
  if ((state as string) !== "after") {
    throw new InputFileError("MALFORMED_JSON", "the JSON array is never closed", { line });
  }
  if (row === 0) throw new InputFileError("HEADER_ONLY", "the JSON array is empty: no rows");
}

/**
 * One JSON object per line; a bad line is rejected alone (lines are independent). Each chunk is searched for line
 * ends once and a long line grows by appending, so a line costs time linear in its length. A line longer than
 * `maxLineChars` is rejected alone, its text dropped as it streams past.
 */
export async function* readNdjsonRows(
  chunks: AsyncIterable<Uint8Array>,
  options: JsonReadOptions<NdjsonPosition> = {},
): AsyncGenerator<SourceRow> {
  const { resume, cursor } = options;
  const { maxLineChars } = withDefaultLimits(options.limits);
  /** The current line's text from earlier chunks (a rope: appending is cheap, it is flattened once). */
  let pending = "";
  let pendingTooLong = false;
  /** Lines read (each but the file's last ends with a line feed). */
  let line = resume ? resume.nextLine - 1 : 0;
  let row = resume?.row ?? 0;
  const { texts, place } = decodeFrom(chunks, resume);
  // A row's end is just past its line feed (the end of the input for a last line without one).
  if (cursor) {
    place.attach(cursor, resume, (byte, lineFeeds) => ({
      kind: "ndjson",
      byte,
      lineFeeds,
      row,
      nextLine: lineFeeds + 1,
    }));
  }
  const parseLine = (text: string, tooLong: boolean): SourceRow | undefined => {
    line++;
    if (tooLong) {
      row++;
      return {
        kind: "rejection",
        row,
        line,
        reason: `line is longer than ${maxLineChars} characters (limit MAX_LINE_CHARS)`,
      };
    }
    const trimmed = text.trim();
    if (trimmed === "") return undefined;
    row++;
    let value: unknown;
    try {
      value = JSON.parse(trimmed);
    } catch {
      return { kind: "rejection", row, line, reason: "line is not valid JSON" };
    }
    return isPlainObject(value)
      ? { kind: "record", row, line, values: withoutNulls(value) }
      : { kind: "rejection", row, line, reason: "line is not a JSON object" };
  };
  for await (const text of texts) {
    place.enter(text);
    let start = 0;
    for (let newline = text.indexOf("\n"); newline >= 0; newline = text.indexOf("\n", start)) {
      const whole = pending.length > 0 ? pending + text.slice(start, newline) : text.slice(start, newline);
      const parsed = parseLine(whole, pendingTooLong || whole.length > maxLineChars);
      pending = "";
      pendingTooLong = false;
      start = newline + 1;
      if (parsed) {
        place.endRow(start, line);
        yield parsed;
      }
    }
    if (start < text.length && !pendingTooLong) {
      pending += text.slice(start);
      if (pending.length > maxLineChars) {
        pending = "";
        pendingTooLong = true;
      }
    }
  }
  const last = parseLine(pending, pendingTooLong);
  if (last) {
    // The file's end: past every byte of the place's text (the last line has no line feed: no line ends here).
    place.endRow(place.text.length, line - 1);
    yield last;
  }
  if (row === 0) throw new InputFileError("EMPTY_FILE", "file is empty: expected one JSON object per line");
}
