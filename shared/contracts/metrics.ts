/**
 * The pipeline's CloudWatch metrics (EMF, namespace METRIC_NAMESPACE, dimension `service` = the function's service
 * name): the functions emit them and the dashboard and alarms in infra/ read them by these names.
 */
export const METRIC_NAMESPACE = "MarketoIngest";

export const METRIC = {
  /** Splitter: rows read from dropped files, queued as batches or parts, rejected before sending. */
  rowsRead: "RowsRead",
  rowsQueued: "RowsQueued",
  rowsRejected: "RowsRejected",
  /** Sender and bulk importer: HTTP requests to Marketo (identity excluded), answered or not. */
  requests: "Requests",
  /** Milliseconds from sending a request to its answer (or its transport failure). */
  marketoLatency: "MarketoLatency",
  /** Rows by final outcome: accepted by Marketo, failed (refused by Marketo), dead-lettered (retries exhausted). */
  acceptedRows: "AcceptedRows",
  failedRows: "FailedRows",
  deadLetteredRows: "DeadLetteredRows",
  /** Transient failures that will be retried, with dimension `Reason` (Marketo's code or the transport's). */
  retries: "Retries",
  /** Marketo's limits hit, with dimension `Code` (one of THROTTLE_CODES). */
  throttles: "Throttles",
  /** Objects in requests Marketo accepted; summed over a day against the 10,000,000 objects/day quota. */
  objectsSent: "ObjectsSent",
  /** Batches that waited out the fleet-wide pause (another sender's 429 or the daily quota) without sending. */
  fleetPausedBatches: "FleetPausedBatches",
  /** Bulk importer: seconds from a part's first try to its job's submission (Marketo's job queue full). */
  bulkJobWait: "BulkJobWaitSeconds",
  /** Bulk importer: seconds from a job's submission to the poll that saw it end. */
  bulkJobRun: "BulkJobRunSeconds",
  /** Report writer: final reports written. */
  reportsWritten: "ReportsWritten",
} as const;
export type MetricName = (typeof METRIC)[keyof typeof METRIC];

/** Marketo's limit codes counted as throttles: Data Ingestion 429 and 4290801, REST 606, Bulk 1016 and 1029. */
export const THROTTLE_CODES = ["429", "4290801", "606", "1016", "1029"] as const;
export type ThrottleCode = (typeof THROTTLE_CODES)[number];

export type MetricUnitName = "Count" | "Milliseconds" | "Seconds";

/** One extra dimension of a metric (beside `service`): a small, closed set of values (codes), never ids. */
export interface MetricDimension {
  name: "Reason" | "Code";
  value: string;
}

/** What the cores record; the Lambda glue publishes it once per invocation. */
export interface PipelineMetrics {
  add(name: MetricName, unit: MetricUnitName, value: number, dimension?: MetricDimension): void;
}
