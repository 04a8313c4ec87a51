import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { decodeUtf8, firstInvalidUtf8 } from "../../../shared/parsing/decode-utf8.ts";
import { InputFileError } from "../../../shared/parsing/input-file-error.ts";

async function* chunksOf(bytes: Uint8Array, size: number): AsyncGenerator<Uint8Array> {
  for (let i = 0; i < bytes.length; i += size) yield bytes.subarray(i, i + size);
}

async function decodeError(bytes: Uint8Array, chunkSize = 64 * 1024): Promise<InputFileError> {
  try {
    for await (const text of decodeUtf8(chunksOf(bytes, chunkSize))) void text;
  } catch (error) {
    if (error instanceof InputFileError) return error;
    throw error;
  }
  throw new Error("expected the file to be rejected");
}

describe("decodeUtf8 names the line and byte of the first bad byte", () => {
  const latin1 = Buffer.from("email,name\r\na@x.io,Zoë\nb@x.io,Jos\xe9\nc@x.io,Ann\n", "latin1");
  // Line 1 holds the header; "Zoë" in Latin-1 is one bad byte on line 2.
  const firstBad = latin1.indexOf(0xeb);

  it.each([1, 2, 3, 7, 64 * 1024])("with chunks of %i bytes", async (size) => {
    const error = await decodeError(latin1, size);
    expect(error.code).toBe("NOT_UTF8");
    expect(error.location).toEqual({ line: 2, byte: firstBad });
    expect(error.message).toBe(
      `file is not valid UTF-8: invalid byte sequence at line 2 (byte ${firstBad}); save it as UTF-8 and drop it again`,
    );
  });

  it("finds a sequence broken across a chunk boundary at its lead byte", async () => {
    const bytes = Buffer.concat([Buffer.from("a\nb\nc"), Buffer.from([0xe2, 0x82]), Buffer.from("x\n")]);
    for (const size of [1, 2, 5, 6, 100]) {
      expect((await decodeError(bytes, size)).location).toEqual({ line: 3, byte: 5 });
    }
  });

  it("reports a file cut in the middle of a character at its last line", async () => {
    const bytes = Buffer.concat([Buffer.from("a\nb\n"), Buffer.from([0xf0, 0x9f, 0x98])]);
    const error = await decodeError(bytes, 2);
    expect(error.location).toEqual({ line: 3, byte: 4 });
    expect(error.message).toMatch(/truncated multi-byte sequence at the end of the file at line 3/);
  });

  it("rejects overlong forms, surrogates and code points past U+10FFFF like TextDecoder", () => {
    for (const bad of [[0xc0, 0xaf], [0xe0, 0x80, 0xaf], [0xed, 0xa0, 0x80], [0xf4, 0x90, 0x80, 0x80], [0xff]]) {
      expect(firstInvalidUtf8(Uint8Array.from([0x41, ...bad]), true)).toBe(1);
    }
    expect(firstInvalidUtf8(Buffer.from("Größe 山田 🎉"), true)).toBe(-1);
  });

  it("agrees with the strict decoder on arbitrary bytes", () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 40 }), (bytes) => {
        let valid = true;
        try {
          new TextDecoder("utf-8", { fatal: true }).decode(bytes);
        } catch {
          valid = false;
        }
        expect(firstInvalidUtf8(bytes, true) === -1).toBe(valid);
      }),
      { seed: 20261201, numRuns: 2_000 },
    );
  });

  it("decodes valid text unchanged, whatever the chunking", async () => {
    const text = "email,name\nz@x.io,Größe 山田 🎉\n";
    for (const size of [1, 2, 3, 1024]) {
      let out = "";
      for await (const piece of decodeUtf8(chunksOf(Buffer.from(text), size))) out += piece;
      expect(out).toBe(text);
    }
  });
});
