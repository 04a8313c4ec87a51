/** Why a message went to a dead-letter queue: sent as its message attributes. */
export interface DeadLetterReason {
  code: string;
  message: string;
  attempts: number;
  firstAttemptAt?: string;
  firstFailureAt?: string;
  lastFailureAt: string;
  reportPrefix?: string;
  batchIndex?: number;
  /** Where in the message the problem is (an intake message's validation error, e.g. `records.3`). */
  path?: string;
}

/** Moves a message to the dead-letter queue with the reason as attributes. */
export interface DeadLetters {
  deadLetter(body: string, reason: DeadLetterReason): Promise<void>;
}

/** A queue whose messages wait by becoming visible later (the sender: the receive count tells the attempts). */
export interface QueueControl extends DeadLetters {
  /** Makes a failed message visible again after `seconds` (the retry backoff). */
  retryAfter(receiptHandle: string, seconds: number): Promise<void>;
}

/** A queue whose messages wait as new delayed messages (bulk steps, report re-checks): no receive count grows. */
export interface DelayQueue extends DeadLetters {
  /** Queues the message again, visible after `delaySeconds` (≤ 900): how work waits without a Lambda waiting. */
  requeue(body: string, delaySeconds: number): Promise<void>;
}
