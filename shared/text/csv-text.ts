/** Delimiters of Marketo's bulk formats. */
export const BULK_DELIMITERS = { csv: ",", tsv: "\t", ssv: ";" } as const;
export type BulkFormat = keyof typeof BULK_DELIMITERS;

/**
 * One RFC 4180 line: a field is quoted when it holds the delimiter, a quote, CR or LF (inner quotes doubled).
 * Integrations that quoted badly have corrupted names holding commas and newlines in Marketo; plain numbers too
 * (`5e+06` is refused).
 */
export function formatCsvLine(cells: readonly string[], delimiter: string): string {
  return `${formatCsvCells(cells, delimiter)}\n`;
}

/** The cells of one line, quoted as formatCsvLine quotes them, without the line break. */
export function formatCsvCells(cells: readonly string[], delimiter: string): string {
  return cells.map((cell) => quoteCell(cell, delimiter)).join(delimiter);
}

function quoteCell(cell: string, delimiter: string): string {
  const needsQuotes = cell.includes(delimiter) || cell.includes('"') || cell.includes("\n") || cell.includes("\r");
  return needsQuotes ? `"${cell.replace(/"/g, '""')}"` : cell;
}

/**
 * A JSON value as a CSV cell: numbers in plain notation (Marketo rejects `5e+21`), nested values refused.
 * Returns undefined for values a flat file cannot carry.
 */
export function cellText(value: unknown): string | undefined {
  if (value === null || value === undefined) return "";
  if (typeof value === "string") return value;
  if (typeof value === "boolean") return String(value);
  if (typeof value === "number") {
    if (!Number.isFinite(value)) return undefined;
    const text = String(value);
    return /e/i.test(text) ? value.toLocaleString("en-US", { useGrouping: false, maximumFractionDigits: 20 }) : text;
  }
  return undefined;
}
