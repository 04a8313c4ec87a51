import { z } from "zod";
import type { ObjectType } from "../options/object-route.ts";

import { DATA_INGESTION_LIMITS } from "./marketo-limits.ts";

/** The objects of a request: each a JSON object; their fields are Marketo's to check, not ours. */
const ObjectsSchema = z.array(z.record(z.string(), z.unknown())).min(1).max(DATA_INGESTION_LIMITS.maxObjects);
const PrioritySchema = z.enum(["normal", "high"]);
const FieldNameSchema = z.string().min(1).max(255);
/** Program and static list ids: positive integers. */
const ProgramIdSchema = z.number().int().positive();

interface BodyShape {
  /** The body's top level: the header members the type takes and the member holding its objects. */
  schema: z.ZodType;
  /** How many objects (program members: lead references) a body of this shape holds. */
  countObjects: (body: Record<string, unknown>) => number;
}

const flat = (arrayKey: string, header: z.ZodRawShape): BodyShape => ({
  schema: z.strictObject({ ...header, [arrayKey]: ObjectsSchema }),
  countObjects: (body) => (body[arrayKey] as unknown[]).length,
});

const programs = (program: z.ZodRawShape): BodyShape => ({
  schema: z.strictObject({
    programs: z
      .array(z.strictObject({ programId: ProgramIdSchema, ...program, members: ObjectsSchema }))
      .min(1)
      .max(DATA_INGESTION_LIMITS.maxObjects),
  }),
  countObjects: (body) => (body.programs as Array<{ members: unknown[] }>).reduce((n, p) => n + p.members.length, 0),
});

/**
 * The body each object type sends (see request-plan.ts), keyed by every type of OBJECT_TYPES: a new type does not
 * compile until its body is described here, so a message of that type is checked like the others.
 */
const BODY_SHAPES: Record<ObjectType, BodyShape> = {
  persons: flat("persons", {
    priority: PrioritySchema.optional(),
    partitionName: z.string().min(1).optional(),
    dedupeFields: z.strictObject({ field1: FieldNameSchema, field2: FieldNameSchema.optional() }).optional(),
  }),
  customobjects: flat("customObjects", {
    priority: PrioritySchema.optional(),
    dedupeBy: z.enum(["dedupeFields", "marketoGUID"]),
  }),
  companies: flat("input", {
    action: z.enum(["createOnly", "updateOnly", "createOrUpdate"]),
    dedupeBy: z.enum(["dedupeFields", "idField"]),
  }),
  programmembers: programs({ status: z.string().min(1) }),
  "programmembers/delete": programs({}),
  lists: flat("leads", { listId: ProgramIdSchema }),
  "lists/remove": flat("leads", { listId: ProgramIdSchema }),
};

export interface BodyIssue {
  path: PropertyKey[];
  message: string;
}

/**
 * What is wrong with `body` as the request of a batch of `rowCount` rows of `objectType`: its shape, and whether
 * it holds exactly that many objects. Empty when it is right. Paths start at the body.
 */
export function requestBodyIssues(objectType: ObjectType, rowCount: number, body: unknown): BodyIssue[] {
  const shape = BODY_SHAPES[objectType];
  const parsed = shape.schema.safeParse(body);
  if (!parsed.success) return parsed.error.issues.map(({ path, message }) => ({ path, message }));
  const objects = shape.countObjects(parsed.data as Record<string, unknown>);
  return objects === rowCount
    ? []
    : [{ path: [], message: `holds ${objects} objects; the batch has ${rowCount} rows` }];
}
