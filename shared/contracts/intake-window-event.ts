import { z } from "zod";

/**
 * The public event a window's report writer puts on the optional window event bus once the window's report is
 * final: producers react to it (a rule on `source` and `detail-type`) instead of polling. Versioned: a new version
 * gets a new `detail-type` and `v`, never a changed meaning. The JSON Schema under `docs/schemas/` is generated from
 * this file and a test keeps them equal.
 */
export const WINDOW_EVENT_VERSION = 1;
export const WINDOW_EVENT_SOURCE = "marketo-ingest.intake";
export const WINDOW_EVENT_DETAIL_TYPE = `Intake Window Finished v${WINDOW_EVENT_VERSION}`;

/**
 * A producer message as the event and the window's report name it: its producer `id` when it was sent with one,
 * else its SQS message id (both are what `marketo-ingest status ID --message` takes).
 */
const MessageNameSchema = z.string().min(1).max(256);

export const WindowFinishedDetailSchema = z.strictObject({
  v: z.literal(WINDOW_EVENT_VERSION),
  /** The window file in the work bucket (`intake/{date}/{window}/{n}-{type}.ndjson`). */
  windowKey: z.string().min(1),
  windowId: z.string().min(1),
  objectType: z.string().min(1),
  status: z.enum(["complete", "complete with failures", "rejected", "failed"]),
  /** Where the whole story is: `report.json` of the window, in `bucket` (the work bucket). */
  bucket: z.string().min(1),
  reportKey: z.string().min(1),
  /** Producer messages the window holds. */
  messages: z.number().int().nonnegative(),
  /** Records of those messages, by where they ended (read = accepted + rejected + failed + deadLettered). */
  records: z.strictObject({
    read: z.number().int().nonnegative(),
    accepted: z.number().int().nonnegative(),
    rejected: z.number().int().nonnegative(),
    failed: z.number().int().nonnegative(),
    deadLettered: z.number().int().nonnegative(),
  }),
  /** Messages with at least one record Marketo refused, refused before sending, or dead-lettered. */
  failedMessageIds: z.array(MessageNameSchema),
  rejectedMessageIds: z.array(MessageNameSchema),
  deadLetteredMessageIds: z.array(MessageNameSchema),
  /**
   * True when the id lists were cut to keep the event within EventBridge's 256 KB: `report.json` lists every
   * message with its outcome.
   */
  messageIdsTruncated: z.boolean(),
  finishedAt: z.string(),
});
export type WindowFinishedDetail = z.infer<typeof WindowFinishedDetailSchema>;

/** Publishes one window's event; throws when it could not be delivered (the report message is then retried). */
export interface WindowEventPublisher {
  publish(detail: WindowFinishedDetail): Promise<void>;
}

/** The JSON Schema of the event's `detail`, for consumers (committed as `docs/schemas/intake-window-finished.v1.json`). */
export function windowFinishedDetailJsonSchema(): Record<string, unknown> {
  return {
    $id: `https://marketo-ingest/schemas/intake-window-finished.v${WINDOW_EVENT_VERSION}.json`,
    title: `marketo-ingest "${WINDOW_EVENT_DETAIL_TYPE}" event detail (source ${WINDOW_EVENT_SOURCE})`,
    ...z.toJSONSchema(WindowFinishedDetailSchema, { io: "output", target: "draft-2020-12" }),
  };
}
