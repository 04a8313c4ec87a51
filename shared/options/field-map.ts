import { z } from "zod";
import { InputFileError } from "../parsing/input-file-error.ts";
import { setField, type SourceRow } from "../parsing/source-row.ts";
import { jsonOf } from "../text/json-text.ts";

/** File column → Marketo field name; `null` or `""` drops the column (it is never sent). */
export type FieldMap = Readonly<Record<string, string | null>>;

const FieldMapRecordSchema = z.record(
  z.string().min(1, "fieldMap: a column name must not be empty"),
  z.union([z.string().trim().max(255), z.null()]).transform((name) => (name === "" ? null : name)),
);

/**
 * `{"Email Address":"email","Internal Notes":null}` as an object, or the same JSON as text (S3 metadata
 * `x-amz-meta-field-map`, the CLI's `--field-map`).
 */
export const FieldMapSchema = jsonOf(FieldMapRecordSchema, 'fieldMap is not valid JSON (expected {"Column": "field"})');

/**
 * Renames and drops columns of every row before any rule sees it, so field types, dedupe fields, bulk headers
 * and the pre-flight check all speak Marketo's names. Two columns that would end under one name reject the file
 * (found in the splitter's dry pass, before anything is sent).
 */
export async function* applyFieldMap(
  rows: AsyncIterable<SourceRow>,
  map: FieldMap | undefined,
): AsyncIterable<SourceRow> {
  if (!map || Object.keys(map).length === 0) {
    yield* rows;
    return;
  }
  for await (const row of rows) {
    if (row.kind !== "record") {
      yield row;
      continue;
    }
    const values: Record<string, unknown> = {};
    const sourceOf = new Map<string, string>();
    for (const [column, value] of Object.entries(row.values)) {
      const target = Object.hasOwn(map, column) ? map[column] : column;
      if (target === null || target === undefined) continue;
      const earlier = sourceOf.get(target);
      if (earlier !== undefined) {
        throw new InputFileError(
          "INVALID_OPTIONS",
          `fieldMap: columns "${earlier}" and "${column}" would both be sent as ${target}`,
          { line: row.line },
        );
      }
      sourceOf.set(target, column);
      setField(values, target, value);
    }
    yield { ...row, values };
  }
}

/** A header's columns under the map's names (dropped ones left out), as the rules will see them. */
export function mapColumns(columns: readonly string[], map: FieldMap | undefined): string[] {
  if (!map) return [...columns];
  return columns.flatMap((column) => {
    const target = Object.hasOwn(map, column) ? map[column] : column;
    return target === null || target === undefined ? [] : [target];
  });
}
