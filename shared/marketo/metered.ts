import { METRIC, type PipelineMetrics, type ThrottleCode } from "../contracts/metrics.ts";
import type { Clock } from "../time/clock.ts";
import { MarketoRequestError } from "./errors.ts";

/**
 * Runs one Marketo call and records it: a request, its latency, and when it failed, the throttle it hit (429,
 * 4290801, 606, 1016, 1029) or the reason it will be retried. Rethrows whatever the call threw.
 */
export async function metered<T>(metrics: PipelineMetrics, clock: Clock, call: () => Promise<T>): Promise<T> {
  const startedAt = clock.now();
  try {
    return await call();
  } catch (error) {
    const failure = error instanceof MarketoRequestError ? error.failure : undefined;
    const throttle = failure ? throttleCode(failure.status, failure.code) : undefined;
    if (throttle) metrics.add(METRIC.throttles, "Count", 1, { name: "Code", value: throttle });
    if (!failure || failure.disposition === "retry" || failure.disposition === "refresh-token") {
      metrics.add(METRIC.retries, "Count", 1, { name: "Reason", value: failure?.code ?? "unexpected_error" });
    }
    throw error;
  } finally {
    metrics.add(METRIC.requests, "Count", 1);
    metrics.add(METRIC.marketoLatency, "Milliseconds", clock.now() - startedAt);
  }
}

/** Marketo's limit a failure stands for, if any: Data Ingestion answers 429 (4290801: the daily quota). */
export function throttleCode(status: number | undefined, code: string): ThrottleCode | undefined {
  if (status === 429) return code === "4290801" ? "4290801" : "429";
  return code === "606" || code === "1016" || code === "1029" ? code : undefined;
}
