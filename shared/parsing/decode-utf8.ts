import { InputFileError } from "./input-file-error.ts";

const UTF16_BOMS = [
  [0xff, 0xfe],
  [0xfe, 0xff],
];

const LINE_FEED = 0x0a;

/** Length of the UTF-8 sequence a lead byte starts, and the range its second byte must fall in (WHATWG rules). */
function sequenceOf(lead: number): { length: number; secondMin: number; secondMax: number } | undefined {
  if (lead <= 0x7f) return { length: 1, secondMin: 0, secondMax: 0 };
  if (lead >= 0xc2 && lead <= 0xdf) return { length: 2, secondMin: 0x80, secondMax: 0xbf };
  if (lead === 0xe0) return { length: 3, secondMin: 0xa0, secondMax: 0xbf };
  if (lead === 0xed) return { length: 3, secondMin: 0x80, secondMax: 0x9f };
  if (lead >= 0xe1 && lead <= 0xef) return { length: 3, secondMin: 0x80, secondMax: 0xbf };
  if (lead === 0xf0) return { length: 4, secondMin: 0x90, secondMax: 0xbf };
  if (lead >= 0xf1 && lead <= 0xf3) return { length: 4, secondMin: 0x80, secondMax: 0xbf };
  if (lead === 0xf4) return { length: 4, secondMin: 0x80, secondMax: 0x8f };
  return undefined;
}

/**
 * Where the first invalid sequence starts, or -1. A sequence cut off by the end of `bytes` is not invalid when
 * `final` is false (the next chunk completes it). Only run once the fast decoder has already failed.
 */
export function firstInvalidUtf8(bytes: Uint8Array, final: boolean): number {
  for (let i = 0; i < bytes.length;) {
    const sequence = sequenceOf(bytes[i]!);
    if (!sequence) return i;
    for (let k = 1; k < sequence.length; k++) {
      if (i + k >= bytes.length) return final ? i : -1;
      const byte = bytes[i + k]!;
      const [min, max] = k === 1 ? [sequence.secondMin, sequence.secondMax] : [0x80, 0xbf];
      if (byte < min || byte > max) return i;
    }
    i += sequence.length;
  }
  return -1;
}

/** Bytes at the end of a chunk that start a sequence the chunk does not finish (0–3). */
function incompleteTail(chunk: Uint8Array): number {
  for (let back = 1; back <= Math.min(3, chunk.length); back++) {
    const byte = chunk[chunk.length - back]!;
    if (byte < 0x80) return 0;
    if (byte >= 0xc0) return (sequenceOf(byte)?.length ?? 0) > back ? back : 0;
  }
  return 0;
}

function countLineFeeds(bytes: Uint8Array, end = bytes.length): number {
  let count = 0;
  for (let i = bytes.indexOf(LINE_FEED); i !== -1 && i < end; i = bytes.indexOf(LINE_FEED, i + 1)) count++;
  return count;
}

function notUtf8(byte: number, line: number, detail: string): InputFileError {
  return new InputFileError(
    "NOT_UTF8",
    `file is not valid UTF-8: ${detail} at line ${line} (byte ${byte}); save it as UTF-8 and drop it again`,
    { line, byte },
  );
}

/** A place in the input: bytes before it, and line feeds among them (for error messages' line numbers). */
export interface BytePosition {
  byte: number;
  lineFeeds: number;
}

/** Where the text last yielded came from in the input, for readers that checkpoint at a byte offset. */
export interface DecodedSpan {
  /** Input offset just past the bytes of the last text yielded (bytes of an unfinished sequence excluded). */
  endByte: number;
  /** Line feeds before the first byte of the last text yielded. */
  lineFeedsBefore: number;
}

export interface DecodeOptions {
  /** Decoding starts here, not at the file's start: no byte order mark is dropped and offsets count from it. */
  from?: BytePosition;
  /** Updated before each yield. */
  span?: DecodedSpan;
}

/**
 * Decodes a byte stream as strict UTF-8 (a UTF-8 BOM is dropped). Any invalid sequence rejects the file, naming
 * the line and byte offset of the first bad byte: guessing an encoding would silently corrupt names.
 */
export async function* decodeUtf8(
  chunks: AsyncIterable<Uint8Array>,
  options: DecodeOptions = {},
): AsyncGenerator<string> {
  // Mid-file, U+FEFF is data, not a byte order mark.
  const decoder = new TextDecoder("utf-8", { fatal: true, ignoreBOM: options.from !== undefined });
  let offset = options.from?.byte ?? 0;
  let lineFeeds = options.from?.lineFeeds ?? 0;
  let pending: Uint8Array = new Uint8Array(0);
  let first = options.from === undefined;
  const span = options.span;
  for await (const chunk of chunks) {
    if (first && chunk.length >= 2) {
      first = false;
      if (UTF16_BOMS.some(([a, b]) => chunk[0] === a && chunk[1] === b)) {
        throw new InputFileError("NOT_UTF8", "file starts with a UTF-16 byte order mark; save it as UTF-8", {
          line: 1,
          byte: 0,
        });
      }
    }
    let text: string;
    try {
      text = decoder.decode(chunk, { stream: true });
    } catch {
      // Locate the bad byte only now: the bytes carried over from the last chunk may start the broken sequence.
      const joined = Buffer.concat([pending, chunk]);
      const at = Math.max(0, firstInvalidUtf8(joined, false));
      throw notUtf8(offset - pending.length + at, lineFeeds + countLineFeeds(joined, at) + 1, "invalid byte sequence");
    }
    const lineFeedsBefore = lineFeeds;
    lineFeeds += countLineFeeds(chunk);
    offset += chunk.length;
    // A sequence may span several tiny chunks: look at the carried bytes and the end of this one together.
    const end = Buffer.concat([pending, chunk.subarray(Math.max(0, chunk.length - 3))]);
    const tail = incompleteTail(end);
    pending = end.slice(end.length - tail);
    if (text.length > 0) {
      if (span) {
        // Bytes carried over hold no line feed (they are a multi-byte sequence's start).
        span.endByte = offset - pending.length;
        span.lineFeedsBefore = lineFeedsBefore;
      }
      yield text;
    }
  }
  let rest: string;
  try {
    rest = decoder.decode();
  } catch {
    throw notUtf8(offset - pending.length, lineFeeds + 1, "truncated multi-byte sequence at the end of the file");
  }
  if (rest.length > 0) {
    if (span) {
      span.endByte = offset;
      span.lineFeedsBefore = lineFeeds;
    }
    yield rest;
  }
}
