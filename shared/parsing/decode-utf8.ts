import { InputFileError } from "./input-file-error.ts";

const UTF16_BOMS = [
  [0xff, 0xfe],
  [0xfe, 0xff],
];

/**
 * Decodes a byte stream as strict UTF-8 (a UTF-8 BOM is dropped). Any invalid sequence rejects the file: guessing
 * an encoding would silently corrupt names.
 */
export async function* decodeUtf8(chunks: AsyncIterable<Uint8Array>): AsyncGenerator<string> {
  const decoder = new TextDecoder("utf-8", { fatal: true });
  let offset = 0;
  let first = true;
  for await (const chunk of chunks) {
    if (first && chunk.length >= 2) {
      first = false;
      if (UTF16_BOMS.some(([a, b]) => chunk[0] === a && chunk[1] === b)) {
        throw new InputFileError("NOT_UTF8", "file starts with a UTF-16 byte order mark; save it as UTF-8", {
          byte: 0,
        });
      }
    }
    let text: string;
    try {
      text = decoder.decode(chunk, { stream: true });
    } catch {
      throw new InputFileError(
        "NOT_UTF8",
        `file is not valid UTF-8 (invalid byte sequence within bytes ${offset}-${offset + chunk.length}); save it as UTF-8`,
        { byte: offset },
      );
    }
    offset += chunk.length;
    if (text.length > 0) yield text;
  }
  let tail: string;
  try {
    tail = decoder.decode();
  } catch {
    throw new InputFileError("NOT_UTF8", "file is not valid UTF-8 (truncated multi-byte sequence at its end)", {
      byte: offset,
    });
  }
  if (tail.length > 0) yield tail;
}
