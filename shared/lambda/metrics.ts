import { Metrics, MetricUnit } from "@aws-lambda-powertools/metrics";
import {
  METRIC_NAMESPACE,
  type MetricDimension,
  type MetricName,
  type MetricUnitName,
  type PipelineMetrics,
} from "../contracts/metrics.ts";

/** One EMF document as Powertools would print it. */
export type EmfDocument = ReturnType<Metrics["serializeMetrics"]>;

/** Receives every EMF document of the process instead of stdout (tests, the local runner). */
export type MetricsSink = (emf: EmfDocument) => void;

let sink: MetricsSink | undefined;

/**
 * Sends every function's metrics to `next`, or back to stdout with undefined. Outside Lambda without a sink the
 * documents are dropped: a CLI user's terminal is no place for EMF JSON.
 */
export function setMetricsSink(next: MetricsSink | undefined): void {
  sink = next;
}

const UNITS = {
  Count: MetricUnit.Count,
  Milliseconds: MetricUnit.Milliseconds,
  Seconds: MetricUnit.Seconds,
} as const satisfies Record<MetricUnitName, string>;

/** Powertools' Metrics, printing through the process's sink when one is installed (its own flushes too). */
class SinkAwareMetrics extends Metrics {
  override publishStoredMetrics(): this {
    const current = sink;
    if (!current && process.env.AWS_LAMBDA_FUNCTION_NAME) return super.publishStoredMetrics();
    if (current && this.hasStoredMetrics()) current(this.serializeMetrics());
    this.clearMetrics();
    return this;
  }
}

/**
 * Powertools Metrics for one function: plain metrics share one EMF document per invocation; each extra dimension
 * value (a retry reason, a throttle code) gets its own document, since EMF dimensions apply to a whole document.
 */
export class FunctionMetrics implements PipelineMetrics {
  private readonly documents = new Map<string, Metrics>();

  constructor(private readonly serviceName: string) {}

  add(name: MetricName, unit: MetricUnitName, value: number, dimension?: MetricDimension): void {
    this.documentFor(dimension).addMetric(name, UNITS[unit], value);
  }

  /** Publishes what the invocation recorded (to the sink, to stdout in Lambda, nowhere otherwise) and clears it. */
  publish(): void {
    for (const metrics of this.documents.values()) if (metrics.hasStoredMetrics()) metrics.publishStoredMetrics();
  }

  private documentFor(dimension: MetricDimension | undefined): Metrics {
    const key = dimension ? `${dimension.name}=${dimension.value}` : "";
    let metrics = this.documents.get(key);
    if (!metrics) {
      metrics = new SinkAwareMetrics({
        namespace: METRIC_NAMESPACE,
        serviceName: this.serviceName,
        ...(dimension ? { defaultDimensions: { [dimension.name]: dimension.value } } : {}),
      });
      this.documents.set(key, metrics);
    }
    return metrics;
  }
}

/** Publishes the function's metrics after every invocation, whether it succeeded or threw. */
export function withMetrics<E, C, R>(
  metrics: FunctionMetrics,
  handler: (event: E, context: C) => Promise<R>,
): (event: E, context: C) => Promise<R> {
  return async (event, context) => {
    try {
      return await handler(event, context);
    } finally {
      metrics.publish();
    }
  };
}
