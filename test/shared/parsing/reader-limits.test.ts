import { describe, expect, it } from "vitest";
import { InputFileError } from "../../../shared/parsing/input-file-error.ts";
import { type InputFormat, readRows } from "../../../shared/parsing/input-format.ts";
import type { ReaderLimits } from "../../../shared/parsing/reader-limits.ts";
import type { SourceRow } from "../../../shared/parsing/source-row.ts";

async function* chunksOf(text: string, size: number): AsyncGenerator<Uint8Array> {
  const bytes = Buffer.from(text, "utf8");
  for (let i = 0; i < bytes.length; i += size) yield bytes.subarray(i, i + size);
}

async function read(
  text: string,
  format: InputFormat,
  limits?: Partial<ReaderLimits>,
  chunkSize = 4096,
): Promise<SourceRow[]> {
  const rows: SourceRow[] = [];
  for await (const row of readRows(chunksOf(text, chunkSize), format, limits ? { limits } : {})) rows.push(row);
  return rows;
}

async function fileError(text: string, format: InputFormat, limits?: Partial<ReaderLimits>): Promise<InputFileError> {
  try {
    await read(text, format, limits);
  } catch (error) {
    if (error instanceof InputFileError) return error;
    throw error;
  }
  throw new Error("expected the file to be rejected");
}

describe("reader limits", () => {
  it("rejects a header with more columns than MAX_COLUMNS, naming the limit and the line", async () => {
    const error = await fileError("a,b,c,d\n1,2,3,4\n", "csv", { maxColumns: 3 });
    expect(error).toMatchObject({ code: "TOO_MANY_COLUMNS", location: { line: 1 } });
    expect(error.message).toMatch(/more than 3 columns \(limit MAX_COLUMNS\)/);
  });

  it("rejects a row of a million delimiters without building a million fields", async () => {
    const error = await fileError(`email,name\na@x.io,A\n${",".repeat(1_000_000)}\n`, "csv");
    expect(error).toMatchObject({ code: "TOO_MANY_COLUMNS", location: { line: 3 } });
  });

  it("reads a file within every limit unchanged", async () => {
    const rows = await read('a,b,c\n1,"x\ny",3\n', "csv", { maxColumns: 3, maxFieldChars: 3, maxLineChars: 20 });
    expect(rows).toEqual([{ kind: "record", row: 1, line: 2, values: { a: "1", b: "x\ny", c: "3" } }]);
  });

  it("rejects an unterminated quote once the open field passes MAX_FIELD_CHARS, not at the end of the file", async () => {
    const endless = `email,notes\na@x.io,"${"spam ".repeat(200_000)}`;
    const error = await fileError(endless, "csv", { maxFieldChars: 10_000 });
    expect(error).toMatchObject({ code: "FIELD_TOO_LONG", location: { line: 2 } });
    expect(error.message).toMatch(/longer than 10000 characters \(limit MAX_FIELD_CHARS/);
  });

  it("rejects a CSV row longer than MAX_LINE_CHARS even when each field is short", async () => {
    const wide = Array.from({ length: 50 }, () => "x".repeat(100)).join(",");
    const header = Array.from({ length: 50 }, (_, i) => `c${i}`).join(",");
    const error = await fileError(`${header}\n${wide}\n`, "csv", { maxLineChars: 2_000 });
    expect(error).toMatchObject({ code: "LINE_TOO_LONG", location: { line: 2 } });
  });

  it("rejects an NDJSON line longer than MAX_LINE_CHARS alone and reads the next line", async () => {
    const long = JSON.stringify({ email: "b@x.io", notes: "n".repeat(5_000) });
    const rows = await read(
      `{"email":"a@x.io"}\n${long}\n{"email":"c@x.io"}\n`,
      "ndjson",
      { maxLineChars: 1_000 },
      700,
    );
    expect(rows).toEqual([
      { kind: "record", row: 1, line: 1, values: { email: "a@x.io" } },
      {
        kind: "rejection",
        row: 2,
        line: 2,
        reason: "line is longer than 1000 characters (limit MAX_LINE_CHARS)",
      },
      { kind: "record", row: 3, line: 3, values: { email: "c@x.io" } },
    ]);
  });

  it("reads a 16 MiB NDJSON line arriving in 4 KiB chunks in linear time", async () => {
    // Searching the whole pending line for its end at every chunk made this quadratic: minutes for 4,096 chunks.
    const notes = "n".repeat(16 * 1024 * 1024);
    const started = performance.now();
    const rows = await read(`{"email":"a@x.io","notes":"${notes}"}\n{"email":"b@x.io"}\n`, "ndjson", {
      maxLineChars: 20_000_000,
    });
    const seconds = (performance.now() - started) / 1000;
    expect(rows.map((row) => row.kind === "record" && (row.values.notes as string | undefined)?.length)).toEqual([
      notes.length,
      undefined,
    ]);
    expect(seconds).toBeLessThan(8);
  }, 20_000);

  it("rejects a JSON array element past MAX_LINE_CHARS instead of growing it until V8 throws a RangeError", async () => {
    const huge = `[{"email":"a@x.io"},\n{"email":"b@x.io","notes":"${"n".repeat(3_000_000)}"}]`;
    const error = await fileError(huge, "json");
    expect(error).toMatchObject({ code: "LINE_TOO_LONG", location: { line: 2 } });
    expect(error.message).toMatch(/an array element starting at line 2 is longer than 2000000 characters/);
  });
});
