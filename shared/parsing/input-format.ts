import { createGunzip } from "node:zlib";
import { z } from "zod";
import { type CsvPosition, readCsvRows } from "./csv-rows.ts";
import { InputFileError } from "./input-file-error.ts";
import { type JsonArrayPosition, type NdjsonPosition, readJsonArrayRows, readNdjsonRows } from "./json-rows.ts";
import type { ReaderLimits } from "./reader-limits.ts";
import type { SourceRow } from "./source-row.ts";

export const InputFormatSchema = z.enum(["csv", "tsv", "ssv", "json", "ndjson"]);
export type InputFormat = z.infer<typeof InputFormatSchema>;

/** Delimiters as the Bulk Import docs name the formats: comma, tab, semicolon. */
const DELIMITERS = { csv: ",", tsv: "\t", ssv: ";" } as const;

const EXTENSIONS: Record<string, InputFormat> = {
  csv: "csv",
  tsv: "tsv",
  tab: "tsv",
  ssv: "ssv",
  json: "json",
  ndjson: "ndjson",
  jsonl: "ndjson",
};

/** The format a key's extension implies (`.gz` looked through), or undefined when it says nothing. */
export function formatFromKey(key: string): InputFormat | undefined {
  const name = key.toLowerCase().replace(/\.gz$/, "");
  const dot = name.lastIndexOf(".");
  return dot >= 0 ? EXTENSIONS[name.slice(dot + 1)] : undefined;
}

export function isGzipped(key: string, contentEncoding: string | undefined): boolean {
  return key.toLowerCase().endsWith(".gz") || /\bgzip\b/i.test(contentEncoding ?? "");
}

/** Zip-bomb guards; absent, inflation is unbounded (the file was accepted under them before). */
export interface InflateLimits {
  /** Most inflated bytes. */
  maxInflatedBytes: number;
  /** Most inflated bytes per compressed byte, applied once RATIO_FLOOR_BYTES have come out. */
  maxInflationRatio: number;
}

/** Below this much output a high ratio is harmless (a small, repetitive file), and a bomb has done no harm yet. */
export const RATIO_FLOOR_BYTES = 8 * 1024 * 1024;

/** Inflates a gzip byte stream; a corrupt stream, or one inflating past `limits`, rejects the file. */
export async function* gunzip(chunks: AsyncIterable<Uint8Array>, limits?: InflateLimits): AsyncGenerator<Uint8Array> {
  const inflater = createGunzip();
  // Bytes handed to the inflater, not yet all consumed: the ratio measured is at most the real one.
  let compressedIn = 0;
  let inflatedOut = 0;
  const feed = (async () => {
    try {
      for await (const chunk of chunks) {
        if (inflater.destroyed) break;
        compressedIn += chunk.length;
        if (!inflater.write(chunk)) {
          // A reader that stops early destroys the inflater: "drain" never comes, "close" does.
          await new Promise((resolve) => {
            inflater.once("drain", resolve);
            inflater.once("close", resolve);
          });
        }
      }
      if (!inflater.destroyed) inflater.end();
    } catch (error) {
      inflater.destroy(error as Error);
    }
  })();
  try {
    for await (const chunk of inflater) {
      inflatedOut += (chunk as Uint8Array).length;
      if (limits) checkInflation(inflatedOut, compressedIn, limits);
      yield chunk as Uint8Array;
    }
  } catch (error) {
    if (error instanceof InputFileError) throw error;
    throw new InputFileError("NOT_GZIP", "file is marked as gzip but is not valid gzip data");
  } finally {
    // Stops inflating at once: nothing past the limit is produced.
    inflater.destroy();
    await feed;
  }
}

function checkInflation(inflated: number, compressed: number, limits: InflateLimits): void {
  if (inflated > limits.maxInflatedBytes) {
    throw new InputFileError(
      "INFLATED_TOO_LARGE",
      `gzip file inflates to more than ${limits.maxInflatedBytes} bytes (MAX_INFLATED_BYTES); split it into smaller files`,
    );
  }
  if (inflated >= RATIO_FLOOR_BYTES && inflated > limits.maxInflationRatio * compressed) {
    throw new InputFileError(
      "INFLATION_RATIO",
      `gzip file inflates more than ${limits.maxInflationRatio}× (MAX_INFLATION_RATIO): ${compressed} bytes gave over ${inflated}; rejected as a likely zip bomb`,
    );
  }
}

const GZIP_MAGIC = [0x1f, 0x8b];

/**
 * Inflates the stream when it is gzip: declared so (`.gz`, `Content-Encoding`) or starting with gzip's magic
 * bytes, which no UTF-8 text can start with. A declared gzip file that is not gzip is rejected.
 */
export async function* inflateIfGzip(
  chunks: AsyncIterable<Uint8Array>,
  declared: boolean,
  limits?: InflateLimits,
  /** Told whether the stream is inflated, before its first byte is yielded. */
  onDecided?: (gzip: boolean) => void,
): AsyncGenerator<Uint8Array> {
  const iterator = chunks[Symbol.asyncIterator]();
  const head: Uint8Array[] = [];
  let length = 0;
  try {
    while (length < 2) {
      const next = await iterator.next();
      if (next.done) break;
      head.push(next.value);
      length += next.value.length;
    }
  } catch (error) {
    await iterator.return?.();
    throw error;
  }
  const first = Buffer.concat(head);
  async function* replay(): AsyncGenerator<Uint8Array> {
    if (first.length) yield first;
    for (let next = await iterator.next(); !next.done; next = await iterator.next()) yield next.value;
  }
  const magic = first.length >= 2 && first[0] === GZIP_MAGIC[0] && first[1] === GZIP_MAGIC[1];
  onDecided?.(magic || declared);
  try {
    if (magic || declared) yield* gunzip(replay(), limits);
    else yield* replay();
  } finally {
    // A consumer that stops early must still release the source (an unread S3 body holds a socket).
    await iterator.return?.();
  }
}

/** A row boundary of any input format: where a split can stop and read on, and where row marks point. */
export type ReaderPosition = CsvPosition | NdjsonPosition | JsonArrayPosition;

/** Where the row last yielded ends, in the reader's own terms (computed only when asked). */
export interface ReaderCursor {
  at?: () => ReaderPosition;
}

/**
 * Rows of a file in the given format, within the reader limits (defaults in reader-limits.ts); `onHeader` hears a
 * delimited file's column names (JSON has no header). With `cursor`, the reader tells where the row it last yielded
 * ends; with `resume` (a position of the same format), `chunks` start there and the reader reads on from it.
 */
export function readRows(
  chunks: AsyncIterable<Uint8Array>,
  format: InputFormat,
  options: {
    onHeader?: (columns: readonly string[]) => void;
    limits?: Partial<ReaderLimits>;
    cursor?: ReaderCursor;
    resume?: ReaderPosition;
  } = {},
): AsyncIterable<SourceRow> {
  const { limits, cursor, resume } = options;
  // Each reader only writes `at` (with its own kind of position): a ReaderCursor holds any of them.
  const common = { ...(limits ? { limits } : {}), ...(cursor ? { cursor: cursor as { at?: () => never } } : {}) };
  switch (format) {
    case "json":
      return readJsonArrayRows(chunks, { ...common, ...(resume ? { resume: positionOf(resume, "json") } : {}) });
    case "ndjson":
      return readNdjsonRows(chunks, { ...common, ...(resume ? { resume: positionOf(resume, "ndjson") } : {}) });
    default:
      return readCsvRows(chunks, {
        delimiter: DELIMITERS[format],
        ...(options.onHeader ? { onHeader: options.onHeader } : {}),
        ...common,
        ...(resume ? { resume: positionOf(resume, "delimited") } : {}),
      });
  }
}

type PositionKinds = { json: JsonArrayPosition; ndjson: NdjsonPosition; delimited: CsvPosition };

/** The position as the reader of `kind` needs it; one of another format is a programming error. */
function positionOf<K extends keyof PositionKinds>(position: ReaderPosition, kind: K): PositionKinds[K] {
  const found = "kind" in position ? position.kind : "delimited";
  if (found !== kind) throw new Error(`a ${found} position cannot resume a ${kind} reader`);
  return position as PositionKinds[K];
}
