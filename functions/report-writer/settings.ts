import { z } from "zod";
import { int } from "../../shared/config/settings.ts";

/** The report writer's environment, checked at cold start. */
export const ReportWriterSettingsSchema = z.object({
  REPORT_QUEUE_URL: z.string().min(1),
  REPORT_DLQ_URL: z.string().min(1),
  WORK_BUCKET: z.string().min(1),
  REPORT_RECHECK_FIRST_SECONDS: int(0, 900, 30),
  REPORT_RECHECK_MAX_SECONDS: int(1, 900, 300),
  /** A file still running after this long has stuck batches (the DLQ alarms say which); stop re-checking. */
  REPORT_GIVE_UP_HOURS: int(1, 24 * 30, 24 * 7),
  /** The bus (name or ARN) that gets one event per finished intake window; unset, no events. */
  WINDOW_EVENT_BUS: z.string().min(1).max(1600).optional(),
  /** Tries per window event for entries EventBridge fails with a retryable code, and their backoff. */
  WINDOW_EVENT_MAX_ATTEMPTS: int(1, 10, 5),
  WINDOW_EVENT_RETRY_BASE_MS: int(1, 60_000, 200),
  WINDOW_EVENT_RETRY_CAP_MS: int(1, 60_000, 5_000),
});
export type ReportWriterSettings = z.infer<typeof ReportWriterSettingsSchema>;
