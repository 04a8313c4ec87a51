/**
 * Numbers the CDK stack and the local runner share, so the local run behaves like the deployment.
 */
export const DEPLOYMENT_DEFAULTS = {
  /** Sender Lambda timeout. */
  senderTimeoutSeconds: 60,
  /** Messages per sender invocation (one Marketo request each). */
  senderBatchSize: 10,
  /**
   * Concurrent sender invocations: the bound on parallel Marketo requests is this × senderBatchSize. 5 × 10 = 50
   * requests in flight: at the fastest request assumed below, at most 500 requests/s, a tenth of Marketo's limit
   * (the rest is left to the instance's other integrations). See senderConcurrencyCeiling.
   */
  senderMaxConcurrency: 5,
  /** Marketo Data Ingestion: 5,000 requests per second per client id (every sender of a deployment shares one). */
  marketoRequestsPerSecond: 5_000,
  /** The fastest a Data Ingestion request is assumed to answer (assumed: no published figure), in ms. */
  fastestRequestMs: 100,
  /** Failed deliveries of a batch before the sender dead-letters it itself, with its reason. */
  maxAttempts: 8,
  /** The queues' redrive: a safety net above maxAttempts for invocations that crash. */
  redriveMaxReceiveCount: 10,
  /**
   * The ingestion queue's redrive sits higher: a batch waiting out Marketo's daily quota is received once an
   * hour (QUOTA_DELAY_MS) until the reset, up to a day, and those receives are not failed attempts.
   */
  ingestionRedriveMaxReceiveCount: 50,
  /** ≥ 6 × the sender timeout (AWS guidance for SQS event sources). */
  ingestionQueueVisibilitySeconds: 6 * 60,
  splitterTimeoutSeconds: 900,
  /**
   * Split continuations: ≥ 6 × the splitter timeout (AWS guidance for SQS event sources, as for the other queues);
   * a message's fourth receive finds three attempts spent and records the split as failed, then the DLQ keeps it.
   */
  splitContinuationVisibilitySeconds: 6 * 900,
  splitContinuationMaxReceiveCount: 4,
  /** Bulk importer timeout: one 10 MB upload or one status/failures round per message. */
  bulkImporterTimeoutSeconds: 120,
  /** ≥ 6 × the importer timeout. */
  bulkQueueVisibilitySeconds: 6 * 120,
  /** Messages per importer invocation: few, since an upload is 10 MB. */
  bulkImporterBatchSize: 2,
  /** Concurrent importer invocations (Lambda's minimum for an SQS event source is 2). */
  bulkImporterMaxConcurrency: 2,
  /** Import jobs this deployment keeps open at Marketo (Queued + Importing); Marketo allows 10. */
  bulkJobSlots: 10,
  /** Report writer timeout: one pass over the file to copy its rows with issues. */
  reportWriterTimeoutSeconds: 900,
  /** ≥ 6 × the report writer timeout. */
  reportQueueVisibilitySeconds: 6 * 900,
  /** One file per invocation: a report may copy millions of rows. */
  reportWriterBatchSize: 1,
  reportWriterMaxConcurrency: 2,
  /** Intake function timeout: one window of up to 10,000 messages claimed, written and split. */
  intakeTimeoutSeconds: 300,
  /** Messages per intake invocation (Lambda's SQS maximum; the 6 MB invoke payload may cap it first). */
  intakeBatchSize: 10_000,
  /** How long the event source gathers messages before invoking (the latency floor of an intake message). */
  intakeBatchingWindowSeconds: 5,
  /** Concurrent intake invocations: each window is split on its own. */
  intakeMaxConcurrency: 2,
  /** ≥ 6 × the intake timeout plus the batching window. */
  intakeQueueVisibilitySeconds: 6 * 300 + 5,
  dlqRetentionDays: 14,
  ingestionQueueRetentionDays: 4,
} as const;

/**
 * The highest sender max concurrency that cannot exceed Marketo's requests/s per client id: each invocation has at
 * most senderBatchSize requests in flight, each taking at least fastestRequestMs, so the fleet sends at most
 * concurrency × batchSize × 1000 / fastestRequestMs requests per second. 5,000 × 0.1 s / 10 = 50.
 */
export function senderConcurrencyCeiling(defaults: typeof DEPLOYMENT_DEFAULTS = DEPLOYMENT_DEFAULTS): number {
  const inFlightAtLimit = (defaults.marketoRequestsPerSecond * defaults.fastestRequestMs) / 1000;
  return Math.floor(inFlightAtLimit / defaults.senderBatchSize);
}
