import { z } from "zod";
import { BULK_MAX_FILE_BYTES, int, requestLimits } from "../../shared/config/settings.ts";
import { DEFAULT_READER_LIMITS } from "../../shared/parsing/reader-limits.ts";
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
  /** Reader bounds (see shared/parsing/reader-limits.ts): a file past one is rejected with the limit named. */
  MAX_COLUMNS: int(1, 100_000, DEFAULT_READER_LIMITS.maxColumns),
  MAX_FIELD_CHARS: int(1_000, 100_000_000, DEFAULT_READER_LIMITS.maxFieldChars),
  /** Below V8's longest string (~512 M characters), so a record is rejected rather than crash with a RangeError. */
  MAX_LINE_CHARS: int(1_000, 100_000_000, DEFAULT_READER_LIMITS.maxLineChars),
  ...requestLimits,
});
export type SplitterSettings = z.infer<typeof SplitterSettingsSchema>;
