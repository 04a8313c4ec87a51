import { gzipSync } from "node:zlib";
import { describe, expect, it } from "vitest";
import { InputFileError } from "../../../shared/parsing/input-file-error.ts";
import {
  formatFromKey,
  gunzip,
  type InputFormat,
  inflateIfGzip,
  isGzipped,
  RATIO_FLOOR_BYTES,
  readRows,
} from "../../../shared/parsing/input-format.ts";

async function* chunksOf(bytes: Uint8Array, size = 5): AsyncGenerator<Uint8Array> {
  for (let i = 0; i < bytes.length; i += size) yield bytes.subarray(i, i + size);
}

async function collect<T>(items: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const item of items) out.push(item);
  return out;
}

const read = (text: string, format: InputFormat) => collect(readRows(chunksOf(Buffer.from(text)), format));

async function errorCode(promise: Promise<unknown>): Promise<string> {
  try {
    await promise;
  } catch (error) {
    if (error instanceof InputFileError) return error.code;
    throw error;
  }
  return "no error";
}

describe("input formats", () => {
  it.each([
    ["csv", "email,zip\na@x.io,04906\n"],
    ["tsv", "email\tzip\na@x.io\t04906\n"],
    ["ssv", "email;zip\na@x.io;04906\n"],
  ] as const)("%s keeps values as text", async (format, text) => {
    expect(await read(text, format)).toEqual([
      { kind: "record", row: 1, line: 2, values: { email: "a@x.io", zip: "04906" } },
    ]);
  });

  it("reads a JSON array element by element, keeping JSON types and dropping nulls", async () => {
    const text =
      '[\n {"email":"a@x.io","score":5,"vip":true,"note":"has ] and , and \\" inside"},\n {"email":"b@x.io","zip":null, "tags":[1,[2]]}\n]\n';
    expect(await read(text, "json")).toEqual([
      {
        kind: "record",
        row: 1,
        line: 2,
        values: { email: "a@x.io", score: 5, vip: true, note: 'has ] and , and " inside' },
      },
      { kind: "record", row: 2, line: 3, values: { email: "b@x.io", tags: [1, [2]] } },
    ]);
  });

  it("rejects a JSON element that is not an object alone", async () => {
    const rows = await read('[{"email":"a@x.io"}, 42, {"email":"b@x.io"}]', "json");
    expect(rows.map((r) => r.kind)).toEqual(["record", "rejection", "record"]);
  });

  it.each([
    ["not an array", '{"email":"a@x.io"}', "MALFORMED_JSON"],
    ["an unclosed array", '[{"email":"a@x.io"}', "MALFORMED_JSON"],
    ["a broken element", '[{"email":}]', "MALFORMED_JSON"],
    ["an empty array", "[ ]", "HEADER_ONLY"],
    ["an empty file", "", "EMPTY_FILE"],
    ["trailing content", '[{"a":1}] x', "MALFORMED_JSON"],
  ])("rejects a JSON file that is %s", async (_name, text, code) => {
    expect(await errorCode(read(text, "json"))).toBe(code);
  });

  it("reads NDJSON line by line and rejects a bad line alone", async () => {
    const rows = await read('{"email":"a@x.io"}\r\n\nnot json\n{"email":"c@x.io","n":1}', "ndjson");
    expect(rows).toEqual([
      { kind: "record", row: 1, line: 1, values: { email: "a@x.io" } },
      { kind: "rejection", row: 2, line: 3, reason: "line is not valid JSON" },
      { kind: "record", row: 3, line: 4, values: { email: "c@x.io", n: 1 } },
    ]);
    expect(await errorCode(read("\n\n", "ndjson"))).toBe("EMPTY_FILE");
  });

  it("names formats by extension, looking through .gz", () => {
    expect(formatFromKey("persons/a.TSV")).toBe("tsv");
    expect(formatFromKey("persons/a.ndjson.gz")).toBe("ndjson");
    expect(formatFromKey("persons/a.jsonl")).toBe("ndjson");
    expect(formatFromKey("persons/a.txt")).toBeUndefined();
    expect(isGzipped("persons/a.csv.gz", undefined)).toBe(true);
    expect(isGzipped("persons/a.csv", "gzip")).toBe(true);
    expect(isGzipped("persons/a.csv", undefined)).toBe(false);
  });

  it("inflates undeclared gzip by its magic bytes, passes text through, and holds declared gzip to its word", async () => {
    const text = "email\na@x.io\n";
    const inflated = async (bytes: Buffer, declared: boolean) =>
      Buffer.concat(await collect(inflateIfGzip(chunksOf(bytes, 1), declared))).toString("utf8");
    expect(await inflated(gzipSync(Buffer.from(text)), false)).toBe(text);
    expect(await inflated(gzipSync(Buffer.from(text)), true)).toBe(text);
    expect(await inflated(Buffer.from(text), false)).toBe(text);
    expect(await inflated(Buffer.from(""), false)).toBe("");
    expect(await errorCode(collect(inflateIfGzip(chunksOf(Buffer.from(text)), true)))).toBe("NOT_GZIP");
  });

  it("rejects a large gzip file that turns bad midway, without waiting on the rest of it", async () => {
    const rows = "a@x.io,Ann\n".repeat(200_000);
    const bytes = Buffer.concat([Buffer.from(`email,firstName\n${rows}`), Buffer.from([0xff]), Buffer.from(rows)]);
    const zipped = gzipSync(bytes);
    expect(await errorCode(collect(readRows(inflateIfGzip(chunksOf(zipped, 16 * 1024), true), "csv")))).toBe(
      "NOT_UTF8",
    );
  }, 10_000);

  it("releases its source when the reader stops early", async () => {
    let released = false;
    async function* source(): AsyncGenerator<Uint8Array> {
      try {
        for (;;) yield Buffer.from("email\n");
      } finally {
        released = true;
      }
    }
    for await (const _chunk of inflateIfGzip(source(), false)) break;
    expect(released).toBe(true);
  });

  it("inflates gzip, and rejects data that only claims to be gzip", async () => {
    const rows = await collect(readRows(gunzip(chunksOf(gzipSync(Buffer.from("email\na@x.io\n")), 3)), "csv"));
    expect(rows).toHaveLength(1);
    expect(await errorCode(collect(readRows(gunzip(chunksOf(Buffer.from("email\na@x.io\n"))), "csv")))).toBe(
      "NOT_GZIP",
    );
  });

  describe("zip-bomb guards", () => {
    /** Inflates under `limits`, counting what came out before the verdict. */
    async function inflateCounting(zipped: Buffer, limits: { maxInflatedBytes: number; maxInflationRatio: number }) {
      let inflated = 0;
      try {
        for await (const chunk of inflateIfGzip(chunksOf(zipped, 64 * 1024), true, limits)) inflated += chunk.length;
        return { inflated, code: undefined };
      } catch (error) {
        if (!(error instanceof InputFileError)) throw error;
        return { inflated, code: error.code, message: error.message };
      }
    }

    it("stops inflating a file that inflates beyond the ratio, and rejects it as a likely zip bomb", async () => {
      const bomb = gzipSync(Buffer.alloc(64 * 1024 * 1024, "a")); // ~64 KB in, 64 MiB out: ~1,000×
      const result = await inflateCounting(bomb, { maxInflatedBytes: 1024 ** 3, maxInflationRatio: 100 });
      expect(result.code).toBe("INFLATION_RATIO");
      expect(result.message).toContain("MAX_INFLATION_RATIO");
      // Stopped near the floor, not at the end of the stream.
      expect(result.inflated).toBeLessThan(2 * RATIO_FLOOR_BYTES);
    });

    it("stops at the inflated size limit, whatever the ratio", async () => {
      const text = Buffer.from("email,firstName\n" + "a@x.io,Ann\n".repeat(50_000)); // ~550 KB
      const result = await inflateCounting(gzipSync(text), { maxInflatedBytes: 100_000, maxInflationRatio: 100_000 });
      expect(result.code).toBe("INFLATED_TOO_LARGE");
      expect(result.message).toContain("MAX_INFLATED_BYTES");
      expect(result.inflated).toBeLessThanOrEqual(100_000);
    });

    it("inflates a file within both limits whole, however repetitive it is below the floor", async () => {
      const text = Buffer.from("a".repeat(RATIO_FLOOR_BYTES - 1));
      const result = await inflateCounting(gzipSync(text), {
        maxInflatedBytes: RATIO_FLOOR_BYTES,
        maxInflationRatio: 2,
      });
      expect(result).toEqual({ inflated: text.length, code: undefined });
    });
  });
});
