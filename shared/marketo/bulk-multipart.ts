import { randomBytes } from "node:crypto";
import type { BulkJobParams } from "../contracts/bulk-message.ts";

/** A random boundary of fixed length, so the framing's size is known before the boundary is drawn. */
const BOUNDARY_PREFIX = "----marketo-ingest-";
const BOUNDARY_RANDOM_BYTES = 16;
const newBoundary = (): string => `${BOUNDARY_PREFIX}${randomBytes(BOUNDARY_RANDOM_BYTES).toString("hex")}`;
/** Stands in for a drawn boundary when only the size of the framing matters. */
const SIZING_BOUNDARY = `${BOUNDARY_PREFIX}${"0".repeat(BOUNDARY_RANDOM_BYTES * 2)}`;

export interface BulkImportFile {
  /** The file name in the part header (ASCII: `part-000001.csv`). */
  name: string;
  text: string;
}

export interface MultipartBody {
  /** `multipart/form-data; boundary=…`, the request's Content-Type. */
  contentType: string;
  body: Buffer;
}

/** The form fields of an import job besides `file`, in the order they are sent. */
function formFields(params: BulkJobParams): Array<[name: string, value: string]> {
  const fields: Array<[string, string]> = [["format", params.format]];
  if (params.lookupField) fields.push(["lookupField", params.lookupField]);
  if (params.listId !== undefined) fields.push(["listId", String(params.listId)]);
  if (params.partitionName) fields.push(["partitionName", params.partitionName]);
  if (params.programMemberStatus) fields.push(["programMemberStatus", params.programMemberStatus]);
  return fields;
}

/**
 * The exact body of an import job request (RFC 7578): the form fields, then the file as `text/csv`. The bulk
 * client sends these bytes, and the splitter sizes parts with `bulkImportFramingBytes`, built by the same code.
 */
export function bulkImportBody(params: BulkJobParams, file: BulkImportFile): MultipartBody {
  let boundary = newBoundary();
  // 128 random bits make a clash all but impossible; checking costs one scan of the part.
  while (file.text.includes(boundary)) boundary = newBoundary();
  const { head, tail } = framing(params, file.name, boundary);
  return {
    contentType: `multipart/form-data; boundary=${boundary}`,
    body: Buffer.concat([Buffer.from(head, "utf8"), Buffer.from(file.text, "utf8"), Buffer.from(tail, "utf8")]),
  };
}

/** Bytes of an import request's body besides the file's own bytes: boundaries, part headers, form fields. */
export function bulkImportFramingBytes(params: BulkJobParams, fileName: string): number {
  const { head, tail } = framing(params, fileName, SIZING_BOUNDARY);
  return Buffer.byteLength(head, "utf8") + Buffer.byteLength(tail, "utf8");
}

/** Everything in the request is built from the safe name, so the splitter's sizing and the bytes sent agree. */
function framing(params: BulkJobParams, fileName: string, boundary: string): { head: string; tail: string } {
  const fields = formFields(params).map(
    ([name, value]) =>
      `--${boundary}\r\nContent-Disposition: form-data; name="${escapeName(name)}"\r\n\r\n${normalizeLineBreaks(value)}\r\n`,
  );
  const filePart =
    `--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="${multipartFileName(fileName)}"\r\n` +
    "Content-Type: text/csv\r\n\r\n";
  return { head: fields.join("") + filePart, tail: `\r\n--${boundary}--\r\n` };
}

/** Quotes and line breaks in a name or file name are percent-encoded (the HTML form-data encoding). */
const escapeName = (name: string): string => name.replace(/\r/g, "%0D").replace(/\n/g, "%0A").replace(/"/g, "%22");

/** Form values carry CRLF line breaks (the HTML form-data encoding), as any browser or fetch would send them. */
const normalizeLineBreaks = (value: string): string => value.replace(/\r\n|\r|\n/g, "\r\n");

const MAX_FILE_NAME_CHARS = 100;

/**
 * The file name of a multipart upload as every server parses it alike: ASCII letters, digits, `.`, `_` and `-`
 * (anything else, quotes, CR, LF and non-ASCII letters included, becomes `_`), at most 100 characters with the
 * extension kept. undici writes a name's UTF-8 raw into Content-Disposition, which servers read differently.
 */
export function multipartFileName(name: string): string {
  const cleaned = Array.from(name, (char) => (/^[A-Za-z0-9._-]$/.test(char) ? char : "_")).join("");
  if (cleaned === "") return "file";
  if (cleaned.length <= MAX_FILE_NAME_CHARS) return cleaned;
  const extension = /\.[A-Za-z0-9]{1,10}$/.exec(cleaned)?.[0] ?? "";
  return `${cleaned.slice(0, MAX_FILE_NAME_CHARS - extension.length)}${extension}`;
}
