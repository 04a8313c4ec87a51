import { parse } from "csv-parse/sync";

/** The Bulk Import `format` values and the delimiter each one means. */
export const BULK_DELIMITERS = { csv: ",", tsv: "\t", ssv: ";" } as const;
export type BulkFormat = keyof typeof BULK_DELIMITERS;

/**
 * Reads delimited text as RFC 4180 records (every format uses double-quote quoting), keeping rows whose field
 * count differs from the header so the importer can report them, and skipping blank lines.
 */
export function readDelimited(text: string, delimiter: string): string[][] {
  return parse(text, { delimiter, relax_column_count: true, skip_empty_lines: true, bom: true });
}

/** Writes records with RFC 4180 quoting: a field holding the delimiter, a quote, CR or LF is quoted, quotes doubled. */
export function writeDelimited(rows: readonly (readonly string[])[], delimiter: string): string {
  const field = (value: string) =>
    value.includes(delimiter) || /["\r\n]/.test(value) ? `"${value.replaceAll('"', '""')}"` : value;
  return rows.map((row) => row.map(field).join(delimiter) + "\n").join("");
}
