import type { Duration } from "aws-cdk-lib";
import type { IKey } from "aws-cdk-lib/aws-kms";
import { Queue, QueueEncryption } from "aws-cdk-lib/aws-sqs";
import { Construct } from "constructs";

export interface QueueWithDlqProps {
  visibilityTimeout: Duration;
  retentionPeriod: Duration;
  /** Receives before SQS moves a message to the DLQ. */
  maxReceiveCount: number;
  /** Must outlive the source queue's retention: a message's age counts from its first enqueue. */
  deadLetterRetention: Duration;
  /** A customer-managed KMS key for the source queue (SQS-managed encryption otherwise). */
  encryptionKey?: IKey;
}

/** An encrypted, TLS-only queue whose failures land in an equally protected dead-letter queue. */
export class QueueWithDlq extends Construct {
  readonly queue: Queue;
  readonly deadLetterQueue: Queue;

  constructor(scope: Construct, id: string, props: QueueWithDlqProps) {
    super(scope, id);
    this.deadLetterQueue = new Queue(this, "DeadLetterQueue", {
      encryption: QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      retentionPeriod: props.deadLetterRetention,
    });
    this.queue = new Queue(this, "Queue", {
      ...(props.encryptionKey
        ? { encryption: QueueEncryption.KMS, encryptionMasterKey: props.encryptionKey }
        : { encryption: QueueEncryption.SQS_MANAGED }),
      enforceSSL: true,
      visibilityTimeout: props.visibilityTimeout,
      retentionPeriod: props.retentionPeriod,
      deadLetterQueue: { queue: this.deadLetterQueue, maxReceiveCount: props.maxReceiveCount },
    });
  }
}
