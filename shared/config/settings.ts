import { z } from "zod";
import { DATA_INGESTION_LIMITS } from "../contracts/marketo-limits.ts";

/** An integer setting from the environment, within bounds, with its default. */
export const int = (min: number, max: number, fallback: number) =>
  z.coerce.number().int().min(min).max(max).default(fallback);

const { maxObjects, maxBytes } = DATA_INGESTION_LIMITS;

/** Data Ingestion limits (1,000 objects, 1 MB per request); lower values are allowed, higher ones are not. */
export const requestLimits = {
  MAX_REQUEST_OBJECTS: int(1, maxObjects, maxObjects),
  MAX_REQUEST_BYTES: int(1024, maxBytes, maxBytes),
};

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
