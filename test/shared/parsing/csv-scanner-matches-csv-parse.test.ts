// The hand-written CSV scanner replaced csv-parse in the reader for speed; this property holds it to the same
// answers. The oracle is the reader as it was built on csv-parse (BOM, relaxed column count, skipped empty lines,
// lines counted physically), run on the same nasty text, cut into the same random chunks.
import { CsvError, type InfoRecord, parse } from "csv-parse/sync";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { readCsvRows } from "../../../shared/parsing/csv-rows.ts";
import { InputFileError } from "../../../shared/parsing/input-file-error.ts";
import type { SourceRow } from "../../../shared/parsing/source-row.ts";
import { chunkPlan, chunksOf, nearlyDelimitedText, streamOf } from "../../support/fuzz-arbitraries.ts";

type Outcome = { rows: SourceRow[] } | { code: string; line: number | undefined; message?: string };

/**
 * The csv-parse reader this scanner replaced, kept as the reference for its row and line semantics. Records are
 * taken as csv-parse finishes them (on_record), so a header problem before a quoting error wins, as in a stream.
 */
function csvParseOutcome(text: string, delimiter: string): Outcome {
  const records: Array<{ record: string[]; emptyLines: number }> = [];
  let failure: Outcome | undefined;
  try {
    // The reader's UTF-8 decoder drops one BOM before csv-parse (bom: true) drops the next.
    parse(text.replace(/^\uFEFF/, ""), {
      delimiter,
      bom: true,
      relax_column_count: true,
      skip_empty_lines: true,
      on_record: (record: string[], context: InfoRecord) => {
        records.push({ record, emptyLines: context.empty_lines });
        return record;
      },
    });
  } catch (error) {
    if (!(error instanceof CsvError)) throw error;
    failure = { code: "MALFORMED_CSV", line: (error as CsvError & { lines?: number }).lines };
  }
  const rows: SourceRow[] = [];
  let header: string[] | undefined;
  let nextLine = 1;
  let emptyLinesSeen = 0;
  for (const { record, emptyLines } of records) {
    const line = nextLine + (emptyLines - emptyLinesSeen);
    nextLine = line + 1 + record.reduce((sum, field) => sum + (field.match(/\r\n|\r|\n/g)?.length ?? 0), 0);
    emptyLinesSeen = emptyLines;
    if (!header) {
      header = record.map((name) => name.trim());
      const only = header[0] as string;
      if (header.length === 1 && [",", ";", "\t", "|"].some((d) => d !== delimiter && only.includes(d)))
        return { code: "WRONG_DELIMITER", line: 1 };
      if (header.includes("") || new Set(header).size !== header.length) return { code: "BAD_HEADER", line: 1 };
      continue;
    }
    const row = rows.length + 1;
    if (record.length !== header.length) {
      const reason = `row has ${record.length} fields but the header has ${header.length}`;
      rows.push({ kind: "rejection", row, line, reason });
      continue;
    }
    const values: Record<string, string> = {};
    header.forEach((name, i) => {
      if (record[i] !== "")
        Object.defineProperty(values, name, { value: record[i], enumerable: true, writable: true, configurable: true });
    });
    rows.push({ kind: "record", row, line, values });
  }
  if (failure) return failure;
  if (!header) return { code: "EMPTY_FILE", line: undefined };
  if (rows.length === 0) return { code: "HEADER_ONLY", line: undefined };
  return { rows };
}

async function scannerOutcome(chunks: readonly Uint8Array[], delimiter: string): Promise<Outcome> {
  const rows: SourceRow[] = [];
  try {
    for await (const row of readCsvRows(streamOf(chunks), { delimiter })) rows.push(row);
    return { rows };
  } catch (error) {
    if (error instanceof InputFileError)
      return { code: error.code, line: error.location?.line, message: error.message };
    throw error;
  }
}

describe.each([",", "\t", ";"])("the CSV scanner reads like csv-parse (delimiter %j)", (delimiter) => {
  it("gives the same rows, row numbers and lines, or rejects the file for the same reason", async () => {
    const seen = { sameRows: 0, sameRejection: 0 };
    await fc.assert(
      fc.asyncProperty(nearlyDelimitedText(delimiter), chunkPlan, async (text, plan) => {
        const chunks = chunksOf(Buffer.from(text, "utf8"), plan);
        const expected = csvParseOutcome(text, delimiter);
        const actual = await scannerOutcome(chunks, delimiter);
        if ("rows" in expected) {
          expect(actual).toEqual(expected);
          seen.sameRows++;
        } else {
          expect("code" in actual && actual.code).toBe(expected.code);
          // csv-parse counts CRLF as two lines in its errors, and an unclosed quote at the end of the file; the
          // scanner counts physical lines and names the line where the unclosed field starts.
          if (!text.includes("\r") && expected.code === "MALFORMED_CSV" && "line" in actual) {
            if (/never closed/.test(actual.message ?? ""))
              expect(actual.line).toBeLessThanOrEqual(expected.line as number);
            else expect(actual.line).toBe(expected.line);
          }
          seen.sameRejection++;
        }
      }),
      { seed: 20_261_201, numRuns: 400 },
    );
    expect(seen.sameRows).toBeGreaterThan(50);
    expect(seen.sameRejection).toBeGreaterThan(20);
  });
});
