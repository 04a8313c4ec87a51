import { z } from "zod";
import { InputFileError } from "../parsing/input-file-error.ts";
import { type InputFormat, InputFormatSchema } from "../parsing/input-format.ts";
import { DedupeFieldListSchema } from "../pipeline/ingestion-options.ts";
import { OBJECT_TYPES, type ObjectRoute, type ObjectType } from "../pipeline/object-route.ts";
import { type FieldTypeMap, FieldTypeMapSchema } from "./field-types.ts";

/**
 * Per-file options, as a sidecar manifest (`{key}.options.json`), S3 object metadata or stack defaults give them.
 * Values are checked against the object type in `resolveFileOptions`; this schema only fixes their shape.
 */
export const FileOptionsInputSchema = z
  .object({
    format: InputFormatSchema,
    priority: z.string(),
    partitionName: z.string().trim().min(1, "partitionName must not be blank"),
    dedupeFields: z
      .union([z.string().transform((text) => text.split(",").map((part) => part.trim())), z.array(z.string())])
      .pipe(DedupeFieldListSchema),
    dedupeBy: z.string(),
    action: z.string(),
    status: z.string(),
    fieldTypes: FieldTypeMapSchema,
  })
  .partial()
  .strict();
export type FileOptionsInput = z.infer<typeof FileOptionsInputSchema>;
type OptionName = keyof FileOptionsInput;

/** Stack-level defaults, per object type (a `dedupeBy` means different things for custom objects and companies). */
export const DefaultFileOptionsSchema = z.partialRecord(z.enum(OBJECT_TYPES), FileOptionsInputSchema).default({});
export type DefaultFileOptions = z.infer<typeof DefaultFileOptionsSchema>;

/** Which options each object type takes; anything else given for a file rejects it. */
const APPLICABLE: Record<ObjectType, readonly OptionName[]> = {
  persons: ["format", "priority", "partitionName", "dedupeFields", "fieldTypes"],
  customobjects: ["format", "priority", "dedupeBy", "fieldTypes"],
  companies: ["format", "action", "dedupeBy", "fieldTypes"],
  programmembers: ["format", "status", "fieldTypes"],
  "programmembers/delete": ["format"],
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
  | { objectType: "programmembers/delete" };

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

function checkApplicable(layer: FileOptionsInput, objectType: ObjectType, source: string): void {
  for (const name of Object.keys(layer) as OptionName[]) {
    if (!APPLICABLE[objectType].includes(name)) {
      const takers = OBJECT_TYPES.filter((type) => APPLICABLE[type].includes(name));
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
  const defaults = parseLayer(layers.defaults?.[type] ?? {}, `stack default options for ${type}`);
  checkApplicable(defaults, type, `stack default options for ${type}`);
  const sidecar = parseLayer(layers.sidecar ?? {}, "sidecar options file");
  checkApplicable(sidecar, type, "sidecar options file");
  const metadata = parseLayer(optionsFromMetadata(layers.metadata ?? {}).options, "S3 object metadata");
  checkApplicable(metadata, type, "S3 object metadata");
  const o: FileOptionsInput = { ...defaults, ...sidecar, ...metadata };

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
  }
  return { ...(o.format ? { format: o.format } : {}), fieldTypes: o.fieldTypes ?? {}, request };
}

/** Program member status: not blank, and never "Not in Program" (that is what the delete route is for). */
export function checkMemberStatus(status: string, fail: (reason: string) => Error): void {
  if (status.trim() === "") throw fail("must not be blank");
  if (status.trim().toLowerCase() === "not in program") {
    throw fail(`must not be "Not in Program": to remove members, drop the file under programmembers/delete/`);
  }
}
