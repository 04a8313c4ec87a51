import { Logger, type LogItem } from "@aws-lambda-powertools/logger";
import type { ConstructorOptions } from "@aws-lambda-powertools/logger/types";
import type { Context } from "aws-lambda";

/** One structured log item as Powertools prints it: level, message, timestamp, service, then the call's fields. */
export type LogRecord = { level: string; message: string } & Record<string, unknown>;

/** Receives every log item of the process: the record, and the JSON line Powertools would have printed. */
export type LogSink = (record: LogRecord, jsonLine: string) => void;

let sink: LogSink | undefined;

/**
 * Sends every logger's items to `next` instead of stdout/stderr, or back to them with undefined. The CLI installs
 * one (a person reads its terminal); Lambda never does, so CloudWatch gets the JSON lines as before.
 */
export function setLogSink(next: LogSink | undefined): void {
  sink = next;
}

/** Powertools' Logger, printing through the process's sink when one is installed. */
class SinkAwareLogger extends Logger {
  protected override printLog(logLevel: number, log: LogItem): void {
    const current = sink;
    if (!current) return super.printLog(logLevel, log);
    log.prepareForPrint();
    const jsonLine = JSON.stringify(log.getAttributes(), this.getJsonReplacer());
    current(JSON.parse(jsonLine) as LogRecord, jsonLine);
  }

  protected override createLogger(options?: ConstructorOptions): Logger {
    return new SinkAwareLogger(options);
  }
}

/**
 * Structured JSON logs. Rule for every call site: log counts, ids, keys and error codes — never tokens, secrets or
 * record contents (this is personal data).
 */
export function createLogger(serviceName: string): Logger {
  return new SinkAwareLogger({
    serviceName,
    logLevel: (process.env.POWERTOOLS_LOG_LEVEL as "INFO" | undefined) ?? "INFO",
  });
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
