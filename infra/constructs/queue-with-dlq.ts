import type { Duration, RemovalPolicy } from "aws-cdk-lib";
import type { IKey } from "aws-cdk-lib/aws-kms";
import { Queue, QueueEncryption, type QueueProps } from "aws-cdk-lib/aws-sqs";
import { Construct } from "constructs";

/** Encryption and removal shared by every queue of the pipeline. */
export interface QueueProtection {
  /** Customer-managed key (SSE-KMS); SQS-managed SSE without one. */
  encryptionKey?: IKey;
  removalPolicy: RemovalPolicy;
}

export interface QueueWithDlqProps extends QueueProtection {
  visibilityTimeout: Duration;
  retentionPeriod: Duration;
  /** Receives before SQS moves a message to the DLQ. */
  maxReceiveCount: number;
  /** Must outlive the source queue's retention: a message's age counts from its first enqueue. */
  deadLetterRetention: Duration;
}

/** TLS-only and encrypted with the given key, or with SQS-managed SSE. */
export function protectedQueueProps(protection: QueueProtection): QueueProps {
  return {
    ...(protection.encryptionKey
      ? { encryption: QueueEncryption.KMS, encryptionMasterKey: protection.encryptionKey }
      : { encryption: QueueEncryption.SQS_MANAGED }),
    enforceSSL: true,
    removalPolicy: protection.removalPolicy,
  };
}

/** An encrypted, TLS-only queue whose failures land in an equally protected dead-letter queue. */
export class QueueWithDlq extends Construct {
  readonly queue: Queue;
  readonly deadLetterQueue: Queue;

  constructor(scope: Construct, id: string, props: QueueWithDlqProps) {
    super(scope, id);
    this.deadLetterQueue = new Queue(this, "DeadLetterQueue", {
      ...protectedQueueProps(props),
      retentionPeriod: props.deadLetterRetention,
    });
    this.queue = new Queue(this, "Queue", {
      ...protectedQueueProps(props),
      visibilityTimeout: props.visibilityTimeout,
      retentionPeriod: props.retentionPeriod,
      deadLetterQueue: { queue: this.deadLetterQueue, maxReceiveCount: props.maxReceiveCount },
    });
  }
}
