import { z } from "zod";
import { FileOptionsInputSchema } from "../options/file-options.ts";

/**
 * The public contract of the intake queue: what another AWS service (a Lambda, Step Functions, EventBridge, SNS,
 * the AWS CLI) puts on it. Versioned by `v`; a new version gets a new literal, never a changed meaning. The JSON
 * Schema under `docs/schemas/` is generated from this file (`INTAKE_MESSAGE_JSON_SCHEMA`) and a test keeps them equal.
 */
export const INTAKE_MESSAGE_VERSION = 1;

/** Every Data Ingestion type a file can name by its key prefix (bulk goes through the `mode` option). */
export const INTAKE_OBJECT_TYPE_PATTERN =
  /^(persons|companies|programmembers|programmembers\/delete|lists|lists\/remove|customobjects\/[A-Za-z][A-Za-z0-9_]{0,99})$/;

/** One record: field name → value, as one element of a JSON file (null means "no value"). */
export const IntakeRecordSchema = z.record(z.string().min(1), z.unknown());

export const IntakeS3PointerSchema = z.strictObject({
  bucket: z.string().min(3).max(63),
  key: z.string().min(1).max(1024),
  versionId: z.string().min(1).optional(),
});
export type IntakeS3Pointer = z.infer<typeof IntakeS3PointerSchema>;

export const IntakeMessageSchema = z
  .strictObject({
    v: z.literal(INTAKE_MESSAGE_VERSION),
    /** The producer's id for this message: a second message with the same id is not sent again. */
    id: z.string().min(1).max(256).optional(),
    objectType: z
      .string()
      .regex(
        INTAKE_OBJECT_TYPE_PATTERN,
        "must be persons, customobjects/{apiName}, companies, programmembers, programmembers/delete, lists or lists/remove",
      ),
    /** The same options a file's sidecar can carry (`priority`, `dedupeFields`, `listId`, `mode`, …). */
    options: FileOptionsInputSchema.optional(),
    /** The records, when they fit in the message (SQS: 1 MiB). */
    records: z.array(IntakeRecordSchema).min(1).optional(),
    /** Otherwise, where they are: an object read like a dropped file (CSV, NDJSON, JSON, gzip). */
    s3: IntakeS3PointerSchema.optional(),
  })
  .superRefine((message, ctx) => {
    if ((message.records === undefined) === (message.s3 === undefined)) {
      ctx.addIssue({ code: "custom", path: [], message: "a message holds exactly one of records or s3" });
    }
  });
export type IntakeMessage = z.infer<typeof IntakeMessageSchema>;

/** The JSON Schema of the contract, for producers (committed as `docs/schemas/intake-message.v1.json`). */
export function intakeMessageJsonSchema(): Record<string, unknown> {
  const generated = z.toJSONSchema(IntakeMessageSchema, {
    io: "input",
    target: "draft-2020-12",
    // The "exactly one of records or s3" refinement is code; say it in the schema too.
    override: (ctx) => {
      if (ctx.zodSchema === IntakeMessageSchema) {
        ctx.jsonSchema.oneOf = [{ required: ["records"] }, { required: ["s3"] }];
      }
    },
  });
  return {
    $id: "https://marketo-ingest/schemas/intake-message.v1.json",
    title: "marketo-ingest intake message, version 1",
    ...generated,
  };
}

/** How a message reached the queue: as sent, or inside an envelope AWS put around it. */
export type IntakeEnvelope = "none" | "sns" | "eventbridge";

const SnsNotificationSchema = z.object({
  Type: z.literal("Notification"),
  TopicArn: z.string(),
  Message: z.string(),
});
const EventBridgeEventSchema = z.object({
  "detail-type": z.string(),
  source: z.string(),
  detail: z.unknown(),
});

export type IntakeParseResult =
  | { ok: true; message: IntakeMessage; envelope: IntakeEnvelope }
  | { ok: false; envelope: IntakeEnvelope; error: IntakeMessageError };

/** Why a message is not a valid intake message: sent as its attributes when it is dead-lettered. */
export interface IntakeMessageError {
  code:
    | "invalid_json"
    | "unknown_object_type"
    | "schema_violation"
    | "invalid_options"
    | "record_too_large"
    | "s3_object_not_found";
  /** Where in the message, e.g. `records.3.email` (empty for the message as a whole). */
  path: string;
  message: string;
}

function parseJson(text: string): { ok: true; value: unknown } | { ok: false } {
  try {
    return { ok: true, value: JSON.parse(text) };
  } catch {
    return { ok: false };
  }
}

/**
 * Reads an SQS body as an intake message. An SNS notification (a subscription without raw message delivery) and
 * an EventBridge event (a rule targeting the queue with no input transformer) are unwrapped first: the message is
 * the notification's `Message` text or the event's `detail`.
 */
export function parseIntakeBody(body: string): IntakeParseResult {
  const outer = parseJson(body);
  if (!outer.ok) return invalid("none", "invalid_json", "", "message body is not valid JSON");
  let envelope: IntakeEnvelope = "none";
  let payload = outer.value;
  const sns = SnsNotificationSchema.safeParse(payload);
  if (sns.success) {
    envelope = "sns";
    const inner = parseJson(sns.data.Message);
    if (!inner.ok) return invalid(envelope, "invalid_json", "", "the SNS notification's Message is not valid JSON");
    payload = inner.value;
  } else {
    const event = EventBridgeEventSchema.safeParse(payload);
    if (event.success) {
      envelope = "eventbridge";
      payload = event.data.detail;
    }
  }
  const parsed = IntakeMessageSchema.safeParse(payload);
  if (parsed.success) return { ok: true, message: parsed.data, envelope };
  const issue = parsed.error.issues[0] as z.core.$ZodIssue;
  const path = issue.path.map(String).join(".");
  const code = issue.path[0] === "objectType" ? "unknown_object_type" : "schema_violation";
  return invalid(envelope, code, path, issue.message);
}

function invalid(
  envelope: IntakeEnvelope,
  code: IntakeMessageError["code"],
  path: string,
  message: string,
): IntakeParseResult {
  return { ok: false, envelope, error: { code, path, message } };
}
