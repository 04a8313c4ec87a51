import type { BulkRoute } from "../options/bulk-route.ts";
import type { ObjectRoute } from "../options/object-route.ts";
import type { MarketoField } from "./describe-client.ts";

/** Columns a route reads itself (ids, the member status), which are not Marketo fields of the object. */
const ROUTE_COLUMNS: Record<string, readonly string[]> = {
  programmembers: ["programId", "leadId", "status"],
  "programmembers/delete": ["programId", "leadId"],
};

export const routeColumnsFor = (route: ObjectRoute | BulkRoute): readonly string[] =>
  "target" in route ? [] : (ROUTE_COLUMNS[route.objectType] ?? []);

/** A column Marketo does not have, or whose values do not fit the field's type (counts and row numbers only). */
export type FieldFinding =
  | { kind: "unknown"; column: string; suggestion?: string }
  | { kind: "type"; column: string; dataType: string; expected: string; rows: number; firstRows: number[] };

/** What a value of each Marketo data type must look like; types not listed take any text within their length. */
const EXPECTED: Record<string, { describe: string; test: (value: unknown) => boolean }> = {
  integer: { describe: "a whole number", test: (v) => Number.isInteger(toNumber(v)) },
  score: { describe: "a whole number", test: (v) => Number.isInteger(toNumber(v)) },
  float: { describe: "a number", test: (v) => Number.isFinite(toNumber(v)) },
  currency: { describe: "a number", test: (v) => Number.isFinite(toNumber(v)) },
  percent: { describe: "a number", test: (v) => Number.isFinite(toNumber(v)) },
  boolean: {
    describe: "true or false",
    test: (v) => typeof v === "boolean" || /^(true|false|1|0|yes|no)$/i.test(String(v).trim()),
  },
  date: {
    describe: "a date YYYY-MM-DD",
    test: (v) => /^\d{4}-\d{2}-\d{2}$/.test(String(v).trim()) && !Number.isNaN(Date.parse(String(v).trim())),
  },
  datetime: {
    describe: "an ISO 8601 date-time",
    test: (v) => /^\d{4}-\d{2}-\d{2}/.test(String(v).trim()) && !Number.isNaN(Date.parse(String(v).trim())),
  },
  email: { describe: "an email address", test: (v) => /^[^@\s]+@[^@\s]+$/.test(String(v).trim()) },
};

function toNumber(value: unknown): number {
  if (typeof value === "number") return value;
  if (typeof value !== "string" || value.trim() === "") return Number.NaN;
  return Number(value.trim());
}

/**
 * Compares a file's columns and values with Marketo's field list, row by row (never keeping a value: personal
 * data). `routeColumns` are columns the route itself reads (programId, leadId, status…), not Marketo fields.
 */
export class FieldCheck {
  private readonly fields = new Map<string, MarketoField>();
  private readonly unknown = new Set<string>();
  private readonly mismatches = new Map<
    string,
    { field: MarketoField; expected: string; rows: number; firstRows: number[] }
  >();
  private readonly routeColumns: Set<string>;

  constructor(fields: readonly MarketoField[], routeColumns: readonly string[] = []) {
    // Marketo matches field names without case (Data Ingestion says so for companies; REST does for all).
    for (const field of fields) this.fields.set(field.name.toLowerCase(), field);
    this.routeColumns = new Set(routeColumns.map((name) => name.toLowerCase()));
  }

  observe(row: number, values: Record<string, unknown>): void {
    for (const [column, value] of Object.entries(values)) {
      const key = column.toLowerCase();
      if (this.routeColumns.has(key)) continue;
      const field = this.fields.get(key);
      if (!field) {
        this.unknown.add(column);
        continue;
      }
      if (value === undefined || value === null || value === "") continue;
      const problem = this.problemOf(field, value);
      if (!problem) continue;
      const seen = this.mismatches.get(column) ?? { field, expected: problem, rows: 0, firstRows: [] };
      seen.rows++;
      if (seen.firstRows.length < 5) seen.firstRows.push(row);
      this.mismatches.set(column, seen);
    }
  }

  /** The columns Marketo does not have, each with the field it most likely meant; no row is looked at. */
  unknownColumns(columns: Iterable<string>): Array<Extract<FieldFinding, { kind: "unknown" }>> {
    const names = [...this.fields.values()].map((field) => field.name);
    return [...columns]
      .filter((column) => !this.routeColumns.has(column.toLowerCase()) && !this.fields.has(column.toLowerCase()))
      .map((column) => {
        const suggestion = closest(column, names);
        return { kind: "unknown" as const, column, ...(suggestion ? { suggestion } : {}) };
      });
  }

  findings(): FieldFinding[] {
    return [
      ...this.unknownColumns(this.unknown),
      ...[...this.mismatches].map(([column, seen]): FieldFinding => ({
        kind: "type",
        column,
        dataType: seen.field.dataType,
        expected: seen.expected,
        rows: seen.rows,
        firstRows: seen.firstRows,
      })),
    ];
  }

  private problemOf(field: MarketoField, value: unknown): string | undefined {
    const rule = EXPECTED[field.dataType.toLowerCase()];
    if (rule) return rule.test(value) ? undefined : rule.describe;
    if (typeof value === "object") return "text, not a nested value";
    if (field.length !== undefined && String(value).length > field.length) return `at most ${field.length} characters`;
    return undefined;
  }
}

/** The field a misspelled column most likely meant: ignoring case, spaces and `_`/`-`, or within 2 edits. */
function closest(column: string, names: readonly string[]): string | undefined {
  const squash = (text: string) => text.toLowerCase().replace(/[\s_-]/g, "");
  const target = squash(column);
  let best: { name: string; distance: number } | undefined;
  for (const name of names) {
    const distance = editDistance(target, squash(name));
    if (distance <= Math.min(2, Math.floor(target.length / 3)) && (!best || distance < best.distance)) {
      best = { name, distance };
    }
  }
  return best?.name;
}

/** Edits (insert, delete, substitute, swap two neighbours) between two names. */
function editDistance(a: string, b: string): number {
  const d = Array.from({ length: a.length + 1 }, (_, i) =>
    Array.from({ length: b.length + 1 }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)),
  );
  const at = (i: number, j: number) => (d[i] as number[])[j] as number;
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      let best = Math.min(at(i - 1, j) + 1, at(i, j - 1) + 1, at(i - 1, j - 1) + (a[i - 1] === b[j - 1] ? 0 : 1));
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) best = Math.min(best, at(i - 2, j - 2) + 1);
      (d[i] as number[])[j] = best;
    }
  }
  return at(a.length, b.length);
}
