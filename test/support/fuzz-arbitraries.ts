// Generators for the property-based fuzz tests (fuzz-parse-pack.test.ts): nasty input text, random chunk
// boundaries, and random-but-known tables written out as CSV/TSV/SSV/JSON/NDJSON files.
import fc from "fast-check";
import type { InputFormat } from "../../shared/parsing/input-format.ts";

export const FORMATS = ["csv", "tsv", "ssv", "json", "ndjson"] as const satisfies readonly InputFormat[];
export const DELIMITERS = { csv: ",", tsv: "\t", ssv: ";" } as const;
export type DelimitedFormat = keyof typeof DELIMITERS;

/** Characters that break naive CSV handling: every delimiter, quotes, every line break, BOM, NUL, multi-byte. */
export const NASTY_CHARS = [",", ";", "\t", '"', "\r", "\n", " ", "a", "é", "🎉", "\uFEFF", "\u0000"] as const;
const SAFE_CHARS = [" ", "a", "é", "🎉", "\uFEFF", "\u0000"] as const;
const JSON_TOKENS = ["{", "}", "[", "]", ":", ",", '"', "\\", '"k"', "1", "null", "\n", " ", "é", "🎉"] as const;

const textOf = (chars: readonly string[], maxLength: number) =>
  fc.array(fc.constantFrom(...chars), { maxLength }).map((parts) => parts.join(""));

const quoted = (text: string) => `"${text.replaceAll('"', '""')}"`;

/** Raw text over the nasty alphabet: mostly not a valid file at all. */
export const nastyText = textOf(NASTY_CHARS, 120);

/** A cell written as a file might hold it: quoted nasty text, unquoted safe text, or unquoted nasty text. */
const rawCell = fc.oneof(
  { weight: 3, arbitrary: textOf(NASTY_CHARS, 6).map(quoted) },
  { weight: 4, arbitrary: textOf(SAFE_CHARS, 6) },
  { weight: 1, arbitrary: textOf(NASTY_CHARS, 4) },
);

/**
 * Text that is nearly a delimited file: a header of distinct names (sometimes not), then lines of cells that are
 * sometimes ragged, sometimes badly quoted, separated by LF, CRLF or CR, with or without a final line break.
 */
export const nearlyDelimitedText = (delimiter: string) =>
  fc
    .record({
      header: fc.oneof(
        {
          weight: 4,
          arbitrary: fc.uniqueArray(fc.constantFrom("email", "a", "é", "🎉 x", "b c"), { minLength: 1, maxLength: 4 }),
        },
        { weight: 1, arbitrary: fc.array(rawCell, { minLength: 1, maxLength: 3 }) },
      ),
      lines: fc.array(fc.array(rawCell, { minLength: 1, maxLength: 4 }), { maxLength: 8 }),
      eol: fc.constantFrom("\n", "\r\n", "\r"),
      finalEol: fc.boolean(),
    })
    .map(
      ({ header, lines, eol, finalEol }) =>
        [header, ...lines].map((cells) => cells.join(delimiter)).join(eol) + (finalEol ? eol : ""),
    );

const jsonScalar = fc.oneof(
  fc.string({ unit: fc.constantFrom(...NASTY_CHARS, "x"), maxLength: 6 }),
  fc.integer(),
  fc.boolean(),
  fc.constant(null),
);
const jsonElement = fc.oneof(
  { weight: 4, arbitrary: fc.dictionary(fc.constantFrom("email", "a", "é", "b c"), jsonScalar, { maxKeys: 3 }) },
  { weight: 1, arbitrary: fc.jsonValue({ maxDepth: 2 }) },
);

/** Inserts and deletes a few JSON tokens at random places (by code point, so the text stays valid Unicode). */
const mutated = (text: fc.Arbitrary<string>) =>
  fc
    .tuple(
      text,
      fc.array(fc.record({ at: fc.nat(), remove: fc.nat({ max: 2 }), insert: fc.constantFrom("", ...JSON_TOKENS) }), {
        maxLength: 3,
      }),
    )
    .map(([source, edits]) => {
      const points = Array.from(source);
      for (const { at, remove, insert } of edits) points.splice(at % (points.length + 1), remove, insert);
      return points.join("");
    });

/** A JSON array of (mostly) objects, pretty or compact, sometimes mutated into something invalid. */
export const nearlyJsonArrayText = fc.oneof(
  {
    weight: 3,
    arbitrary: fc
      .tuple(fc.array(jsonElement, { maxLength: 6 }), fc.constantFrom(undefined, 2, "\t"))
      .map(([elements, indent]) => JSON.stringify(elements, null, indent)),
  },
  {
    weight: 2,
    arbitrary: mutated(fc.array(jsonElement, { maxLength: 6 }).map((elements) => JSON.stringify(elements))),
  },
  { weight: 1, arbitrary: textOf(JSON_TOKENS, 40) },
);

/** One JSON value per line (LF or CRLF, blank lines here and there), sometimes mutated. */
export const nearlyNdjsonText = fc.oneof(
  {
    weight: 3,
    arbitrary: fc
      .tuple(fc.array(fc.oneof(jsonElement, fc.constant("")), { maxLength: 8 }), fc.constantFrom("\n", "\r\n"))
      .map(([lines, eol]) => lines.map((line) => (line === "" ? "" : JSON.stringify(line))).join(eol)),
  },
  {
    weight: 2,
    arbitrary: mutated(
      fc.array(jsonElement, { maxLength: 6 }).map((lines) => lines.map((line) => JSON.stringify(line)).join("\n")),
    ),
  },
  { weight: 1, arbitrary: textOf(JSON_TOKENS, 40) },
);

/** Text shaped for the format (nearly valid), or raw nasty text; sometimes led by a UTF-8 BOM. */
export const fileBytesFor = (format: InputFormat): fc.Arbitrary<Uint8Array> => {
  const shaped =
    format === "json"
      ? nearlyJsonArrayText
      : format === "ndjson"
        ? nearlyNdjsonText
        : nearlyDelimitedText(DELIMITERS[format]);
  return fc
    .tuple(fc.boolean(), fc.oneof({ weight: 3, arbitrary: shaped }, { weight: 1, arbitrary: nastyText }))
    .map(([bom, text]) => new Uint8Array(Buffer.from((bom ? "\uFEFF" : "") + text, "utf8")));
};

/** How a byte stream is cut into chunks: fixed small sizes (down to single bytes) or random cut points. */
export type ChunkPlan = { every: number } | { cuts: number[] };
export const chunkPlan: fc.Arbitrary<ChunkPlan> = fc.oneof(
  fc.record({ every: fc.integer({ min: 1, max: 7 }) }),
  fc.record({ cuts: fc.array(fc.nat({ max: 1_000_000 }), { minLength: 1, maxLength: 12 }) }),
);

/** Fixed-size chunking stops at this many chunks (larger chunks for large files), to keep runs fast. */
const MAX_FIXED_CHUNKS = 400;

/** The chunks of `bytes` under a plan; random cut points may repeat, which yields empty chunks too. */
export function chunksOf(bytes: Uint8Array, plan: ChunkPlan): Uint8Array[] {
  let cuts: number[];
  if ("every" in plan) {
    const size = Math.max(plan.every, Math.ceil(bytes.length / MAX_FIXED_CHUNKS));
    cuts = Array.from({ length: Math.ceil(bytes.length / size) }, (_, i) => i * size).slice(1);
  } else {
    cuts = plan.cuts.map((cut) => cut % (bytes.length + 1)).sort((a, b) => a - b);
  }
  const bounds = [0, ...cuts, bytes.length];
  return bounds.slice(1).map((end, i) => bytes.subarray(bounds[i] as number, end));
}

/** True when a chunk boundary falls inside a multi-byte UTF-8 character (before a continuation byte). */
export function splitsACharacter(chunks: readonly Uint8Array[]): boolean {
  return chunks.some((chunk, i) => i > 0 && chunk.length > 0 && ((chunk[0] as number) & 0xc0) === 0x80);
}

export async function* streamOf(chunks: readonly Uint8Array[]): AsyncGenerator<Uint8Array> {
  for (const chunk of chunks) yield chunk;
}

// ---------------------------------------------------------------------------------------------------------------
// Tables: rows the test knows, written out in a file format, so what comes out can be checked against them.

/** One generated row: its cells in header order, or a row that must be rejected alone (wrong field count). */
export type TableRow = { cells: string[]; ragged: false } | { cells: string[]; ragged: true };

export interface Table {
  header: string[];
  rows: TableRow[];
}

/** Large cells: a single character repeated, so some rows exceed any small request and some fill one up. */
const hugeCell = fc
  .tuple(fc.constantFrom("x", "é", "🎉", '"', "\n", "\uFFFF"), fc.integer({ min: 100, max: 6_000 }))
  .map(([char, times]) => char.repeat(times));

/** Cell text: empty, nasty, any Unicode, non-characters SQS refuses raw, and now and then huge. */
export const cellText = fc.oneof(
  { weight: 3, arbitrary: fc.constant("") },
  {
    weight: 6,
    arbitrary: fc.string({ unit: fc.constantFrom(...NASTY_CHARS, "x", "Z", "\uFFFE", "\uFFFF"), maxLength: 12 }),
  },
  { weight: 3, arbitrary: fc.string({ unit: "grapheme", maxLength: 8 }) },
  { weight: 1, arbitrary: hugeCell },
);

export interface ColumnSpec {
  name: string;
  cell: fc.Arbitrary<string>;
}

/** Rows for the given columns; about one in eight has a wrong number of fields. */
export function tableOf(columns: readonly ColumnSpec[], maxRows = 40): fc.Arbitrary<Table> {
  const width = columns.length;
  const goodRow = fc.tuple(...columns.map((column) => column.cell)).map((cells) => ({ cells, ragged: false as const }));
  const raggedRow = fc
    .tuple(
      fc.constantFrom(1, width + 1, width + 2).filter((n) => n !== width),
      fc.array(cellText, { maxLength: 8 }),
    )
    .map(([count, pool]) => {
      const cells = Array.from({ length: count }, (_, i) => pool[i] ?? "");
      // A single empty field is a blank line, which files may hold anywhere: not a row at all.
      if (count === 1 && cells[0] === "") cells[0] = "z";
      return { cells, ragged: true as const };
    });
  return fc
    .array(fc.oneof({ weight: 7, arbitrary: goodRow }, { weight: 1, arbitrary: raggedRow }), {
      minLength: 1,
      maxLength: maxRows,
      size: "medium",
    })
    .map((rows) => ({ header: columns.map((column) => column.name), rows }));
}

const EXTRA_COLUMNS = ["firstName", "lastName", "company", "notes", "zip", "é名", "a,b", 'say "hi"', "two words", "🎉"];

/** Person-like tables: an `email` column (often valid, sometimes blank or odd) among 1..4 other columns. */
export const personTable = (maxRows = 40): fc.Arbitrary<Table> =>
  fc
    .tuple(fc.uniqueArray(fc.constantFrom(...EXTRA_COLUMNS), { minLength: 1, maxLength: 4 }), fc.nat())
    .chain(([others, at]) => {
      const email = fc.oneof(
        { weight: 6, arbitrary: fc.nat({ max: 999 }).map((n) => `p${n}@example.com`) },
        { weight: 2, arbitrary: fc.constant("") },
        { weight: 1, arbitrary: fc.constant("  ") },
        { weight: 1, arbitrary: cellText },
      );
      const columns: ColumnSpec[] = others.map((name) => ({ name, cell: cellText }));
      columns.splice(at % (others.length + 1), 0, { name: "email", cell: email });
      return tableOf(columns, maxRows);
    });

/** How a table is written: format, line breaks, quoting of plain cells, BOM. */
export interface Layout {
  format: InputFormat;
  /** Line break; a lone CR (old Mac) is written as CRLF in NDJSON, where only LF ends a line. */
  eol: "\n" | "\r\n" | "\r";
  finalEol: boolean;
  quoteAll: boolean;
  bom: boolean;
}

export const layoutOf = (formats: readonly InputFormat[] = FORMATS): fc.Arbitrary<Layout> =>
  fc.record({
    format: fc.constantFrom(...formats),
    eol: fc.constantFrom("\n" as const, "\r\n" as const, "\r" as const),
    finalEol: fc.boolean(),
    quoteAll: fc.boolean(),
    bom: fc.boolean(),
  });

/** Non-objects stand in for ragged rows in JSON inputs: each is rejected alone. */
const NOT_OBJECTS = ["[1,2]", '"text"', "42", "true", "null"];

/** Writes a table as a file; cells that need quoting are quoted (RFC 4180), others when `quoteAll`. */
export function writeTable(table: Table, layout: Layout): Uint8Array {
  const { format, finalEol, quoteAll, bom } = layout;
  const eol = format === "ndjson" && layout.eol === "\r" ? "\r\n" : layout.eol;
  let text: string;
  if (format === "json" || format === "ndjson") {
    const elements = table.rows.map((row, i) =>
      row.ragged
        ? (NOT_OBJECTS[i % NOT_OBJECTS.length] as string)
        : JSON.stringify(Object.fromEntries(table.header.map((name, j) => [name, row.cells[j]]))),
    );
    text = format === "json" ? `[${eol}${elements.join(`,${eol}`)}${eol}]` : elements.join(eol);
  } else {
    const delimiter = DELIMITERS[format];
    const cell = (value: string) =>
      quoteAll || /["\r\n]/.test(value) || value.includes(delimiter) ? quoted(value) : value;
    // A lone empty cell would be a blank line (skipped, not a row): quote it.
    const line = (cells: string[]) => (cells.length === 1 && cells[0] === "" ? '""' : cells.map(cell).join(delimiter));
    text = [table.header, ...table.rows.map((row) => row.cells)].map(line).join(eol);
  }
  return new Uint8Array(Buffer.from((bom ? "\uFEFF" : "") + text + (finalEol ? eol : ""), "utf8"));
}

/** What a row's values should be once read: every non-empty cell under its column name. */
export function expectedValues(table: Table, row: TableRow): Record<string, string> {
  const values: Record<string, string> = {};
  table.header.forEach((name, j) => {
    const cell = row.cells[j];
    if (cell !== undefined && cell !== "") values[name] = cell;
  });
  return values;
}

// ---------------------------------------------------------------------------------------------------------------
// Values whose bytes differ between raw UTF-8 and escaped JSON: for counting the bytes a request really has.

/**
 * Characters whose size depends on how JSON is written: emoji and other astral characters (4 bytes raw, 12 as a
 * `\uXXXX` pair), CJK (3), U+FFFE/U+FFFF (SQS refuses them raw), lone surrogates (JSON.stringify escapes them),
 * quotes, backslashes, control characters (escaped by JSON), U+2028 (raw in JSON), plain ASCII.
 */
export const RICH_UNITS = [
  "🎉",
  "👩‍💻",
  "𝄞",
  "山",
  "é",
  "\uFFFE",
  "\uFFFF",
  "\uD800",
  "\uDFFF",
  '"',
  "\\",
  "\u0000",
  "\u001F",
  "\n",
  "\t",
  "\u2028",
  "a",
  " ",
] as const;

/** Rich text, now and then one rich character repeated thousands of times (rows that fill or overflow a request). */
export const richText = fc.oneof(
  { weight: 8, arbitrary: fc.string({ unit: fc.constantFrom(...RICH_UNITS), maxLength: 24 }) },
  {
    weight: 1,
    arbitrary: fc
      .tuple(fc.constantFrom(...RICH_UNITS), fc.integer({ min: 50, max: 2_500 }))
      .map(([unit, times]) => unit.repeat(times)),
  },
);

/** Field names beyond the ones a type needs, some of them rich too (and `__proto__`, which is a field like any). */
export const richFieldName = fc.constantFrom("notes", "名前", "🎉", "__proto__", 'say "hi"', "back\\slash", "\uFFFF");

/** Extra fields of a row: rich names, rich values. */
export const richFields = fc.dictionary(richFieldName, richText, { maxKeys: 3 });
