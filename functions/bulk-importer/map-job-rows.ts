import { parse } from "csv-parse/sync";
import type { RowRanges } from "../../shared/contracts/batch-message.ts";
import type { RowIssue } from "../../shared/report/file-report.ts";

/**
 * Attributes the rows of a failures/warnings file to the original file's row numbers. Marketo echoes the submitted
 * columns in no guaranteed order, so rows are matched by content (every submitted value), then by the lookup
 * field; never by position. Identical rows are interchangeable, so taking them in part order is exact.
 */
export function mapJobRows(input: {
  partText: string;
  /** The rows Marketo sent back, with its reason column last. */
  issuesText: string;
  delimiter: string;
  /** Original row numbers of the part's rows, in part order. */
  partRows: RowRanges;
  lookupField?: string;
}): RowIssue[] {
  const [header = [], ...records] = parseAll(input.partText, input.delimiter);
  const original = expand(input.partRows);
  const byContent = new Map<string, number[]>();
  const byLookup = new Map<string, number[]>();
  const lookupIndex = input.lookupField ? header.indexOf(input.lookupField) : -1;
  records.forEach((record, position) => {
    push(byContent, JSON.stringify(record), position);
    if (lookupIndex >= 0) push(byLookup, (record[lookupIndex] ?? "").toLowerCase(), position);
  });
  const taken = new Set<number>();
  const take = (candidates: number[] | undefined): number | undefined => {
    while (candidates?.length) {
      const position = candidates.shift() as number;
      if (!taken.has(position)) {
        taken.add(position);
        return position;
      }
    }
    return undefined;
  };

  const [issueHeader = [], ...issues] = parseAll(input.issuesText, input.delimiter);
  // The reason is the column Marketo adds ("Import Failure Reason" / "Import Warning Reason"): the last one.
  const reasonIndex = issueHeader.length - 1;
  const columnOf = new Map(issueHeader.map((name, index) => [name, index]));
  return issues.map((issue) => {
    const reason = issue[reasonIndex]?.trim() || "no reason given by Marketo";
    const submitted = header.map((name) => issue[columnOf.get(name) ?? -1] ?? "");
    let position = take(byContent.get(JSON.stringify(submitted)));
    if (position === undefined && lookupIndex >= 0) {
      position = take(byLookup.get((submitted[lookupIndex] ?? "").toLowerCase()));
    }
    const row = position === undefined ? undefined : original[position];
    return row === undefined ? { reason } : { row, reason };
  });
}

function parseAll(text: string, delimiter: string): string[][] {
  return parse(text, { delimiter, bom: true, relax_column_count: true, skip_empty_lines: true }) as string[][];
}

function expand(ranges: RowRanges): number[] {
  const rows: number[] = [];
  for (const [from, to] of ranges) for (let row = from; row <= to; row++) rows.push(row);
  return rows;
}

function push(map: Map<string, number[]>, key: string, value: number): void {
  const list = map.get(key);
  if (list) list.push(value);
  else map.set(key, [value]);
}
