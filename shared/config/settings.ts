import { z } from "zod";

/** An integer setting from the environment, within bounds, with its default. */
export const int = (min: number, max: number, fallback: number) =>
  z.coerce.number().int().min(min).max(max).default(fallback);

/** Data Ingestion limits (1,000 objects, 1 MB per request); lower values are allowed, higher ones are not. */
export const requestLimits = {
  MAX_REQUEST_OBJECTS: int(1, 1000, 1000),
  MAX_REQUEST_BYTES: int(1024, 1_000_000, 1_000_000),
};

/** Marketo's Bulk Import file limit (10 MB, read as 10,000,000 bytes). */
export const BULK_MAX_FILE_BYTES = 10_000_000;

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
