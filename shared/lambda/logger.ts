import { Logger } from "@aws-lambda-powertools/logger";

/**
 * Structured JSON logs. Rule for every call site: log counts, ids, keys and error codes — never tokens, secrets or
 * record contents (this is personal data).
 */
export function createLogger(serviceName: string): Logger {
  return new Logger({ serviceName, logLevel: (process.env.POWERTOOLS_LOG_LEVEL as "INFO" | undefined) ?? "INFO" });
}

export type { Logger };
