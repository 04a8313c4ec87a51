import { describe, expect, it } from "vitest";
import { readCsvRows } from "../../../shared/parsing/csv-rows.ts";
import { InputFileError } from "../../../shared/parsing/input-file-error.ts";
import type { SourceRow } from "../../../shared/parsing/source-row.ts";

async function* chunksOf(bytes: Uint8Array, size = 7): AsyncGenerator<Uint8Array> {
  for (let i = 0; i < bytes.length; i += size) yield bytes.subarray(i, i + size);
}

async function rows(text: string | Uint8Array, chunkSize?: number): Promise<SourceRow[]> {
  const bytes = typeof text === "string" ? Buffer.from(text, "utf8") : text;
  const out: SourceRow[] = [];
  for await (const row of readCsvRows(chunksOf(bytes, chunkSize))) out.push(row);
  return out;
}

async function fileError(text: string | Uint8Array): Promise<InputFileError> {
  try {
    await rows(text);
  } catch (error) {
    if (error instanceof InputFileError) return error;
    throw error;
  }
  throw new Error("expected the file to be rejected");
}

describe("readCsvRows", () => {
  it("reads quoted commas, doubled quotes, embedded newlines and CRLF, numbering rows and lines", async () => {
    const result = await rows(
      'email,name,notes\r\n"a@x.io","Doe, Jane","said ""hi""\r\nthen left"\r\nb@x.io,Zoë,plain\r\n',
    );
    expect(result).toEqual([
      {
        kind: "record",
        row: 1,
        line: 2,
        values: { email: "a@x.io", name: "Doe, Jane", notes: 'said "hi"\r\nthen left' },
      },
      { kind: "record", row: 2, line: 4, values: { email: "b@x.io", name: "Zoë", notes: "plain" } },
    ]);
  });

  it("drops a UTF-8 BOM, even split across chunks, and keeps multi-byte characters whole", async () => {
    const result = await rows(Buffer.from("\uFEFFemail,name\n山田@x.io,Łukasz\n", "utf8"), 1);
    expect(result).toEqual([{ kind: "record", row: 1, line: 2, values: { email: "山田@x.io", name: "Łukasz" } }]);
  });

  it("keeps a column named __proto__ as a field (an assignment would swallow it)", async () => {
    const [row] = await rows("email,__proto__\na@x.io,hello\n");
    expect(row?.kind === "record" && Object.entries(row.values)).toEqual([
      ["email", "a@x.io"],
      ["__proto__", "hello"],
    ]);
  });

  it("leaves empty cells out and keeps values as text (leading zeros stay)", async () => {
    const result = await rows("email,postalCode,phone\na@x.io,04906,\n");
    expect(result[0]).toMatchObject({ values: { email: "a@x.io", postalCode: "04906" } });
    expect(result[0]?.kind === "record" && "phone" in result[0].values).toBe(false);
  });

  it("rejects a row with the wrong number of fields alone and goes on", async () => {
    const result = await rows("email,name\na@x.io,A\nb@x.io\nc@x.io,C\n");
    expect(result.map((r) => r.kind)).toEqual(["record", "rejection", "record"]);
    expect(result[1]).toEqual({ kind: "rejection", row: 2, line: 3, reason: "row has 1 fields but the header has 2" });
  });

  it("counts lines across skipped blank lines", async () => {
    const result = await rows("email\n\na@x.io\n\n\nb@x.io\n");
    expect(result.map((r) => r.line)).toEqual([3, 6]);
  });

  it.each([
    ["an empty file", "", "EMPTY_FILE"],
    ["a header-only file", "email,name\r\n", "HEADER_ONLY"],
    ["an unclosed quote", 'email,name\na@x.io,"Doe\n', "MALFORMED_CSV"],
    ["a stray quote in an unquoted field", 'email,name\na@x.io,Do"e"x\n', "MALFORMED_CSV"],
    ["a semicolon-delimited file", "email;name\na@x.io;A\n", "WRONG_DELIMITER"],
    ["a tab-delimited file", "email\tname\na@x.io\tA\n", "WRONG_DELIMITER"],
    ["a header with an empty name", "email,,name\na,b,c\n", "BAD_HEADER"],
    ["a header naming a column twice", "email,email\na,b\n", "BAD_HEADER"],
  ])("rejects %s as a whole", async (_name, text, code) => {
    expect((await fileError(text)).code).toBe(code);
  });

  it("rejects non-UTF-8 bytes (Latin-1) with the byte offset", async () => {
    const error = await fileError(Buffer.from("email,name\na@x.io,Jos\xe9\n", "latin1"));
    expect(error.code).toBe("NOT_UTF8");
    expect(error.message).toMatch(/not valid UTF-8/);
  });

  it("rejects a UTF-16 file by its byte order mark", async () => {
    const error = await fileError(Buffer.from("\uFEFFemail\na@x.io\n", "utf16le"));
    expect(error.code).toBe("NOT_UTF8");
    expect(error.message).toMatch(/UTF-16/);
  });

  it("never puts the offending value into a malformed-CSV message (it is personal data)", async () => {
    const error = await fileError('email,name\nsecret@x.io,Jo"hn Secretname\n');
    expect(error.message).not.toMatch(/Secretname|secret@x\.io/);
    expect(error.location?.line).toBe(2);
  });

  describe("its source", () => {
    /** An endless file of rows, or one that turns malformed after `goodRows`; says whether it was released. */
    function source(goodRows = Number.POSITIVE_INFINITY) {
      const state = { released: false, chunksRead: 0 };
      async function* chunks(): AsyncGenerator<Uint8Array> {
        try {
          yield Buffer.from("email,name\n");
          for (let i = 0; ; i++) {
            state.chunksRead++;
            yield Buffer.from(i < goodRows ? `p${i}@x.io,P${i}\n` : 'bad"quote,x\n');
          }
        } finally {
          state.released = true;
        }
      }
      return { state, chunks: chunks() };
    }

    it("is released when the consumer stops early, and read no further than the rows taken", async () => {
      const { state, chunks } = source();
      let taken = 0;
      for await (const _row of readCsvRows(chunks)) if (++taken === 3) break;
      expect(state.released).toBe(true);
      expect(state.chunksRead).toBeLessThanOrEqual(4);
    });

    it("is released when the file is rejected midway, after the rows finished before the error", async () => {
      const { state, chunks } = source(5);
      const seen: SourceRow[] = [];
      const failure = await (async () => {
        try {
          for await (const row of readCsvRows(chunks)) seen.push(row);
        } catch (error) {
          return error;
        }
      })();
      expect(failure).toBeInstanceOf(InputFileError);
      expect((failure as InputFileError).code).toBe("MALFORMED_CSV");
      expect(seen.map((row) => row.row)).toEqual([1, 2, 3, 4, 5]);
      expect(state.released).toBe(true);
    });
  });
});
