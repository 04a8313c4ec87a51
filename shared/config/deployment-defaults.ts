/**
 * Numbers the CDK stack and the local runner share, so the local run behaves like the deployment.
 */
export const DEPLOYMENT_DEFAULTS = {
  /** Sender Lambda timeout. */
  senderTimeoutSeconds: 60,
  /** Messages per sender invocation (one Marketo request each). */
  senderBatchSize: 10,
  /** Concurrent sender invocations: the bound on parallel Marketo requests is this × senderBatchSize. */
  senderMaxConcurrency: 5,
  /** Receives before the sender dead-letters a message itself, with its reason. */
  maxAttempts: 8,
  /** The queue's redrive: a safety net above maxAttempts for invocations that crash. */
  redriveMaxReceiveCount: 10,
  /** ≥ 6 × the sender timeout (AWS guidance for SQS event sources). */
  ingestionQueueVisibilitySeconds: 6 * 60,
  splitterTimeoutSeconds: 900,
  dlqRetentionDays: 14,
  ingestionQueueRetentionDays: 4,
} as const;
