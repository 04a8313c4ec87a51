// A split that runs out of time stops after a row and reads on, in a fresh invocation, from that row's end with a
// ranged GET. This property holds the reader to it: reading on from any row boundary it reports gives exactly the
// rows (and the error, if any) that reading the whole file gives after that row.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { type CsvCursor, type CsvPosition, readCsvRows } from "../../../shared/parsing/csv-rows.ts";
import { InputFileError } from "../../../shared/parsing/input-file-error.ts";
import type { SourceRow } from "../../../shared/parsing/source-row.ts";
import {
  chunkPlan,
  chunksOf,
  DELIMITERS,
  type DelimitedFormat,
  nearlyDelimitedText,
  streamOf,
} from "../../support/fuzz-arbitraries.ts";

interface Read {
  rows: SourceRow[];
  /** Where each row ends, as the cursor said right after the row was read. */
  positions: CsvPosition[];
  error?: { code: string; message: string };
}

async function readAll(chunks: Uint8Array[], delimiter: string, resume?: CsvPosition): Promise<Read> {
  const cursor: CsvCursor = {};
  const read: Read = { rows: [], positions: [] };
  try {
    for await (const row of readCsvRows(streamOf(chunks), { delimiter, cursor, ...(resume ? { resume } : {}) })) {
      read.rows.push(row);
      read.positions.push((cursor.at as () => CsvPosition)());
    }
  } catch (error) {
    if (!(error instanceof InputFileError)) throw error;
    read.error = { code: error.code, message: error.message };
  }
  return read;
}

const fileText = (format: DelimitedFormat) =>
  fc.tuple(fc.boolean(), nearlyDelimitedText(DELIMITERS[format])).map(([bom, text]) => (bom ? "\uFEFF" : "") + text);

describe("reading a delimited file on from a row boundary", () => {
  for (const format of ["csv", "tsv", "ssv"] as const) {
    it(`gives the same rows, line numbers and errors as one read, from every row boundary (${format})`, async () => {
      await fc.assert(
        fc.asyncProperty(fileText(format), chunkPlan, chunkPlan, async (text, plan, resumePlan) => {
          const bytes = new Uint8Array(Buffer.from(text, "utf8"));
          const whole = await readAll(chunksOf(bytes, plan), DELIMITERS[format]);
          for (let k = 0; k < whole.positions.length; k++) {
            const position = whole.positions[k] as CsvPosition;
            expect(position.row).toBe(k + 1);
            const rest = await readAll(
              chunksOf(bytes.subarray(position.byte), resumePlan),
              DELIMITERS[format],
              position,
            );
            expect(rest.rows).toEqual(whole.rows.slice(k + 1));
            expect(rest.error).toEqual(whole.error);
            expect(rest.positions).toEqual(whole.positions.slice(k + 1));
          }
        }),
        { numRuns: 300 },
      );
    });
  }

  it("names a bad byte after the resume point by its offset and line in the whole file", async () => {
    const text = Buffer.concat([
      Buffer.from('\uFEFFemail,name\r\na@x.io,"Zoë\r\nline 2"\r\nb@x.io,Bo\r\nc@x.io,', "utf8"),
      Buffer.from([0xc3, 0x28]),
      Buffer.from("\r\n", "utf8"),
    ]);
    // The bad byte comes in a later chunk, so rows before it are read first (as from a stream).
    const badAt = text.lastIndexOf(0xc3);
    const whole = await readAll([new Uint8Array(text.subarray(0, badAt)), new Uint8Array(text.subarray(badAt))], ",");
    expect(whole.error?.code).toBe("NOT_UTF8");
    const first = whole.positions[0] as CsvPosition;
    expect(first).toMatchObject({ row: 1, nextLine: 4, recordDelimiter: "crlf", header: ["email", "name"] });
    const rest = await readAll(
      [new Uint8Array(text.subarray(first.byte, badAt)), new Uint8Array(text.subarray(badAt))],
      ",",
      first,
    );
    expect(rest.rows).toEqual(whole.rows.slice(1));
    expect(rest.error).toEqual(whole.error);
    expect(rest.error?.message).toContain(`at line 5 (byte ${badAt})`);
  });
});
