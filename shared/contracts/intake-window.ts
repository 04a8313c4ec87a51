import { createHash } from "node:crypto";
import { z } from "zod";
import { RowRangesSchema } from "./batch-message.ts";

/**
 * An intake window: the valid producer messages of one intake invocation that share an object type and options,
 * written as one NDJSON file in the work bucket (`intake/{date}/{windowId}/{n}-{type}.ndjson`) and split like a
 * dropped file. This descriptor sits beside it (`….window.json`) and says which rows came from which message.
 */
export const IntakeWindowSchema = z.object({
  v: z.literal(1),
  windowId: z.string().min(1),
  objectType: z.string().min(1),
  /** The messages' options, as they gave them (the group key). */
  options: z.record(z.string(), z.unknown()).optional(),
  messages: z.array(
    z.object({
      messageId: z.string().min(1),
      id: z.string().min(1).optional(),
      /** The message's records are these rows of the window file (1-based, inclusive). */
      rows: RowRangesSchema,
    }),
  ),
  createdAt: z.string(),
});
export type IntakeWindow = z.infer<typeof IntakeWindowSchema>;

export const INTAKE_PREFIX = "intake/";
export const isIntakeWindowKey = (key: string): boolean => key.startsWith(INTAKE_PREFIX) && key.endsWith(".ndjson");
export const intakeWindowDescriptorKey = (windowKey: string): string => `${windowKey}.window.json`;

/** Claimed by the first delivery of a producer message; a later delivery with the same id finds it. */
export const IntakeMessageClaimSchema = z.object({
  messageId: z.string().min(1),
  id: z.string().min(1).optional(),
  claimedAt: z.string(),
  /** Where the message's records went: its window file, or the object an S3 pointer named. */
  source: z.object({ bucket: z.string(), key: z.string(), versionId: z.string().optional() }),
});
export type IntakeMessageClaim = z.infer<typeof IntakeMessageClaimSchema>;

/** What makes two deliveries the same message: the producer's id, else the SQS message id (a redelivery). */
export const intakeDedupeKey = (message: { id?: string | undefined; messageId: string }): string =>
  message.id !== undefined ? `id:${message.id}` : `sqs:${message.messageId}`;

/** The claim's key in the work bucket (hashed: producer ids may hold any character). */
export const intakeClaimKey = (dedupeKey: string): string =>
  `${INTAKE_PREFIX}messages/${createHash("sha256").update(dedupeKey).digest("hex")}.json`;
