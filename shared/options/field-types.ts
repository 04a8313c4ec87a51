import { z } from "zod";

/**
 * Declared types for CSV values, which are text until a declaration says otherwise. Marketo takes dates as ISO
 * 8601 strings, so `date`/`datetime` are checked, not converted.
 */
export const FieldTypeSchema = z.enum(["string", "number", "integer", "boolean", "date", "datetime"]);
export type FieldType = z.infer<typeof FieldTypeSchema>;
export type FieldTypeMap = Readonly<Record<string, FieldType>>;

const FieldTypeRecordSchema = z.record(z.string().trim().min(1), FieldTypeSchema);

/** `{"age":"integer"}` as an object, or the compact text form `age:integer,active:boolean` (S3 metadata). */
export const FieldTypeMapSchema = z
  .unknown()
  .transform((value, ctx) => {
    if (typeof value !== "string") return value;
    const trimmed = value.trim();
    if (trimmed.startsWith("{")) {
      try {
        return JSON.parse(trimmed) as unknown;
      } catch {
        ctx.addIssue({ code: "custom", message: "fieldTypes is not valid JSON" });
        return z.NEVER;
      }
    }
    const entries = trimmed
      .split(",")
      .filter((part) => part.trim() !== "")
      .map((part) => {
        const colon = part.lastIndexOf(":");
        return [part.slice(0, colon).trim(), part.slice(colon + 1).trim()] as const;
      });
    const nameless = entries.find(([name]) => !name);
    if (nameless) {
      ctx.addIssue({ code: "custom", message: `fieldTypes entry ":${nameless[1]}" names no field` });
      return z.NEVER;
    }
    return Object.fromEntries(entries);
  })
  .pipe(FieldTypeRecordSchema);

export type Conversion = { ok: true; value: unknown } | { ok: false; reason: string };

const DECIMAL = /^[+-]?\d+(\.\d+)?$/;
const INTEGER = /^[+-]?\d+$/;
const DATE = /^(\d{4})-(\d{2})-(\d{2})$/;
const DATETIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:?\d{2})?$/;
const TRUE = new Set(["true", "1", "yes"]);
const FALSE = new Set(["false", "0", "no"]);

function isCalendarDate(text: string): boolean {
  const match = DATE.exec(text.slice(0, 10));
  if (!match) return false;
  const [, y, m, d] = match.map(Number) as [number, number, number, number];
  const date = new Date(Date.UTC(y, m - 1, d));
  return date.getUTCFullYear() === y && date.getUTCMonth() === m - 1 && date.getUTCDate() === d;
}

/**
 * Converts one CSV cell to its declared type. Reasons name the expectation, never the value (personal data).
 * Exponent notation is refused: Marketo rejects numbers like `5e+06`.
 */
export function convertText(type: FieldType, text: string): Conversion {
  const value = text.trim();
  switch (type) {
    case "string":
      return { ok: true, value: text };
    case "number":
      if (!DECIMAL.test(value))
        return { ok: false, reason: "is not a plain decimal number (digits, optional . and sign)" };
      return { ok: true, value: Number(value) };
    case "integer": {
      if (!INTEGER.test(value)) return { ok: false, reason: "is not an integer" };
      const n = Number(value);
      if (!Number.isSafeInteger(n)) return { ok: false, reason: "is an integer too large to send exactly" };
      return { ok: true, value: n };
    }
    case "boolean": {
      const lower = value.toLowerCase();
      if (TRUE.has(lower)) return { ok: true, value: true };
      if (FALSE.has(lower)) return { ok: true, value: false };
      return { ok: false, reason: "is not a boolean (true/false, 1/0, yes/no)" };
    }
    case "date":
      if (!DATE.test(value) || !isCalendarDate(value)) return { ok: false, reason: "is not a date (YYYY-MM-DD)" };
      return { ok: true, value };
    case "datetime":
      if (!DATETIME.test(value) || !isCalendarDate(value) || Number.isNaN(Date.parse(value))) {
        return { ok: false, reason: "is not an ISO 8601 date-time (YYYY-MM-DDThh:mm[:ss][Z|±hh:mm])" };
      }
      return { ok: true, value };
  }
}

/** A Marketo id (programId, leadId, a company's id): a positive integer, from text or from JSON. */
export function toPositiveId(value: unknown): Conversion {
  if (typeof value === "number") {
    return Number.isSafeInteger(value) && value > 0
      ? { ok: true, value }
      : { ok: false, reason: "must be a positive integer" };
  }
  if (typeof value === "string" && /^\s*\d+\s*$/.test(value)) {
    const n = Number(value);
    if (Number.isSafeInteger(n) && n > 0) return { ok: true, value: n };
  }
  return { ok: false, reason: "must be a positive integer" };
}
