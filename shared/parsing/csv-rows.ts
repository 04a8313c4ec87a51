import { type BytePosition, type DecodedSpan, decodeUtf8 } from "./decode-utf8.ts";
import { InputFileError } from "./input-file-error.ts";
import { fieldTooLong, lineTooLong, type ReaderLimits, tooManyColumns, withDefaultLimits } from "./reader-limits.ts";
import type { SourceRow } from "./source-row.ts";

export interface CsvOptions {
  /** Field delimiter: `,` for CSV, `\t` for TSV, `;` for SSV. */
  delimiter?: string;
  /** Memory bounds (columns, field and record length); defaults in reader-limits.ts. */
  limits?: Partial<ReaderLimits>;
  /** Told the header's column names once it is read: a rule every row needs can reject the file there. */
  onHeader?: (columns: readonly string[]) => void;
  /** Reads on from a row boundary: `chunks` start at `resume.byte`, and the header and counts come from it. */
  resume?: CsvPosition;
  /** Told where the row just yielded ends, so a caller can stop there and resume later. */
  cursor?: CsvCursor;
}

/** A row boundary of a delimited file, and what reading on from it needs to know about the file before it. */
export interface CsvPosition extends BytePosition {
  /** Data rows before it. */
  row: number;
  /** Physical line the next record starts on. */
  nextLine: number;
  /** The record delimiter found at the file's first line break. */
  recordDelimiter: "crlf" | "lf" | "cr";
  header: string[];
}

/** Where the row last yielded ends; `at()` is computed only when asked (a checkpoint), never per row. */
export interface CsvCursor {
  at?: () => CsvPosition;
}

const OTHER_DELIMITERS: Record<string, string> = { ";": "semicolon", "\t": "tab", "|": "pipe", ",": "comma" };

const QUOTE = 0x22;
const CR = 0x0d;
const LF = 0x0a;
const NUL = 0x00;

/** The record delimiter is the first line break seen outside quotes, as csv-parse decides it; the others are text. */
const UNKNOWN = 0;
const CRLF = 1;
const LF_ONLY = 2;
const CR_ONLY = 3;

const DELIMITER_NAMES = { [CRLF]: "crlf", [LF_ONLY]: "lf", [CR_ONLY]: "cr" } as const;
const DELIMITER_CODES = { crlf: CRLF, lf: LF_ONLY, cr: CR_ONLY } as const;

/** One record, its fields as text, the physical line it starts on, and where it ends. */
interface ScannedRecord {
  fields: string[];
  line: number;
  /** Index in the scanned text (`lastText`) just past the record and its delimiter. */
  end: number;
  /** Line the record after it starts on (blank lines not counted). */
  nextLine: number;
}

const PROBLEMS = {
  unclosed: "a quoted field is never closed",
  closing: "a closing quote is followed by something other than a delimiter or line end",
  opening: "a quote appears inside an unquoted field (quote the field and double the inner quotes)",
} as const;

function lineBreaksWithin(fields: readonly string[]): number {
  let breaks = 0;
  for (const field of fields) {
    if (field.includes("\n") || field.includes("\r")) breaks += field.match(/\r\n|\r|\n/g)?.length ?? 0;
  }
  return breaks;
}

/**
 * An RFC 4180 scanner fed decoded text in chunks of any size, with csv-parse's semantics (quote `"` doubled
 * inside quotes, no trimming, ragged rows kept, empty lines skipped, a leading BOM dropped, record delimiter
 * discovered from the first line break). It resumes mid-field, mid-quote and mid-CRLF, so no chunk is rescanned.
 * Written by hand because it is the splitter's hot loop: csv-parse works byte by byte through Buffers and
 * re-encodes the decoded text, which made reading alone cost more than everything else the splitter does.
 */
export class CsvScanner {
  private readonly delimiter: number;
  private recordDelimiter = UNKNOWN;
  private quoting = false;
  /** The current field was quoted (an empty quoted field still counts as a field). */
  private wasQuoting = false;
  /** Text of the current field carried over from earlier chunks (or built from quoted pieces). */
  private field = "";
  private fields: string[] = [];
  private recordChars = 0;
  /** Characters held back until the next chunk decides what they mean (a quote or CR at a chunk's end). */
  private carry = "";
  private started = false;
  /**
   * The record may hold line breaks inside fields (they move the next record's line): set only when a field does,
   * so the common record is not searched for breaks again once it ends.
   */
  private mayHoldBreaks = false;
  private nextLine = 1;
  private emptyLines = 0;
  private readonly limits: ReaderLimits;
  readonly records: ScannedRecord[] = [];
  /** The text the last `scan` went through: held-back characters of the previous chunk, then the chunk. */
  lastText = "";
  /** Characters of `lastText` that came from the previous chunk (negative: a leading BOM was dropped). */
  lastShift = 0;

  constructor(delimiter: string, limits: ReaderLimits) {
    if (delimiter.length !== 1 || delimiter === '"' || delimiter === "\r" || delimiter === "\n") {
      throw new Error(`unsupported delimiter ${JSON.stringify(delimiter)}`);
    }
    this.delimiter = delimiter.charCodeAt(0);
    this.limits = limits;
  }

  /** Continues after a record boundary of a file whose record delimiter and next line are known. */
  resumeAt(position: Pick<CsvPosition, "recordDelimiter" | "nextLine">): void {
    this.started = true;
    this.recordDelimiter = DELIMITER_CODES[position.recordDelimiter];
    this.nextLine = position.nextLine;
  }

  /** The record delimiter, once a line break has told it. */
  get recordDelimiterName(): CsvPosition["recordDelimiter"] | undefined {
    return this.recordDelimiter === UNKNOWN ? undefined : DELIMITER_NAMES[this.recordDelimiter as 1 | 2 | 3];
  }

  /** Scans a chunk; finished records are appended to `records`. `final` marks the end of the input. */
  scan(chunk: string, final: boolean): void {
    let text = this.carry.length > 0 ? this.carry + chunk : chunk;
    this.lastShift = this.carry.length;
    this.carry = "";
    if (!this.started && text.length > 0) {
      this.started = true;
      // The decoder drops the UTF-8 BOM; csv-parse (bom: true) dropped a second one too.
      if (text.charCodeAt(0) === 0xfeff) {
        text = text.slice(1);
        this.lastShift = -1;
      }
    }
    this.lastText = text;
    const n = text.length;
    const delimiter = this.delimiter;
    // Next LF and CR at or after the scan position (-1: none left in this text; -2: not looked for yet). Kept so a
    // quoted field asks "does it hold a line break?" without rescanning the text: linear however many fields.
    let nextLf = -2;
    let nextCr = -2;
    let i = 0;
    outer: while (i < n) {
      if (this.quoting) {
        const q = text.indexOf('"', i);
        if (q === -1) {
          // The field goes on in the next chunk: assume it holds a break (lineBreaksWithin counts them exactly).
          this.mayHoldBreaks = true;
          this.appendField(text, i, n);
          break;
        }
        if (!this.mayHoldBreaks) {
          if (nextLf !== -1 && nextLf < i) nextLf = text.indexOf("\n", i);
          if (nextCr !== -1 && nextCr < i) nextCr = text.indexOf("\r", i);
          if ((nextLf !== -1 && nextLf < q) || (nextCr !== -1 && nextCr < q)) this.mayHoldBreaks = true;
        }
        this.appendField(text, i, q);
        if (q + 1 === n && !final) {
          this.carry = '"';
          break;
        }
        const next = q + 1 < n ? text.charCodeAt(q + 1) : -1;
        if (next === QUOTE) {
          this.appendText('"');
          i = q + 2;
          continue;
        }
        // csv-parse also closes a quote before NUL (it tests the next byte for truthiness).
        if (next === -1 || next === NUL || next === delimiter) {
          this.quoting = false;
          i = q + 1;
          continue;
        }
        if (next === CR || next === LF) {
          const length = this.recordDelimiterAt(text, q + 1, final);
          if (length === -1) {
            this.carry = text.slice(q);
            break;
          }
          if (length > 0) {
            this.quoting = false;
            i = q + 1;
            continue;
          }
        }
        throw this.malformed(PROBLEMS.closing, "");
      }
      let j = i;
      for (;;) {
        while (j < n) {
          const c = text.charCodeAt(j);
          if (c === delimiter || c === QUOTE || c === CR || c === LF) break;
          j++;
        }
        if (j === n) {
          this.appendField(text, i, n);
          break outer;
        }
        const c = text.charCodeAt(j);
        if (c === delimiter) {
          this.endField(text, i, j);
          i = j + 1;
          continue outer;
        }
        if (c === QUOTE) {
          if (j === i && this.field.length === 0) {
            this.quoting = true;
            this.wasQuoting = true;
            i = j + 1;
            continue outer;
          }
          throw this.malformed(PROBLEMS.opening, text.slice(i, j));
        }
        const length = this.recordDelimiterAt(text, j, final);
        if (length === -1) {
          this.appendField(text, i, j);
          this.carry = text.slice(j);
          break outer;
        }
        if (length === 0) {
          // A line break that is not the record delimiter (LF in a CRLF file) is text of the field.
          this.mayHoldBreaks = true;
          j++;
          continue;
        }
        this.endRecord(text, i, j, j + length);
        i = j + length;
        continue outer;
      }
    }
    if (final) this.finish();
  }

  private finish(): void {
    // Named at the line the open field starts on: that is where the stray quote is.
    if (this.quoting) throw this.malformed(PROBLEMS.unclosed, undefined);
    if (this.wasQuoting || this.fields.length > 0 || this.field.length > 0) {
      this.endRecord("", 0, 0, this.lastText.length);
    }
  }

  /** Length of the record delimiter at `at` (0: none, -1: the next chunk decides). Discovers it if unknown. */
  private recordDelimiterAt(text: string, at: number, final: boolean): number {
    const c = text.charCodeAt(at);
    switch (this.recordDelimiter) {
      case LF_ONLY:
        return c === LF ? 1 : 0;
      case CR_ONLY:
        return c === CR ? 1 : 0;
      case CRLF:
        if (c !== CR) return 0;
        if (at + 1 < text.length) return text.charCodeAt(at + 1) === LF ? 2 : 0;
        return final ? 0 : -1;
      default:
        if (c === LF) {
          this.recordDelimiter = LF_ONLY;
          return 1;
        }
        if (c !== CR) return 0;
        if (at + 1 >= text.length && !final) return -1;
        this.recordDelimiter = at + 1 < text.length && text.charCodeAt(at + 1) === LF ? CRLF : CR_ONLY;
        return this.recordDelimiter === CRLF ? 2 : 1;
    }
  }

  private appendField(text: string, from: number, to: number): void {
    if (to > from) this.appendText(text.slice(from, to));
  }

  private appendText(piece: string): void {
    this.field += piece;
    if (this.field.length > this.limits.maxFieldChars)
      throw fieldTooLong(this.limits.maxFieldChars, this.errorLine(""));
  }

  private endField(text: string, from: number, to: number): void {
    const value = this.field.length > 0 ? this.field + text.slice(from, to) : text.slice(from, to);
    if (value.length > this.limits.maxFieldChars) throw fieldTooLong(this.limits.maxFieldChars, this.errorLine(""));
    if (this.fields.length >= this.limits.maxColumns) throw tooManyColumns(this.limits.maxColumns, this.errorLine(""));
    this.recordChars += value.length + 1;
    if (this.recordChars > this.limits.maxLineChars) {
      throw lineTooLong(this.limits.maxLineChars, this.recordLine(), "a row");
    }
    this.fields.push(value);
    this.field = "";
    this.wasQuoting = false;
  }

  private endRecord(text: string, from: number, to: number, end: number): void {
    if (this.fields.length === 0 && this.field.length === 0 && to === from && !this.wasQuoting) {
      this.emptyLines++;
      return;
    }
    this.endField(text, from, to);
    const line = this.recordLine();
    this.nextLine = line + 1 + (this.mayHoldBreaks ? lineBreaksWithin(this.fields) : 0);
    this.records.push({ fields: this.fields, line, end, nextLine: this.nextLine });
    this.emptyLines = 0;
    this.fields = [];
    this.recordChars = 0;
    this.mayHoldBreaks = false;
  }

  /** Physical line the current record starts on (blank lines before it skipped; CRLF is one break). */
  private recordLine(): number {
    return this.nextLine + this.emptyLines;
  }

  /** Line of the current position; `pending` is field text scanned but not yet taken (undefined: field start). */
  private errorLine(pending: string | undefined): number {
    const before = pending === undefined ? this.fields : [...this.fields, this.field, pending];
    return this.recordLine() + lineBreaksWithin(before);
  }

  private malformed(what: string, pending: string | undefined): InputFileError {
    // The problem is described by its kind, never by the offending value (personal data).
    const line = this.errorLine(pending);
    return new InputFileError("MALFORMED_CSV", `malformed CSV near line ${line}: ${what}`, { line });
  }
}

/**
 * Streams the rows of a delimited UTF-8 file (RFC 4180 quoting, embedded newlines, CRLF, BOM). Empty cells are
 * left out of `values`. Rows whose field count differs from the header's are rejected alone; a structural error
 * (bad quoting, bad encoding, bad header, a limit passed) rejects the file, after the rows finished before it.
 */
export function readCsvRows(
  chunks: AsyncIterable<Uint8Array>,
  options: CsvOptions = {},
): AsyncIterableIterator<SourceRow> {
  const { resume } = options;
  const span: DecodedSpan = { endByte: resume?.byte ?? 0, lineFeedsBefore: resume?.lineFeeds ?? 0 };
  const from = resume ? { from: { byte: resume.byte, lineFeeds: resume.lineFeeds } } : {};
  return new CsvRowStream(decodeUtf8(chunks, { span, ...from }), options, span);
}

/** The decoded chunk a scan went through, and where it sits in the input (for row positions, asked rarely). */
interface ScannedChunk {
  text: string;
  endByte: number;
  lineFeedsBefore: number;
  /** `CsvScanner.lastShift` of the scan. */
  shift: number;
}

/**
 * The rows of one file, a decoded chunk's worth at a time. An iterator rather than an async generator: a generator
 * pays a suspension and two promises per row, which was most of the reader's own time; here a row already read
 * costs one resolved promise, and the source is read only when those run out.
 */
class CsvRowStream implements AsyncIterableIterator<SourceRow> {
  private readonly delimiter: string;
  private readonly scanner: CsvScanner;
  private header: string[] | undefined;
  /** Per column: its name, or undefined for `__proto__`, which must be defined rather than assigned. */
  private plainNames: Array<string | undefined> = [];
  private row = 0;
  /** Rows of the last chunk; `at` is the next to hand out. */
  private rows: SourceRow[] = [];
  private at = 0;
  /** The error that ends the file, thrown once the rows finished before it have been handed out. */
  private failure: unknown;
  private ended = false;
  /** With a cursor: the record of each row of `rows`, and the chunk they were scanned from. */
  private rowRecords: ScannedRecord[] = [];
  private chunk: ScannedChunk;
  /** The last row handed out before `rows` was replaced or dropped (its record, number and chunk). */
  private previous: { record: ScannedRecord; row: number; chunk: ScannedChunk } | undefined;

  constructor(
    private readonly texts: AsyncIterator<string>,
    private readonly options: CsvOptions,
    private readonly span: DecodedSpan,
  ) {
    this.delimiter = options.delimiter ?? ",";
    this.scanner = new CsvScanner(this.delimiter, withDefaultLimits(options.limits));
    this.chunk = { text: "", endByte: span.endByte, lineFeedsBefore: span.lineFeedsBefore, shift: 0 };
    const { resume, cursor } = options;
    if (resume) {
      this.scanner.resumeAt(resume);
      this.header = resume.header;
      this.plainNames = resume.header.map((name) => (name === "__proto__" ? undefined : name));
      this.row = resume.row;
    }
    if (cursor) cursor.at = () => this.positionAfterLastRow();
  }

  /** Where the row handed out last ends: computed only when asked (a checkpoint), never per row. */
  private positionAfterLastRow(): CsvPosition {
    this.keepLastRow();
    if (!this.previous) {
      // No row read since the resume point (it was the end of the file): that is where the reader stands.
      if (this.options.resume) return this.options.resume;
      throw new Error("no row has been read yet");
    }
    const { record, row, chunk } = this.previous;
    // Input bytes are exactly the UTF-8 of the decoded text (strict decoding), so the bytes after the record end
    // within the chunk are the UTF-8 length of the chunk's text after it.
    const { text, endByte, lineFeedsBefore, shift } = chunk;
    const inChunk = record.end - shift;
    return {
      byte: endByte - Buffer.byteLength(text.slice(inChunk)),
      lineFeeds: lineFeedsBefore + (text.slice(0, inChunk).match(/\n/g)?.length ?? 0),
      row,
      nextLine: record.nextLine,
      recordDelimiter: this.scanner.recordDelimiterName ?? "lf",
      header: this.header as string[],
    };
  }

  [Symbol.asyncIterator](): this {
    return this;
  }

  next(): Promise<IteratorResult<SourceRow>> {
    if (this.at < this.rows.length) return Promise.resolve({ value: this.rows[this.at++] as SourceRow, done: false });
    return this.readMore();
  }

  /** Remembers the last row handed out, before the rows of its chunk are let go (references only: cheap). */
  private keepLastRow(): void {
    const record = this.rowRecords[this.at - 1];
    const row = this.rows[this.at - 1];
    if (record && row) this.previous = { record, row: row.row, chunk: this.chunk };
  }

  async return(): Promise<IteratorResult<SourceRow>> {
    if (this.options.cursor) this.keepLastRow();
    this.rows = [];
    this.failure = undefined;
    if (!this.ended) {
      this.ended = true;
      // A consumer that stops early releases the source (an unread S3 body holds a socket).
      await this.texts.return?.();
    }
    return { value: undefined, done: true };
  }

  private async readMore(): Promise<IteratorResult<SourceRow>> {
    for (;;) {
      if (this.at < this.rows.length) return { value: this.rows[this.at++] as SourceRow, done: false };
      if (this.failure !== undefined) {
        const failure = this.failure;
        this.failure = undefined;
        await this.return();
        throw failure;
      }
      if (this.ended) return { value: undefined, done: true };
      let next: IteratorResult<string>;
      try {
        next = await this.texts.next();
      } catch (error) {
        this.ended = true;
        throw error;
      }
      if (next.done) {
        this.ended = true;
        this.scanThenCollect("", true);
        if (this.failure === undefined && !this.header) {
          this.failure = new InputFileError("EMPTY_FILE", "file is empty: expected a header row and data rows");
        } else if (this.failure === undefined && this.row === 0) {
          this.failure = new InputFileError("HEADER_ONLY", "file has a header row but no data rows");
        }
      } else {
        this.scanThenCollect(next.value, false);
      }
    }
  }

  /** Scans, then keeps the records finished before any error, as a stream would have: the error comes after. */
  private scanThenCollect(text: string, final: boolean): void {
    if (this.options.cursor) this.keepLastRow();
    this.rows = [];
    this.at = 0;
    try {
      this.scanner.scan(text, final);
    } catch (error) {
      this.failure = error;
    }
    const tracking = this.options.cursor !== undefined;
    if (tracking) {
      this.rowRecords = [];
      const previous = this.chunk;
      this.chunk = final
        ? // The end of the input: every byte and line feed read so far is before it.
          {
            text,
            endByte: previous.endByte,
            lineFeedsBefore: previous.lineFeedsBefore + (previous.text.match(/\n/g)?.length ?? 0),
            shift: this.scanner.lastShift,
          }
        : {
            text,
            endByte: this.span.endByte,
            lineFeedsBefore: this.span.lineFeedsBefore,
            shift: this.scanner.lastShift,
          };
    }
    const records = this.scanner.records;
    try {
      for (let k = 0; k < records.length; k++) {
        const record = records[k] as ScannedRecord;
        if (this.header) {
          this.rows.push(this.toRow(record, this.header));
          if (tracking) this.rowRecords.push(record);
          continue;
        }
        this.header = checkHeader(record.fields, this.delimiter);
        this.plainNames = this.header.map((name) => (name === "__proto__" ? undefined : name));
        this.options.onHeader?.(this.header);
      }
    } catch (error) {
      // A bad header (or a rule rejecting it) comes before any row: nothing else from this chunk counts.
      this.failure = error;
    } finally {
      records.length = 0;
    }
  }

  private toRow(record: ScannedRecord, names: string[]): SourceRow {
    const row = ++this.row;
    const { fields, line } = record;
    if (fields.length !== names.length) {
      return {
        kind: "rejection",
        row,
        line,
        reason: `row has ${fields.length} fields but the header has ${names.length}`,
      };
    }
    const values: Record<string, string> = {};
    const plainNames = this.plainNames;
    for (let i = 0; i < fields.length; i++) {
      const value = fields[i] as string;
      if (value === "") continue;
      const name = plainNames[i];
      if (name !== undefined) values[name] = value;
      else Object.defineProperty(values, "__proto__", { value, enumerable: true, writable: true, configurable: true });
    }
    return { kind: "record", row, line, values };
  }
}

function checkHeader(record: string[], delimiter: string): string[] {
  const names = record.map((name) => name.trim());
  if (names.length === 1) {
    const found = Object.keys(OTHER_DELIMITERS).find((d) => d !== delimiter && (names[0] as string).includes(d));
    if (found) {
      throw new InputFileError(
        "WRONG_DELIMITER",
        `header has a single column containing ${OTHER_DELIMITERS[found]} characters: the file looks ${OTHER_DELIMITERS[found]}-delimited, not ${OTHER_DELIMITERS[delimiter] ?? JSON.stringify(delimiter)}-delimited`,
        { line: 1 },
      );
    }
  }
  const blank = names.indexOf("");
  if (blank >= 0) throw new InputFileError("BAD_HEADER", `header column ${blank + 1} has no name`, { line: 1 });
  const seen = new Set<string>();
  for (const name of names) {
    if (seen.has(name)) throw new InputFileError("BAD_HEADER", `header names column "${name}" twice`, { line: 1 });
    seen.add(name);
  }
  return names;
}
