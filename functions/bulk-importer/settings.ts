import { z } from "zod";
import { int } from "../../shared/config/settings.ts";

/** The bulk importer's environment, checked at cold start. */
export const BulkImporterSettingsSchema = z.object({
  MARKETO_SECRET_ID: z.string().min(1),
  /** The secret is read again once older than this (a rotation reaches warm containers), and at once on 401. */
  SECRET_MAX_AGE_MS: int(0, 86_400_000, 300_000),
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
