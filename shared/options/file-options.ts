import { z } from "zod";
import { InputFileError } from "../parsing/input-file-error.ts";
import { type InputFormat, InputFormatSchema } from "../parsing/input-format.ts";
import { DedupeFieldListSchema } from "./ingestion-options.ts";
import { BULK_TYPES, type BulkRoute, type BulkType, bulkRouteFor, bulkType } from "./bulk-route.ts";
import { OBJECT_TYPES, type ObjectRoute, type ObjectType } from "./object-route.ts";
import { type FieldTypeMap, FieldTypeMapSchema } from "./field-types.ts";
import { type FieldMap, FieldMapSchema } from "./field-map.ts";

// Ids arrive as text from S3 metadata and as numbers from JSON; either way a positive integer.
const PositiveIdSchema = z.union([z.number(), z.string().trim()]).transform((value, ctx) => {
  const text = String(value);
  // Past 2^53 a number is silently rounded: an id must stay exactly what the file said.
  if (/^[1-9][0-9]{0,15}$/.test(text) && Number.isSafeInteger(Number(text))) return Number(text);
  ctx.addIssue({ code: "custom", message: "must be a positive integer (at most 9007199254740991)" });
  return z.NEVER;
});

/**
 * Per-file options, as a sidecar manifest (`{key}.options.json`), S3 object metadata or stack defaults give them.
 * Values are checked against the object type in `resolveFileOptions`; this schema only fixes their shape.
 */
export const FileOptionsInputSchema = z
  .object({
    format: InputFormatSchema,
    priority: z.string(),
    // Marketo names (partitions, fields, statuses) are at most 255 characters; queue messages hold them to it too.
    partitionName: z.string().trim().min(1, "partitionName must not be blank").max(255),
    dedupeFields: z
      .union([z.string().transform((text) => text.split(",").map((part) => part.trim())), z.array(z.string())])
      .pipe(DedupeFieldListSchema),
    dedupeBy: z.string(),
    action: z.string(),
    status: z.string(),
    fieldTypes: FieldTypeMapSchema,
    /** Renames (`"Email Address": "email"`) or drops (`null`) columns before anything else reads them. */
    fieldMap: FieldMapSchema,
    /**
     * `reject`: the splitter compares the file's columns (after fieldMap) with Marketo's describe field list and
     * rejects the file, naming the column and the field meant, before anything is sent. `off` (the default) does not.
     */
    fieldCheck: z.string().transform((text, ctx) => {
      const check = text.trim().toLowerCase();
      if (check === "reject" || check === "off") return check;
      ctx.addIssue({ code: "custom", message: "fieldCheck must be reject or off" });
      return z.NEVER;
    }),
    /** `bulk` sends the file as Bulk Import jobs instead of Data Ingestion requests. */
    mode: z.string().transform((text, ctx) => {
      const mode = text.trim().toLowerCase();
      if (mode === "bulk" || mode === "ingestion") return mode;
      ctx.addIssue({ code: "custom", message: "mode must be bulk or ingestion" });
      return z.NEVER;
    }),
    lookupField: z.string().trim().min(1, "lookupField must not be blank").max(255),
    listId: PositiveIdSchema,
    programId: PositiveIdSchema,
    programMemberStatus: z.string().max(255),
  })
  .partial()
  .strict();
export type FileOptionsInput = z.infer<typeof FileOptionsInputSchema>;
type OptionName = keyof FileOptionsInput;

/** Stack-level defaults, per object type (a `dedupeBy` means different things for custom objects and companies). */
export const DefaultFileOptionsSchema = z
  .partialRecord(z.enum([...OBJECT_TYPES, ...BULK_TYPES]), FileOptionsInputSchema)
  .default({});
export type DefaultFileOptions = z.infer<typeof DefaultFileOptionsSchema>;

type OptionsType = ObjectType | BulkType;
const OPTIONS_TYPES: readonly OptionsType[] = [...OBJECT_TYPES, ...BULK_TYPES];

/** Which options each object type takes; anything else given for a file rejects it. */
const APPLICABLE: Record<OptionsType, readonly OptionName[]> = {
  persons: ["format", "fieldMap", "fieldCheck", "priority", "partitionName", "dedupeFields", "fieldTypes", "mode"],
  customobjects: ["format", "fieldMap", "fieldCheck", "priority", "dedupeBy", "fieldTypes", "mode"],
  companies: ["format", "fieldMap", "fieldCheck", "action", "dedupeBy", "fieldTypes"],
  programmembers: ["format", "fieldMap", "fieldCheck", "status", "fieldTypes", "mode"],
  "programmembers/delete": ["format", "fieldMap", "fieldCheck"],
  // listId names the list of rows that have no listId column (a request holds one list).
  lists: ["format", "fieldMap", "listId"],
  "lists/remove": ["format", "fieldMap", "listId"],
  "bulk/leads": ["format", "fieldMap", "fieldCheck", "mode", "lookupField", "listId", "partitionName"],
  "bulk/customobjects": ["format", "fieldMap", "fieldCheck", "mode"],
  // programId names the program of a mode=bulk file under programmembers/ (the bulk prefix carries it).
  "bulk/programmembers": ["format", "fieldMap", "fieldCheck", "mode", "programMemberStatus", "programId"],
};

export type ResolvedOptions =
  | {
      objectType: "persons";
      priority?: "normal" | "high";
      partitionName?: string;
      dedupeFields?: string[];
    }
  | {
      objectType: "customobjects";
      apiName: string;
      priority?: "normal" | "high";
      dedupeBy: "dedupeFields" | "marketoGUID";
    }
  | {
      objectType: "companies";
      action: "createOnly" | "updateOnly" | "createOrUpdate";
      dedupeBy: "dedupeFields" | "idField";
    }
  | { objectType: "programmembers"; status?: string }
  | { objectType: "programmembers/delete" }
  | { objectType: "lists" | "lists/remove"; listId?: number };

export interface FileOptions {
  /** undefined: decided by the key's extension. */
  format?: InputFormat;
  fieldTypes: FieldTypeMap;
  request: ResolvedOptions;
}

export interface OptionLayers {
  defaults?: DefaultFileOptions;
  /** Parsed sidecar manifest JSON (unknown shape until checked here). */
  sidecar?: unknown;
  /** S3 user metadata (keys arrive lower-cased). */
  metadata?: Record<string, string>;
}

const invalid = (message: string) => new InputFileError("INVALID_OPTIONS", message);

const METADATA_KEYS: Record<string, OptionName> = Object.fromEntries(
  (Object.keys(FileOptionsInputSchema.shape) as OptionName[]).map((name) => [name.toLowerCase(), name]),
);

/**
 * S3 metadata → options. Keys match without case, `-` or `_` (`x-amz-meta-dedupe-fields`); keys that name no
 * option are returned as `ignored` (other tools put their own metadata on objects).
 */
export function optionsFromMetadata(metadata: Record<string, string>): {
  options: Record<string, string>;
  ignored: string[];
} {
  const options: Record<string, string> = {};
  const ignored: string[] = [];
  for (const [key, value] of Object.entries(metadata)) {
    const name = METADATA_KEYS[key.toLowerCase().replace(/[-_]/g, "")];
    if (name) options[name] = value;
    else ignored.push(key);
  }
  return { options, ignored };
}

function parseLayer(raw: unknown, source: string): FileOptionsInput {
  const parsed = FileOptionsInputSchema.safeParse(raw);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((issue) =>
      issue.code === "unrecognized_keys"
        ? `unknown option ${issue.keys.map((k) => `"${k}"`).join(", ")}`
        : `${issue.path.join(".") || "options"}: ${issue.message}`,
    );
    throw invalid(`${source}: ${problems.join("; ")}`);
  }
  return parsed.data;
}

function checkApplicable(layer: FileOptionsInput, objectType: OptionsType, source: string): void {
  for (const name of Object.keys(layer) as OptionName[]) {
    if (!APPLICABLE[objectType].includes(name)) {
      const takers = OPTIONS_TYPES.filter((type) => APPLICABLE[type].includes(name));
      throw invalid(`${source}: ${name} is not an option of ${objectType} (it applies to ${takers.join(", ")})`);
    }
  }
}

const PRIORITIES = ["normal", "high"] as const;
const COMPANY_ACTIONS = ["createOnly", "updateOnly", "createOrUpdate"] as const;

function oneOfIgnoringCase<T extends string>(value: string, allowed: readonly T[]): T | undefined {
  return allowed.find((candidate) => candidate.toLowerCase() === value.trim().toLowerCase());
}

/**
 * Merges the layers (metadata over sidecar over stack defaults, option by option) and applies the reference's
 * rules for the route's object type. Throws InputFileError("INVALID_OPTIONS") naming the option and its source.
 */
export function resolveFileOptions(route: ObjectRoute, layers: OptionLayers): FileOptions {
  const type = route.objectType;
  const o = mergeLayers(type, layers);
  // Callers that allow bulk go through resolveTarget, which never hands a bulk file here.
  if (o.mode === "bulk") throw invalid(`mode=bulk is not expected here for ${type}`);

  const priority = () => {
    if (o.priority === undefined) return {};
    const value = oneOfIgnoringCase(o.priority, PRIORITIES);
    if (!value) throw invalid(`priority must be normal or high`);
    return { priority: value };
  };

  let request: ResolvedOptions;
  switch (type) {
    case "persons":
      request = {
        objectType: type,
        ...priority(),
        ...(o.partitionName ? { partitionName: o.partitionName } : {}),
        ...(o.dedupeFields ? { dedupeFields: o.dedupeFields } : {}),
      };
      break;
    case "customobjects": {
      const dedupeBy = oneOfIgnoringCase(o.dedupeBy ?? "dedupeFields", ["dedupeFields", "marketoGUID"] as const);
      if (!dedupeBy) throw invalid("dedupeBy of a custom object must be dedupeFields or marketoGUID");
      request = { objectType: type, apiName: route.apiName as string, ...priority(), dedupeBy };
      break;
    }
    case "companies": {
      const action = o.action ?? "createOrUpdate";
      if (!(COMPANY_ACTIONS as readonly string[]).includes(action)) {
        throw invalid(`action must be one of ${COMPANY_ACTIONS.join(", ")} (case-sensitive)`);
      }
      const dedupeBy = oneOfIgnoringCase(o.dedupeBy ?? "dedupeFields", ["dedupeFields", "idField"] as const);
      if (!dedupeBy) throw invalid("dedupeBy of companies must be dedupeFields or idField (any case)");
      if (dedupeBy === "idField" && action !== "updateOnly") {
        throw invalid(`action ${action} allows only dedupeBy dedupeFields; idField needs action updateOnly`);
      }
      request = { objectType: type, action: action as (typeof COMPANY_ACTIONS)[number], dedupeBy };
      break;
    }
    case "programmembers":
      if (o.status !== undefined) checkMemberStatus(o.status, (reason) => invalid(`status ${reason}`));
      request = { objectType: type, ...(o.status !== undefined ? { status: o.status.trim() } : {}) };
      break;
    case "programmembers/delete":
      request = { objectType: type };
      break;
    case "lists":
    case "lists/remove":
      request = { objectType: type, ...(o.listId !== undefined ? { listId: o.listId } : {}) };
      break;
  }
  return { ...(o.format ? { format: o.format } : {}), fieldTypes: o.fieldTypes ?? {}, request };
}

/** The parsed layers for an object type, each checked against what the type takes, merged option by option. */
function mergeLayers(type: OptionsType, layers: OptionLayers): FileOptionsInput {
  const sources: Array<[unknown, string]> = [
    [layers.defaults?.[type] ?? {}, `stack default options for ${type}`],
    [layers.sidecar ?? {}, "sidecar options file"],
    [optionsFromMetadata(layers.metadata ?? {}).options, "S3 object metadata"],
  ];
  const merged: FileOptionsInput = {};
  for (const [raw, source] of sources) {
    const layer = parseLayer(raw, source);
    checkApplicable(layer, type, source);
    Object.assign(merged, layer);
  }
  return merged;
}

/** The options of a Bulk Import job; `format` is the delimiter of the parts (the file's own when delimited). */
export interface BulkFileOptions {
  format?: InputFormat;
  lookupField?: string;
  listId?: number;
  partitionName?: string;
  programMemberStatus?: string;
}

/** Where a dropped file goes, with its options resolved. */
export type FileTarget = (
  | { kind: "ingestion"; route: ObjectRoute; options: FileOptions }
  | { kind: "bulk"; route: BulkRoute; options: BulkFileOptions }
) & {
  /** Applied to every row before the type's rules (see applyFieldMap); not a request option. */
  fieldMap?: FieldMap;
  /** Compare the columns with Marketo's field list on arrival and reject the file on an unknown one. */
  fieldCheck?: "reject";
};

/**
 * A file under a Data Ingestion prefix goes to Data Ingestion unless its options say `mode=bulk` (metadata over
 * sidecar over the type's stack default); then it is resolved as the matching bulk type.
 */
export function resolveTarget(route: ObjectRoute | BulkRoute, layers: OptionLayers): FileTarget {
  const withFieldMap = (target: FileTarget, type: OptionsType): FileTarget => {
    const { fieldMap, fieldCheck } = mergeLayers(type, layers);
    return {
      ...target,
      ...(fieldMap && Object.keys(fieldMap).length > 0 ? { fieldMap } : {}),
      ...(fieldCheck === "reject" ? { fieldCheck } : {}),
    };
  };
  if ("target" in route) {
    return withFieldMap({ kind: "bulk", route, options: resolveBulkOptions(route, layers) }, bulkType(route));
  }
  const mode = layerValue(route.objectType, layers, "mode");
  if (mode !== "bulk") {
    return withFieldMap({ kind: "ingestion", route, options: resolveFileOptions(route, layers) }, route.objectType);
  }
  const bulk = bulkRouteFor(route, layerValue(route.objectType, layers, "programId"));
  return withFieldMap({ kind: "bulk", route: bulk, options: resolveBulkOptions(bulk, layers) }, bulkType(bulk));
}

/**
 * Stack defaults, checked at synth: shapes and applicability for every type, and the full rules for Data
 * Ingestion types (bulk rules such as a program member status may be met per file, so they wait for the file).
 */
export function checkDefaultOptions(defaults: DefaultFileOptions, routeOf: (type: ObjectType) => ObjectRoute): void {
  for (const type of OPTIONS_TYPES) {
    if (!defaults[type]) continue;
    const merged = mergeLayers(type, { defaults });
    if ((OBJECT_TYPES as readonly string[]).includes(type) && merged.mode !== "bulk") {
      resolveFileOptions(routeOf(type as ObjectType), { defaults });
    }
  }
}

/**
 * One option as the layers set it (metadata over sidecar over the type's default), read before the type is
 * settled; an invalid value counts as unset here and is reported when the layers are merged for the final type.
 */
function layerValue<K extends "mode" | "programId">(
  type: ObjectType,
  layers: OptionLayers,
  name: K,
): FileOptionsInput[K] | undefined {
  let value: FileOptionsInput[K] | undefined;
  for (const layer of [layers.defaults?.[type], layers.sidecar, optionsFromMetadata(layers.metadata ?? {}).options]) {
    const raw = layer && typeof layer === "object" ? (layer as Record<string, unknown>)[name] : undefined;
    const parsed = FileOptionsInputSchema.shape[name].safeParse(raw);
    if (parsed.success && parsed.data !== undefined) value = parsed.data as FileOptionsInput[K];
  }
  return value;
}

/** Options of a bulk file, checked against its bulk type (a program member import needs its status). */
export function resolveBulkOptions(route: BulkRoute, layers: OptionLayers): BulkFileOptions {
  const type = bulkType(route);
  const o = mergeLayers(type, layers);
  if (o.format === "json" || o.format === "ndjson") {
    // A JSON input is still accepted (by its extension); `format` names the delimiter of the submitted files.
    throw invalid("format of a bulk import must be csv, tsv or ssv");
  }
  if (route.target === "programmembers") {
    if (o.programMemberStatus === undefined) {
      throw invalid("a program member bulk import needs the option programMemberStatus (the members' status)");
    }
    checkMemberStatus(o.programMemberStatus, (reason) => invalid(`programMemberStatus ${reason}`));
  }
  return {
    ...(o.format ? { format: o.format } : {}),
    ...(o.lookupField ? { lookupField: o.lookupField } : {}),
    ...(o.listId !== undefined ? { listId: o.listId } : {}),
    ...(o.partitionName ? { partitionName: o.partitionName } : {}),
    ...(o.programMemberStatus !== undefined ? { programMemberStatus: o.programMemberStatus.trim() } : {}),
  };
}

/** Program member status: not blank, and never "Not in Program" (that is what the delete route is for). */
export function checkMemberStatus(status: string, fail: (reason: string) => Error): void {
  if (status.trim() === "") throw fail("must not be blank");
  if (status.trim().toLowerCase() === "not in program") {
    throw fail(`must not be "Not in Program": to remove members, drop the file under programmembers/delete/`);
  }
}
