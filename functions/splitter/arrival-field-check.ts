import type { FieldLists } from "../../shared/marketo/field-lists.ts";
import { MarketoRequestError } from "../../shared/marketo/errors.ts";
import { FieldCheck, routeColumnsFor } from "../../shared/marketo/field-check.ts";
import type { BulkRoute } from "../../shared/options/bulk-route.ts";
import type { ObjectRoute } from "../../shared/options/object-route.ts";
import { InputFileError } from "../../shared/parsing/input-file-error.ts";
import type { SourceRow } from "../../shared/parsing/source-row.ts";

/** The arrival check of a file with `fieldCheck: reject`: Marketo's field list, or why it could not be had. */
export type ArrivalCheck = { check: FieldCheck } | { skipped: string };

/**
 * Marketo's field list for the file's object. A describe that fails does not stop the file: it is split and sent
 * unchecked (as without the option), and its manifest says the check was skipped and why, so no file waits on, or
 * is lost to, an outage of Marketo's REST API.
 */
export async function prepareArrivalCheck(
  route: ObjectRoute | BulkRoute,
  fieldLists: FieldLists | undefined,
): Promise<ArrivalCheck> {
  if (!fieldLists) return { skipped: "the splitter has no Marketo credentials (MARKETO_SECRET_ID)" };
  try {
    return { check: new FieldCheck(await fieldLists.fieldsFor(route), routeColumnsFor(route)) };
  } catch (error) {
    const why =
      error instanceof MarketoRequestError
        ? `${error.failure.code} ${error.failure.message}`
        : `${(error as Error).name}: ${(error as Error).message}`;
    return { skipped: `Marketo's field list could not be read (${why}); the file was sent unchecked` };
  }
}

/**
 * Passes rows on until one has a column Marketo does not have; then the file is rejected whole, naming each such
 * column and the field it most likely meant. Columns are checked once, when first seen (a CSV's header row, each
 * new key of a JSON file). Nothing is queued before a file's end, so a rejection here sends nothing.
 */
export async function* rejectUnknownColumns(
  rows: AsyncIterable<SourceRow>,
  check: FieldCheck | undefined,
  objectName: string,
): AsyncIterable<SourceRow> {
  if (!check) {
    yield* rows;
    return;
  }
  const seen = new Set<string>();
  for await (const row of rows) {
    if (row.kind === "record") {
      const fresh = Object.keys(row.values).filter((column) => !seen.has(column));
      for (const column of fresh) seen.add(column);
      const unknown = fresh.length ? check.unknownColumns(fresh) : [];
      if (unknown.length > 0) {
        const named = unknown.map(({ column, suggestion }) =>
          suggestion ? `"${column}" (did you mean ${suggestion}?)` : `"${column}"`,
        );
        throw new InputFileError(
          "UNKNOWN_FIELD",
          `${unknown.length === 1 ? "column" : "columns"} ${named.join(", ")} ${unknown.length === 1 ? "is not a field" : "are not fields"} of ${objectName} in Marketo: rename the column or map it with fieldMap`,
          { line: row.line },
        );
      }
    }
    yield row;
  }
}
