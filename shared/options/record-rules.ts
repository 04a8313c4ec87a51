import { convertText, type FieldTypeMap, toPositiveId } from "./field-types.ts";
import { checkMemberStatus, type ResolvedOptions } from "./file-options.ts";

/**
 * A row ready to pack, or the reason it is rejected alone (field named, value never quoted: personal data).
 * `program` and `listId` say which group of the body the object goes in (program members, lists).
 */
export type Preparation =
  | { ok: true; object: Record<string, unknown>; program?: { programId: number; status?: string }; listId?: number }
  | { ok: false; field?: string; reason: string };

type Values = Record<string, unknown>;
const reject = (field: string | undefined, reason: string): Preparation => ({
  ok: false,
  ...(field ? { field } : {}),
  reason,
});
const isBlank = (value: unknown) => value === undefined || value === null || value === "";

/** Companies and program members take field names in any case; the rules look them up the same way. */
function keyIgnoringCase(values: Values, name: string): string | undefined {
  if (name in values) return name;
  const lower = name.toLowerCase();
  return Object.keys(values).find((key) => key.toLowerCase() === lower);
}

/** Applies declared types to text values (CSV); typed sources (JSON) keep their types. */
function applyFieldTypes(values: Values, fieldTypes: FieldTypeMap, text: boolean): Preparation {
  // JSON keeps its types; with nothing declared there is nothing to convert (and no copy to make per row).
  if (!text || Object.keys(fieldTypes).length === 0) return { ok: true, object: values };
  const object: Values = { ...values };
  for (const [field, type] of Object.entries(fieldTypes)) {
    const value = object[field];
    if (typeof value !== "string") continue;
    const converted = convertText(type, value);
    if (!converted.ok) return reject(field, `${field} ${converted.reason}`);
    object[field] = converted.value;
  }
  return { ok: true, object };
}

/**
 * Takes an optional id field (any case) out of the row and converts it to an integer; `value` is undefined when
 * the field is absent or blank.
 */
function takeOptionalId(
  object: Values,
  name: string,
): { ok: true; value: number | undefined } | { ok: false; result: Preparation } {
  const key = keyIgnoringCase(object, name);
  const raw = key === undefined ? undefined : object[key];
  if (key !== undefined) delete object[key];
  if (isBlank(raw)) return { ok: true, value: undefined };
  const id = toPositiveId(raw);
  if (!id.ok) return { ok: false, result: reject(name, `${name} ${id.reason}`) };
  return { ok: true, value: id.value as number };
}

/** Converts a required id field (programId, leadId, a company's id) to an integer, under its canonical name. */
function takeId(object: Values, name: string): { ok: true; value: number } | { ok: false; result: Preparation } {
  const id = takeOptionalId(object, name);
  if (!id.ok) return id;
  if (id.value === undefined) return { ok: false, result: reject(name, `${name} is required`) };
  return { ok: true, value: id.value };
}

/**
 * A list row: `leadId` (or its alias `id`, which must agree when both are given) and the list, from a `listId`
 * column or, for rows without one, the file's `listId` option. Nothing else: the endpoint takes lead ids only.
 */
function prepareListRow(values: Values, fileListId: number | undefined): Preparation {
  const object = { ...values };
  const rowListId = takeOptionalId(object, "listId");
  if (!rowListId.ok) return rowListId.result;
  const listId = rowListId.value ?? fileListId;
  if (listId === undefined)
    return reject("listId", "listId is required (a listId column, or the file's listId option)");
  const leadId = takeOptionalId(object, "leadId");
  if (!leadId.ok) return leadId.result;
  const alias = takeOptionalId(object, "id");
  if (!alias.ok) return alias.result;
  if (leadId.value === undefined && alias.value === undefined) {
    return reject("leadId", "leadId is required (a leadId column, or its alias id)");
  }
  if (leadId.value !== undefined && alias.value !== undefined && leadId.value !== alias.value) {
    return reject("leadId", "leadId and id disagree (id is an alias of leadId)");
  }
  const extra = Object.keys(object).find((key) => !isBlank(object[key]));
  if (extra) return reject(extra, `${extra} is not accepted in a list row (only listId, and leadId or its alias id)`);
  return { ok: true, object: { leadId: (leadId.value ?? alias.value) as number }, listId };
}

/**
 * The per-row rules of the reference for each object type, applied before anything is sent. `text` says the
 * values are CSV text (declared types apply; ids are converted), not JSON values.
 */
export function createRecordPreparer(
  options: ResolvedOptions,
  fieldTypes: FieldTypeMap,
  text: boolean,
): (values: Values) => Preparation {
  switch (options.objectType) {
    case "persons": {
      const dedupe = options.dedupeFields ?? ["email"];
      return (values) => {
        const typed = applyFieldTypes(values, fieldTypes, text);
        if (!typed.ok) return typed;
        const missing = dedupe.find((field) => isBlank(typed.object[field]));
        if (missing) return reject(missing, `${missing} is required: it is a dedupe field (${dedupe.join(" + ")})`);
        return typed;
      };
    }
    case "customobjects":
      return (values) => {
        const typed = applyFieldTypes(values, fieldTypes, text);
        if (!typed.ok) return typed;
        if (options.dedupeBy === "marketoGUID" && isBlank(typed.object.marketoGUID)) {
          return reject("marketoGUID", "marketoGUID is required when dedupeBy is marketoGUID");
        }
        return typed;
      };
    case "companies":
      return (values) => {
        const typed = applyFieldTypes(values, fieldTypes, text);
        if (!typed.ok) return typed;
        const object = typed.object;
        const idKey = keyIgnoringCase(object, "id");
        const externalKey = keyIgnoringCase(object, "externalCompanyId");
        const hasId = idKey !== undefined && !isBlank(object[idKey]);
        const hasExternal = externalKey !== undefined && !isBlank(object[externalKey]);
        if (options.dedupeBy === "dedupeFields") {
          if (!hasExternal)
            return reject("externalCompanyId", "externalCompanyId is required when dedupeBy is dedupeFields");
          if (hasId) return reject("id", "id is not allowed when dedupeBy is dedupeFields");
          return typed;
        }
        if (hasExternal)
          return reject("externalCompanyId", "externalCompanyId is not allowed when dedupeBy is idField");
        const rest = { ...object };
        const id = takeId(rest, "id");
        if (!id.ok) return id.result;
        return { ok: true, object: { id: id.value, ...rest } };
      };
    case "programmembers":
      return (values) => {
        const typed = applyFieldTypes(values, fieldTypes, text);
        if (!typed.ok) return typed;
        const object = { ...typed.object };
        const programId = takeId(object, "programId");
        if (!programId.ok) return programId.result;
        const leadId = takeId(object, "leadId");
        if (!leadId.ok) return leadId.result;
        // The status may come as `status` or `statusName` (the API's aliases), or from the file's options.
        const statusKey = keyIgnoringCase(object, "status");
        const statusNameKey = keyIgnoringCase(object, "statusName");
        const fromRow = [statusKey, statusNameKey]
          .filter((key): key is string => key !== undefined)
          .map((key) => object[key])
          .filter((value) => !isBlank(value));
        if (statusKey) delete object[statusKey];
        if (statusNameKey) delete object[statusNameKey];
        if (new Set(fromRow.map((value) => String(value).trim())).size > 1) {
          return reject("status", "status and statusName disagree");
        }
        const status = fromRow.length > 0 ? String(fromRow[0]).trim() : options.status;
        if (status === undefined)
          return reject("status", "status is required (a status or statusName column, or the file's status option)");
        try {
          checkMemberStatus(status, (reason) => new Error(`status ${reason}`));
        } catch (error) {
          return reject("status", (error as Error).message);
        }
        return {
          ok: true,
          object: { leadId: leadId.value, ...object },
          program: { programId: programId.value, status },
        };
      };
    case "programmembers/delete":
      return (values) => {
        const object = { ...values };
        const programId = takeId(object, "programId");
        if (!programId.ok) return programId.result;
        const leadId = takeId(object, "leadId");
        if (!leadId.ok) return leadId.result;
        const extra = Object.keys(object).find((key) => !isBlank(object[key]));
        if (extra) return reject(extra, `${extra} is not accepted when removing members (only programId and leadId)`);
        return { ok: true, object: { leadId: leadId.value }, program: { programId: programId.value } };
      };
    case "lists":
    case "lists/remove":
      return (values) => prepareListRow(values, options.listId);
  }
}

/** A column every row of a file needs, and why. */
export interface RequiredColumn {
  column: string;
  why: string;
}

/**
 * The first column a delimited file's header lacks that every row needs under the rules above, or undefined. Such
 * a header would reject each row for the same reason, so the file is rejected once instead, naming the column.
 */
export function missingRequiredColumn(
  options: ResolvedOptions,
  columns: readonly string[],
): RequiredColumn | undefined {
  const lower = new Set(columns.map((column) => column.toLowerCase()));
  const exact = new Set(columns);
  const anyCase = (name: string) => lower.has(name.toLowerCase());
  switch (options.objectType) {
    case "persons": {
      const dedupe = options.dedupeFields ?? ["email"];
      const missing = dedupe.find((field) => !exact.has(field));
      return missing ? { column: missing, why: `it is a dedupe field (${dedupe.join(" + ")})` } : undefined;
    }
    case "customobjects":
      return options.dedupeBy === "marketoGUID" && !exact.has("marketoGUID")
        ? { column: "marketoGUID", why: "dedupeBy is marketoGUID" }
        : undefined;
    case "companies":
      if (options.dedupeBy === "dedupeFields") {
        return anyCase("externalCompanyId")
          ? undefined
          : { column: "externalCompanyId", why: "dedupeBy is dedupeFields" };
      }
      return anyCase("id") ? undefined : { column: "id", why: "dedupeBy is idField" };
    case "programmembers":
    case "programmembers/delete": {
      const id = ["programId", "leadId"].find((name) => !anyCase(name));
      if (id) return { column: id, why: "each member names its program and lead" };
      if (options.objectType === "programmembers" && options.status === undefined) {
        if (!anyCase("status") && !anyCase("statusName")) {
          return { column: "status", why: "no status option for the file, and no statusName column either" };
        }
      }
      return undefined;
    }
    case "lists":
    case "lists/remove":
      if (options.listId === undefined && !anyCase("listId")) {
        return { column: "listId", why: "no listId option for the file" };
      }
      return anyCase("leadId") || anyCase("id") ? undefined : { column: "leadId", why: "nor its alias id" };
  }
}
