// A JSON array or NDJSON file's split can stop after a row and read on, in a fresh invocation, from that row's end
// with a ranged GET. This property holds both readers to it: reading on from any row boundary they report gives
// exactly the rows (and the error, if any) that reading the whole file gives after that row.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { InputFileError } from "../../../shared/parsing/input-file-error.ts";
import { type ReaderCursor, type ReaderPosition, readRows } from "../../../shared/parsing/input-format.ts";
import type { SourceRow } from "../../../shared/parsing/source-row.ts";
import { chunkPlan, chunksOf, fileBytesFor, streamOf } from "../../support/fuzz-arbitraries.ts";

interface Read {
  rows: SourceRow[];
  /** Where each row ends, as the cursor said right after the row was read. */
  positions: ReaderPosition[];
  error?: { code: string; message: string };
}

async function readAll(
  chunks: Uint8Array[],
  format: "json" | "ndjson",
  resume?: ReaderPosition,
  maxLineChars?: number,
): Promise<Read> {
  const cursor: ReaderCursor = {};
  const read: Read = { rows: [], positions: [] };
  const limits = maxLineChars === undefined ? {} : { limits: { maxLineChars } };
  try {
    for await (const row of readRows(streamOf(chunks), format, { cursor, ...limits, ...(resume ? { resume } : {}) })) {
      read.rows.push(row);
      read.positions.push((cursor.at as () => ReaderPosition)());
    }
  } catch (error) {
    if (!(error instanceof InputFileError)) throw error;
    read.error = { code: error.code, message: error.message };
  }
  return read;
}

describe("reading a JSON array or NDJSON file on from a row boundary", () => {
  for (const format of ["json", "ndjson"] as const) {
    it(`gives the same rows, line numbers and errors as one read, from every row boundary (${format})`, async () => {
      // Now and then a tiny MAX_LINE_CHARS: lines rejected as too long (NDJSON) or a file rejected (JSON) either side
      // of a boundary.
      const maxLineChars = fc.option(fc.integer({ min: 1, max: 40 }), { nil: undefined });
      await fc.assert(
        fc.asyncProperty(
          fileBytesFor(format),
          chunkPlan,
          chunkPlan,
          maxLineChars,
          async (bytes, plan, resumePlan, max) => {
            const whole = await readAll(chunksOf(bytes, plan), format, undefined, max);
            for (let k = 0; k < whole.positions.length; k++) {
              const position = whole.positions[k] as ReaderPosition;
              expect(position).toMatchObject({ kind: format, row: k + 1 });
              const rest = await readAll(chunksOf(bytes.subarray(position.byte), resumePlan), format, position, max);
              expect(rest.rows).toEqual(whole.rows.slice(k + 1));
              expect(rest.error).toEqual(whole.error);
              expect(rest.positions).toEqual(whole.positions.slice(k + 1));
            }
          },
        ),
        { numRuns: 300 },
      );
    });
  }

  it("stands just past an NDJSON row's line feed, counting bytes of non-ASCII text and a BOM", async () => {
    const text = '\uFEFF{"email":"zoë@x.io"}\r\n\n{"email":"🎉@x.io"}\n{"email":"c@x.io"}';
    const bytes = new Uint8Array(Buffer.from(text, "utf8"));
    const whole = await readAll([bytes], "ndjson");
    expect(whole.positions).toEqual([
      { kind: "ndjson", byte: 3 + Buffer.byteLength('{"email":"zoë@x.io"}\r\n'), lineFeeds: 1, row: 1, nextLine: 2 },
      {
        kind: "ndjson",
        byte: bytes.length - Buffer.byteLength('{"email":"c@x.io"}'),
        lineFeeds: 3,
        row: 2,
        nextLine: 4,
      },
      { kind: "ndjson", byte: bytes.length, lineFeeds: 3, row: 3, nextLine: 4 },
    ]);
    // A rejected line keeps its line number when read on from a boundary before it.
    const broken = new Uint8Array(Buffer.from('{"email":"a@x.io"}\n\nnot json\n', "utf8"));
    const [first] = (await readAll([broken], "ndjson")).positions;
    const rest = await readAll([broken.subarray((first as ReaderPosition).byte)], "ndjson", first);
    expect(rest.rows).toEqual([{ kind: "rejection", row: 2, line: 3, reason: "line is not valid JSON" }]);
  });

  it("knows a JSON array's last element closed the array, so reading on from there expects only whitespace", async () => {
    const bytes = new Uint8Array(Buffer.from('[\n {"email":"a@x.io"},\n {"email":"b@x.io"}\n]\n', "utf8"));
    const whole = await readAll([bytes], "json");
    expect(whole.positions.map((p) => ("kind" in p && p.kind === "json" ? p.closed : undefined))).toEqual([
      false,
      true,
    ]);
    const last = whole.positions[1] as ReaderPosition;
    expect(last.byte).toBe(bytes.length - 1);
    const trailing = new Uint8Array(Buffer.from('[{"email":"a@x.io"}] x', "utf8"));
    const [end] = (await readAll([trailing], "json")).positions;
    const rest = await readAll([trailing.subarray((end as ReaderPosition).byte)], "json", end);
    expect(rest.error).toEqual({ code: "MALFORMED_JSON", message: "content after the end of the array" });
  });
});
