import { InputFileError } from "./input-file-error.ts";

/**
 * What a reader holds in memory at once, bounded: a hostile or broken file (a million commas, an unterminated
 * quote, one 100 MB line) is rejected with the limit named instead of exhausting memory or string length.
 */
export interface ReaderLimits {
  /** Most columns in a header or a row. */
  maxColumns: number;
  /** Longest CSV/TSV/SSV field, in characters. */
  maxFieldChars: number;
  /** Longest record, in characters: a delimited row (all its lines), an NDJSON line, a JSON array element. */
  maxLineChars: number;
}

/**
 * A Data Ingestion request holds 1 MB and a bulk import file 10 MB: a field or record much longer than a request
 * can never be sent, so these bounds cost real files nothing.
 */
export const DEFAULT_READER_LIMITS: ReaderLimits = {
  maxColumns: 2_000,
  maxFieldChars: 1_000_000,
  maxLineChars: 2_000_000,
};

export function withDefaultLimits(limits: Partial<ReaderLimits> | undefined): ReaderLimits {
  return { ...DEFAULT_READER_LIMITS, ...limits };
}

export function tooManyColumns(limit: number, line: number): InputFileError {
  return new InputFileError(
    "TOO_MANY_COLUMNS",
    `line ${line} has more than ${limit} columns (limit MAX_COLUMNS); split the file or raise the limit`,
    { line },
  );
}

export function fieldTooLong(limit: number, line: number): InputFileError {
  return new InputFileError(
    "FIELD_TOO_LONG",
    `a field starting near line ${line} is longer than ${limit} characters (limit MAX_FIELD_CHARS; often an unterminated quote)`,
    { line },
  );
}

export function lineTooLong(limit: number, line: number, what: string): InputFileError {
  return new InputFileError(
    "LINE_TOO_LONG",
    `${what} starting at line ${line} is longer than ${limit} characters (limit MAX_LINE_CHARS)`,
    { line },
  );
}
