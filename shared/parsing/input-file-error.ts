export type InputFileErrorCode =
  | "EMPTY_FILE"
  | "HEADER_ONLY"
  | "NOT_UTF8"
  | "MALFORMED_CSV"
  | "MALFORMED_JSON"
  | "NOT_GZIP"
  | "FILE_TOO_LARGE"
  | "INFLATED_TOO_LARGE"
  | "INFLATION_RATIO"
  | "MISSING_COLUMN"
  | "BAD_HEADER"
  | "WRONG_DELIMITER"
  | "UNKNOWN_OBJECT_TYPE"
  | "INVALID_OPTIONS"
  | "TOO_MANY_COLUMNS"
  | "FIELD_TOO_LONG"
  | "LINE_TOO_LONG"
  | "UNKNOWN_FIELD";

/** A problem with the file as a whole: it is rejected with this reason and nothing of it is sent. */
export class InputFileError extends Error {
  override readonly name = "InputFileError";

  constructor(
    readonly code: InputFileErrorCode,
    message: string,
    readonly location?: { line?: number; byte?: number },
  ) {
    super(message);
  }
}
