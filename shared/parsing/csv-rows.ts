import { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { CsvError, type Info, parse } from "csv-parse";
import { decodeUtf8 } from "./decode-utf8.ts";
import { InputFileError } from "./input-file-error.ts";
import { setField, type SourceRow } from "./source-row.ts";

export interface CsvOptions {
  /** Field delimiter: `,` for CSV, `\t` for TSV, `;` for SSV. */
  delimiter?: string;
  /** Longest record accepted, in characters; guards memory against an unterminated quote. */
  maxRecordChars?: number;
  /** Told the header's column names once it is read: a rule every row needs can reject the file there. */
  onHeader?: (columns: readonly string[]) => void;
}

const OTHER_DELIMITERS: Record<string, string> = { ";": "semicolon", "\t": "tab", "|": "pipe", ",": "comma" };

/**
 * Streams the rows of a delimited UTF-8 file (RFC 4180 quoting, embedded newlines, CRLF, BOM). Empty cells are
 * left out of `values`. Rows whose field count differs from the header's are rejected alone; a structural error
 * (bad quoting, bad encoding, bad header) rejects the file.
 */
export async function* readCsvRows(
  chunks: AsyncIterable<Uint8Array>,
  options: CsvOptions = {},
): AsyncGenerator<SourceRow> {
  const delimiter = options.delimiter ?? ",";
  const parser = parse({
    delimiter,
    bom: true,
    info: true,
    relax_column_count: true,
    skip_empty_lines: true,
    max_record_size: options.maxRecordChars ?? 2_000_000,
  });
  const feeding = pipeline(Readable.from(decodeUtf8(chunks)), parser);
  // Errors surface through the parser's iterator; keep the pipeline's own rejection from going unhandled.
  feeding.catch(() => {});

  let header: string[] | undefined;
  let row = 0;
  let nextLine = 1;
  let emptyLinesSeen = 0;
  try {
    for await (const item of parser as AsyncIterable<{ record: string[]; info: Info }>) {
      const { record, info } = item;
      // csv-parse counts a CRLF inside quotes as two lines, so physical lines are counted here.
      const line = nextLine + (info.empty_lines - emptyLinesSeen);
      nextLine = line + 1 + lineBreaksWithin(record);
      emptyLinesSeen = info.empty_lines;
      if (!header) {
        header = checkHeader(record, delimiter);
        options.onHeader?.(header);
        continue;
      }
      row++;
      if (record.length !== header.length) {
        yield {
          kind: "rejection",
          row,
          line,
          reason: `row has ${record.length} fields but the header has ${header.length}`,
        };
        continue;
      }
      const values: Record<string, string> = {};
      for (let i = 0; i < header.length; i++) {
        const value = record[i] as string;
        if (value !== "") setField(values, header[i] as string, value);
      }
      yield { kind: "record", row, line, values };
    }
  } catch (error) {
    throw toInputFileError(error);
  } finally {
    parser.destroy();
  }
  if (!header) throw new InputFileError("EMPTY_FILE", "file is empty: expected a header row and data rows");
  if (row === 0) throw new InputFileError("HEADER_ONLY", "file has a header row but no data rows");
}

function lineBreaksWithin(record: string[]): number {
  let breaks = 0;
  for (const field of record) {
    if (field.includes("\n") || field.includes("\r")) breaks += field.match(/\r\n|\r|\n/g)?.length ?? 0;
  }
  return breaks;
}

function checkHeader(record: string[], delimiter: string): string[] {
  const names = record.map((name) => name.trim());
  if (names.length === 1) {
    const found = Object.keys(OTHER_DELIMITERS).find((d) => d !== delimiter && (names[0] as string).includes(d));
    if (found) {
      throw new InputFileError(
        "WRONG_DELIMITER",
        `header has a single column containing ${OTHER_DELIMITERS[found]} characters: the file looks ${OTHER_DELIMITERS[found]}-delimited, not ${OTHER_DELIMITERS[delimiter] ?? JSON.stringify(delimiter)}-delimited`,
        { line: 1 },
      );
    }
  }
  const blank = names.indexOf("");
  if (blank >= 0) throw new InputFileError("BAD_HEADER", `header column ${blank + 1} has no name`, { line: 1 });
  const seen = new Set<string>();
  for (const name of names) {
    if (seen.has(name)) throw new InputFileError("BAD_HEADER", `header names column "${name}" twice`, { line: 1 });
    seen.add(name);
  }
  return names;
}

const CSV_PROBLEMS: Record<string, string> = {
  CSV_QUOTE_NOT_CLOSED: "a quoted field is never closed",
  CSV_INVALID_CLOSING_QUOTE: "a closing quote is followed by something other than a delimiter or line end",
  CSV_NON_TRIMABLE_CHAR_AFTER_CLOSING_QUOTE:
    "a closing quote is followed by something other than a delimiter or line end",
  INVALID_OPENING_QUOTE: "a quote appears inside an unquoted field (quote the field and double the inner quotes)",
  CSV_MAX_RECORD_SIZE: "a record is longer than the limit (often an unterminated quote)",
  CSV_RECORD_INCONSISTENT_FIELDS_LENGTH: "a row has a different number of fields than the header",
};

function toInputFileError(error: unknown): unknown {
  if (error instanceof InputFileError) return error;
  if (error instanceof CsvError) {
    const csvError = error as CsvError & { lines?: number };
    // csv-parse messages quote the offending value (personal data): describe the problem by its code instead.
    const what = CSV_PROBLEMS[csvError.code] ?? csvError.code;
    return new InputFileError("MALFORMED_CSV", `malformed CSV near line ${csvError.lines}: ${what}`, {
      ...(csvError.lines !== undefined ? { line: csvError.lines } : {}),
    });
  }
  return error;
}
