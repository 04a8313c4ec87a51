import { z } from "zod";
import { FileRefSchema } from "./batch-message.ts";

/** "Report this file when it is done": queued by the splitter, re-queued with a delay while batches are open. */
export const ReportMessageSchema = z.strictObject({
  v: z.literal(1),
  kind: z.literal("file-report"),
  file: FileRefSchema,
  /** How many times the file was found still running. */
  checks: z.number().int().nonnegative(),
  firstCheckAt: z.iso.datetime().optional(),
});
export type ReportMessage = z.infer<typeof ReportMessageSchema>;
