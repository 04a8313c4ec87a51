import { z } from "zod";
import { BULK_MAX_FILE_BYTES, int, requestLimits } from "../../shared/config/settings.ts";
import { DefaultFileOptionsSchema } from "../../shared/options/file-options.ts";
import { jsonOf } from "../../shared/text/json-text.ts";

/** The splitter's environment, checked at cold start. */
export const SplitterSettingsSchema = z.object({
  INGESTION_QUEUE_URL: z.string().min(1),
  BULK_QUEUE_URL: z.string().min(1),
  /** Largest import part, header included; lower values are allowed, higher ones are not. */
  BULK_MAX_PART_BYTES: int(1024, BULK_MAX_FILE_BYTES, BULK_MAX_FILE_BYTES),
  WORK_BUCKET: z.string().min(1),
  /** Stack-level file options per object type, e.g. `{"persons":{"priority":"high"}}` (see README). */
  DEFAULT_FILE_OPTIONS: jsonOf(DefaultFileOptionsSchema).default({}),
  /** Where a split file is announced for its report, and how soon the first look is. */
  REPORT_QUEUE_URL: z.string().min(1),
  REPORT_FIRST_CHECK_SECONDS: int(0, 900, 30),
  /** Longer than the splitter's timeout: a claim this old has no live invocation behind it. */
  SPLIT_CLAIM_LEASE_MS: int(60_000, 86_400_000, 16 * 60_000),
  ...requestLimits,
});
export type SplitterSettings = z.infer<typeof SplitterSettingsSchema>;

/** The intake function's environment: the splitter's, plus its own queue and the DLQ for invalid messages. */
export const IntakeSettingsSchema = SplitterSettingsSchema.extend({
  INTAKE_QUEUE_URL: z.string().min(1),
  INTAKE_DLQ_URL: z.string().min(1),
});
export type IntakeSettings = z.infer<typeof IntakeSettingsSchema>;
