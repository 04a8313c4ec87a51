import { Logger } from "@aws-lambda-powertools/logger";
import type { Context } from "aws-lambda";

/**
 * Structured JSON logs. Rule for every call site: log counts, ids, keys and error codes — never tokens, secrets or
 * record contents (this is personal data).
 */
export function createLogger(serviceName: string): Logger {
  return new Logger({ serviceName, logLevel: (process.env.POWERTOOLS_LOG_LEVEL as "INFO" | undefined) ?? "INFO" });
}

export type { Logger };

/**
 * Powertools' injectLambdaContext for a plain handler function: every line of the invocation carries the
 * request id, function name and cold-start flag. The event itself is never logged (it holds personal data).
 */
export function withLambdaContext<E, R>(
  logger: Logger,
  handler: (event: E, context: Context) => Promise<R>,
): (event: E, context: Context) => Promise<R> {
  return async (event, context) => {
    logger.addContext(context);
    return handler(event, context);
  };
}
