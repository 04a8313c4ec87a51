import { z } from "zod";
import { DefaultFileOptionsSchema } from "../options/file-options.ts";
import { jsonOf } from "./json-text.ts";

const int = (min: number, max: number, fallback: number) => z.coerce.number().int().min(min).max(max).default(fallback);

/** Data Ingestion limits (1,000 objects, 1 MB per request); lower values are allowed, higher ones are not. */
const requestLimits = {
  MAX_REQUEST_OBJECTS: int(1, 1000, 1000),
  MAX_REQUEST_BYTES: int(1024, 1_000_000, 1_000_000),
};

/** Marketo's Bulk Import file limit (10 MB, read as 10,000,000 bytes). */
export const BULK_MAX_FILE_BYTES = 10_000_000;

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

export const SenderSettingsSchema = z
  .object({
    MARKETO_SECRET_ID: z.string().min(1),
    INGESTION_QUEUE_URL: z.string().min(1),
    INGESTION_DLQ_URL: z.string().min(1),
    WORK_BUCKET: z.string().min(1),
    /** Receives before the sender moves a message to the DLQ itself (the queue's redrive is a higher safety net). */
    MAX_ATTEMPTS: int(1, 100, 8),
    REQUEST_TIMEOUT_MS: int(1_000, 120_000, 30_000),
    IN_PROCESS_ATTEMPTS: int(1, 10, 3),
    IN_PROCESS_MAX_DELAY_MS: int(0, 60_000, 5_000),
    RETRY_BASE_MS: int(0, 3_600_000, 2_000),
    /** SQS visibility can be extended to 12 h at most. */
    RETRY_CAP_MS: int(0, 43_200_000, 900_000),
    QUOTA_DELAY_MS: int(0, 43_200_000, 3_600_000),
    /** A batch's owner message unseen for this long is gone (in the DLQ): longer than any wait it can be given. */
    CLAIM_TTL_MS: int(60_000, 172_800_000, 3 * 3_600_000),
    /** A copy of a batch another message is sending looks again after this long, doubling per delivery. */
    CLAIM_RECHECK_SECONDS: int(1, 900, 60),
    /** Sent as `X-Request-Source`: visible ASCII (what every HTTP client sends as is), at most Marketo's 50. */
    REQUEST_SOURCE: z
      .string()
      .min(1)
      .max(50)
      .regex(/^[\x21-\x7E]+$/, "visible ASCII only (no spaces, no accents)")
      .default("marketo-ingest"),
    ...requestLimits,
  })
  .refine((s) => s.CLAIM_TTL_MS > Math.max(s.QUOTA_DELAY_MS, s.RETRY_CAP_MS), {
    path: ["CLAIM_TTL_MS"],
    message: "must be longer than QUOTA_DELAY_MS and RETRY_CAP_MS, or a waiting batch could be sent twice",
  });
export type SenderSettings = z.infer<typeof SenderSettingsSchema>;

export const BulkImporterSettingsSchema = z.object({
  MARKETO_SECRET_ID: z.string().min(1),
  BULK_QUEUE_URL: z.string().min(1),
  BULK_DLQ_URL: z.string().min(1),
  WORK_BUCKET: z.string().min(1),
  /** Import jobs this deployment keeps open at Marketo (Queued + Importing); Marketo allows 10. */
  BULK_JOB_SLOTS: int(1, 10, 10),
  /** A slot whose lease was not renewed for this long is taken as abandoned (its importer crashed). */
  BULK_SLOT_LEASE_MS: int(60_000, 86_400_000, 30 * 60_000),
  BULK_SLOT_WAIT_SECONDS: int(1, 900, 30),
  BULK_POLL_FIRST_SECONDS: int(0, 900, 5),
  BULK_POLL_MAX_SECONDS: int(1, 900, 30),
  QUOTA_WAIT_SECONDS: int(60, 900, 900),
  /** Least wait after 606 (100 calls per 20 s window). */
  RATE_LIMIT_WAIT_MS: int(0, 900_000, 20_000),
  MAX_ATTEMPTS: int(1, 100, 8),
  /** A part's submitting copy unseen this long is gone; a second copy (resumed splitter) may then submit. */
  CLAIM_TTL_MS: int(60_000, 172_800_000, 3 * 3_600_000),
  CLAIM_RECHECK_SECONDS: int(1, 900, 60),
  /** A 10 MB upload needs longer than a Data Ingestion request. */
  REQUEST_TIMEOUT_MS: int(1_000, 110_000, 90_000),
  RETRY_BASE_MS: int(0, 900_000, 5_000),
  /** A retry waits as a delayed message, and SQS delays stop at 15 minutes. */
  RETRY_CAP_MS: int(0, 900_000, 900_000),
});
export type BulkImporterSettings = z.infer<typeof BulkImporterSettingsSchema>;

export const ReportWriterSettingsSchema = z.object({
  REPORT_QUEUE_URL: z.string().min(1),
  REPORT_DLQ_URL: z.string().min(1),
  WORK_BUCKET: z.string().min(1),
  REPORT_RECHECK_FIRST_SECONDS: int(0, 900, 30),
  REPORT_RECHECK_MAX_SECONDS: int(1, 900, 300),
  /** A file still running after this long has stuck batches (the DLQ alarms say which); stop re-checking. */
  REPORT_GIVE_UP_HOURS: int(1, 24 * 30, 24 * 7),
});
export type ReportWriterSettings = z.infer<typeof ReportWriterSettingsSchema>;

export class SettingsError extends Error {
  override readonly name = "SettingsError";
}

/** Validates a function's environment once, at cold start; the message names variables, never values. */
export function readSettings<S extends z.ZodType>(schema: S, env: NodeJS.ProcessEnv): z.infer<S> {
  const parsed = schema.safeParse(env);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((issue) => `${issue.path.join(".")}: ${issue.message}`);
    throw new SettingsError(`invalid function configuration: ${problems.join("; ")}`);
  }
  return parsed.data;
}
