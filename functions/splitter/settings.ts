import { z } from "zod";
import { int, requestLimits } from "../../shared/config/settings.ts";
import { BULK_MAX_REQUEST_BYTES } from "../../shared/contracts/marketo-limits.ts";
import { DEFAULT_READER_LIMITS, type ReaderLimits } from "../../shared/parsing/reader-limits.ts";
import { DefaultFileOptionsSchema } from "../../shared/options/file-options.ts";
import { DEFAULT_FIELD_LIST_TTL_MS } from "../../shared/marketo/field-lists.ts";
import { jsonOf } from "../../shared/text/json-text.ts";

/** File-level limits: a file over one is rejected whole with its own error code, nothing of it sent. */
export interface FileGuards {
  maxFileBytes: number;
  maxInflatedBytes: number;
  maxInflationRatio: number;
}

/** 10 GiB in and out: twice the largest export the pipeline is sized for; text rarely gzips beyond 20×. */
export const DEFAULT_FILE_GUARDS: FileGuards = {
  maxFileBytes: 10 * 1024 ** 3,
  maxInflatedBytes: 10 * 1024 ** 3,
  maxInflationRatio: 200,
};

/** The splitter's environment, checked at cold start. */
export const SplitterSettingsSchema = z.object({
  INGESTION_QUEUE_URL: z.string().min(1),
  BULK_QUEUE_URL: z.string().min(1),
  /** Largest import part, header included; lower values are allowed, higher ones are not. */
  BULK_MAX_PART_BYTES: int(1024, BULK_MAX_REQUEST_BYTES, BULK_MAX_REQUEST_BYTES),
  WORK_BUCKET: z.string().min(1),
  /** Stack-level file options per object type, e.g. `{"persons":{"priority":"high"}}` (see README). */
  DEFAULT_FILE_OPTIONS: jsonOf(DefaultFileOptionsSchema).default({}),
  /** Where a split file is announced for its report, and how soon the first look is. */
  REPORT_QUEUE_URL: z.string().min(1),
  REPORT_FIRST_CHECK_SECONDS: int(0, 900, 30),
  /** Longer than the splitter's timeout: a claim this old has no live invocation behind it. */
  SPLIT_CLAIM_LEASE_MS: int(60_000, 86_400_000, 16 * 60_000),
  /** Largest dropped object, as stored (compressed when gzip); checked from HeadObject before a byte is read. */
  MAX_FILE_BYTES: int(1, Number.MAX_SAFE_INTEGER, DEFAULT_FILE_GUARDS.maxFileBytes),
  /** Gzip: most bytes inflated, and most inflated bytes per compressed byte (a zip bomb inflates ~1,000×). */
  MAX_INFLATED_BYTES: int(1, Number.MAX_SAFE_INTEGER, DEFAULT_FILE_GUARDS.maxInflatedBytes),
  MAX_INFLATION_RATIO: int(2, 100_000, DEFAULT_FILE_GUARDS.maxInflationRatio),
  /** Reader bounds (see shared/parsing/reader-limits.ts): a file past one is rejected with the limit named. */
  MAX_COLUMNS: int(1, 100_000, DEFAULT_READER_LIMITS.maxColumns),
  MAX_FIELD_CHARS: int(1_000, 100_000_000, DEFAULT_READER_LIMITS.maxFieldChars),
  /** Below V8's longest string (~512 M characters), so a record is rejected rather than crash with a RangeError. */
  MAX_LINE_CHARS: int(1_000, 100_000_000, DEFAULT_READER_LIMITS.maxLineChars),
  /** The Marketo secret, for files with `fieldCheck: reject` (their columns are compared with Marketo's fields). */
  MARKETO_SECRET_ID: z.string().min(1).optional(),
  /** How long a warm splitter keeps Marketo's field list of an object before asking again. */
  FIELD_LIST_TTL_MS: int(0, 86_400_000, DEFAULT_FIELD_LIST_TTL_MS),
  /**
   * The split-continuation queue: a split that would outlast its invocation pauses at a row boundary and goes on in
   * a fresh invocation started by a message here. Unset: a split runs in one invocation or not at all.
   */
  SPLIT_CONTINUATION_QUEUE_URL: z.string().min(1).optional(),
  /** Time kept in hand when pausing: enough to stage up to 32 MiB of held bodies and write the checkpoint. */
  SPLIT_SAFETY_MARGIN_MS: int(1_000, 600_000, 60_000),
  ...requestLimits,
});
export type SplitterSettings = z.infer<typeof SplitterSettingsSchema>;

export const fileGuardsOf = (settings: SplitterSettings): FileGuards => ({
  maxFileBytes: settings.MAX_FILE_BYTES,
  maxInflatedBytes: settings.MAX_INFLATED_BYTES,
  maxInflationRatio: settings.MAX_INFLATION_RATIO,
});
/** The reader's limits as configured (the report writer reads the file again under the same ones). */
export const readerLimitsOf = (settings: SplitterSettings): ReaderLimits => ({
  maxColumns: settings.MAX_COLUMNS,
  maxFieldChars: settings.MAX_FIELD_CHARS,
  maxLineChars: settings.MAX_LINE_CHARS,
});

/** The intake function's environment: the splitter's, plus its own queue and the DLQ for invalid messages. */
export const IntakeSettingsSchema = SplitterSettingsSchema.extend({
  INTAKE_QUEUE_URL: z.string().min(1),
  INTAKE_DLQ_URL: z.string().min(1),
});
export type IntakeSettings = z.infer<typeof IntakeSettingsSchema>;
