import { z } from "zod";
import { DefaultFileOptionsSchema } from "../options/file-options.ts";
import { jsonOf } from "./json-text.ts";

const int = (min: number, max: number, fallback: number) => z.coerce.number().int().min(min).max(max).default(fallback);

/** Data Ingestion limits (1,000 objects, 1 MB per request); lower values are allowed, higher ones are not. */
const requestLimits = {
  MAX_REQUEST_OBJECTS: int(1, 1000, 1000),
  MAX_REQUEST_BYTES: int(1024, 1_000_000, 1_000_000),
};

export const SplitterSettingsSchema = z.object({
  INGESTION_QUEUE_URL: z.string().min(1),
  WORK_BUCKET: z.string().min(1),
  /** Stack-level file options per object type, e.g. `{"persons":{"priority":"high"}}` (see README). */
  DEFAULT_FILE_OPTIONS: jsonOf(DefaultFileOptionsSchema).default({}),
  ...requestLimits,
});
export type SplitterSettings = z.infer<typeof SplitterSettingsSchema>;

export const SenderSettingsSchema = z.object({
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
  REQUEST_SOURCE: z.string().max(50).default("marketo-ingest"),
  ...requestLimits,
});
export type SenderSettings = z.infer<typeof SenderSettingsSchema>;

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
