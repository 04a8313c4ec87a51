import { decodeUtf8 } from "./decode-utf8.ts";
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

/**
 * Streams the elements of a top-level JSON array without holding the file: a small scanner finds where each
 * element ends (depth and string state), then JSON.parse reads that element. Values keep their JSON types.
 */
export async function* readJsonArrayRows(
  chunks: AsyncIterable<Uint8Array>,
  limits?: Partial<ReaderLimits>,
): AsyncGenerator<SourceRow> {
  // An element longer than this is rejected before its text outgrows memory (or V8's string length: RangeError).
  const { maxLineChars } = withDefaultLimits(limits);
  let state: "before" | "between" | "element" | "after" = "before";
  let element = "";
  let depth = 0;
  let inString = false;
  let escaped = false;
  let line = 1;
  let elementLine = 1;
  let row = 0;

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

  for await (const text of decodeUtf8(chunks)) {
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
        if (parsed) yield parsed;
        else if (c === ",") throw new InputFileError("MALFORMED_JSON", "empty array element", { line });
        state = c === "]" ? "after" : "between";
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
  limits?: Partial<ReaderLimits>,
): AsyncGenerator<SourceRow> {
  const { maxLineChars } = withDefaultLimits(limits);
  /** The current line's text from earlier chunks (a rope: appending is cheap, it is flattened once). */
  let pending = "";
  let pendingTooLong = false;
  let line = 0;
  let row = 0;
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
  for await (const text of decodeUtf8(chunks)) {
    let start = 0;
    for (let newline = text.indexOf("\n"); newline >= 0; newline = text.indexOf("\n", start)) {
      const whole = pending.length > 0 ? pending + text.slice(start, newline) : text.slice(start, newline);
      const parsed = parseLine(whole, pendingTooLong || whole.length > maxLineChars);
      if (parsed) yield parsed;
      pending = "";
      pendingTooLong = false;
      start = newline + 1;
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
  if (last) yield last;
  if (row === 0) throw new InputFileError("EMPTY_FILE", "file is empty: expected one JSON object per line");
}
