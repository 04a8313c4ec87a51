import { CfnOutput, Duration, Stack, type StackProps } from "aws-cdk-lib";
import { Alarm, ComparisonOperator, TreatMissingData } from "aws-cdk-lib/aws-cloudwatch";
import { type IPrincipal, PolicyStatement } from "aws-cdk-lib/aws-iam";
import { Key } from "aws-cdk-lib/aws-kms";
import { SqsDestination } from "aws-cdk-lib/aws-lambda-destinations";
import { SqsEventSource } from "aws-cdk-lib/aws-lambda-event-sources";
import type { IFunction } from "aws-cdk-lib/aws-lambda";
import { EventType, type IBucket } from "aws-cdk-lib/aws-s3";
import { LambdaDestination } from "aws-cdk-lib/aws-s3-notifications";
import { type ISecret, Secret } from "aws-cdk-lib/aws-secretsmanager";
import { Queue, QueueEncryption } from "aws-cdk-lib/aws-sqs";
import type { Construct } from "constructs";
import { fileURLToPath } from "node:url";
import { JOB_SLOT_PREFIX } from "../shared/contracts/job-slots.ts";
import { FLEET_PAUSE_KEY } from "../shared/contracts/fleet-pause.ts";
import { INTAKE_PREFIX } from "../shared/contracts/intake-window.ts";
import { DEPLOYMENT_DEFAULTS } from "../shared/config/deployment-defaults.ts";
import type { DefaultFileOptions } from "../shared/options/file-options.ts";
import { PipelineAlarms } from "./constructs/dlq-alarms.ts";
import { PipelineDashboard } from "./constructs/dashboard.ts";
import { PipelineFunction } from "./constructs/pipeline-function.ts";
import { QueueWithDlq } from "./constructs/queue-with-dlq.ts";
import { SecureBucket } from "./constructs/secure-bucket.ts";
import { acknowledgeFindings } from "./nag-acknowledgements.ts";

/** Where the Marketo credentials live: a Secrets Manager secret by name (same account/region) or complete ARN. */
export type MarketoSecretRef = { secretName: string } | { secretArn: string };

export interface MarketoIngestStackProps extends StackProps {
  marketoSecret: MarketoSecretRef;
  /** ARN of the customer-managed KMS key that encrypts the secret, when it is not the AWS-managed key. */
  marketoSecretKmsKeyArn?: string;
  /** Concurrent sender invocations (2–1000): caps parallel Marketo requests at this × the batch size. */
  senderMaxConcurrency?: number;
  /** Stack-level file options per object type, used where a file's metadata or sidecar does not say. */
  defaultFileOptions?: DefaultFileOptions;
  /** Import jobs this deployment keeps open at Marketo at once (1–10; Marketo's limit is 10 for everyone). */
  bulkJobSlots?: number;
  /** Days reports stay in the work bucket (intake windows and producer-id claims too: the dedupe horizon). */
  reportRetentionDays?: number;
  /**
   * Who may put messages on the intake queue (`sqs:SendMessage`, plus the queue's KMS key when it has one):
   * accounts, roles, or service principals with an `aws:SourceArn` condition (an SNS topic, an EventBridge rule).
   * Nobody else: the queue policy holds only these grants and the TLS-only rule.
   */
  intakeProducers?: IPrincipal[];
  /** A customer-managed KMS key ARN for the intake queue (SQS-managed encryption otherwise). */
  intakeQueueKmsKeyArn?: string;
  /** Buckets (ARNs) that intake S3 pointers may name, besides the drop bucket: read by the intake and reports. */
  intakePayloadBucketArns?: string[];
}

const functionEntry = (name: string, file = "handler.ts") =>
  fileURLToPath(new URL(`../functions/${name}/${file}`, import.meta.url));

/**
 * The whole pipeline: drop bucket → splitter → ingestion queue → sender → Marketo, with reports in a work bucket
 * and every undeliverable message in a dead-letter queue with its reason.
 */
export class MarketoIngestStack extends Stack {
  constructor(scope: Construct, id: string, props: MarketoIngestStackProps) {
    super(scope, id, props);
    const d = DEPLOYMENT_DEFAULTS;

    const accessLogs = new SecureBucket(this, "AccessLogs", {
      lifecycleRules: [{ id: "expire-access-logs", expiration: Duration.days(365) }],
    }).bucket;
    const dropBucket = new SecureBucket(this, "Drop", {
      accessLogs: { bucket: accessLogs, prefix: "drop/" },
    }).bucket;
    const workBucket = new SecureBucket(this, "Work", {
      accessLogs: { bucket: accessLogs, prefix: "work/" },
      lifecycleRules: [
        { id: "expire-reports", prefix: "reports/", expiration: Duration.days(props.reportRetentionDays ?? 90) },
        { id: "expire-intake", prefix: INTAKE_PREFIX, expiration: Duration.days(props.reportRetentionDays ?? 90) },
      ],
    }).bucket;

    const ingestion = new QueueWithDlq(this, "Ingestion", {
      visibilityTimeout: Duration.seconds(d.ingestionQueueVisibilitySeconds),
      retentionPeriod: Duration.days(d.ingestionQueueRetentionDays),
      maxReceiveCount: d.ingestionRedriveMaxReceiveCount,
      deadLetterRetention: Duration.days(d.dlqRetentionDays),
    });
    // Bulk parts: each message is one step of one part; waits are new delayed messages, so receive counts stay low.
    const bulk = new QueueWithDlq(this, "Bulk", {
      visibilityTimeout: Duration.seconds(d.bulkQueueVisibilitySeconds),
      retentionPeriod: Duration.days(d.ingestionQueueRetentionDays),
      maxReceiveCount: d.redriveMaxReceiveCount,
      deadLetterRetention: Duration.days(d.dlqRetentionDays),
    });
    // "Report this file when done": one message per file, re-queued with a delay while its batches are open.
    const report = new QueueWithDlq(this, "Report", {
      visibilityTimeout: Duration.seconds(d.reportQueueVisibilitySeconds),
      retentionPeriod: Duration.days(d.ingestionQueueRetentionDays),
      maxReceiveCount: d.redriveMaxReceiveCount,
      deadLetterRetention: Duration.days(d.dlqRetentionDays),
    });
    // Failure records the splitter could not turn into a `failed` report (event and error included).
    const splitterDlq = new Queue(this, "SplitterDeadLetterQueue", {
      encryption: QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      retentionPeriod: Duration.days(d.dlqRetentionDays),
    });
    // Async invocations of the splitter that fail after Lambda's own retries land here, event and error included;
    // the splitter reads them back and writes the file's `failed` report, so no file reads "running" for ever.
    const splitFailures = new Queue(this, "SplitFailuresQueue", {
      encryption: QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      visibilityTimeout: Duration.seconds(6 * d.splitterTimeoutSeconds),
      retentionPeriod: Duration.days(d.ingestionQueueRetentionDays),
      deadLetterQueue: { queue: splitterDlq, maxReceiveCount: d.redriveMaxReceiveCount },
    });

    // Producers' messages: a public contract (docs/schemas/), its own queue, never the internal ones.
    const intakeKey = props.intakeQueueKmsKeyArn
      ? Key.fromKeyArn(this, "IntakeQueueKey", props.intakeQueueKmsKeyArn)
      : undefined;
    const intakeQueues = new QueueWithDlq(this, "IntakeQueues", {
      visibilityTimeout: Duration.seconds(d.intakeQueueVisibilitySeconds),
      retentionPeriod: Duration.days(d.ingestionQueueRetentionDays),
      maxReceiveCount: d.redriveMaxReceiveCount,
      deadLetterRetention: Duration.days(d.dlqRetentionDays),
      ...(intakeKey ? { encryptionKey: intakeKey } : {}),
    });
    for (const producer of props.intakeProducers ?? []) intakeQueues.queue.grantSendMessages(producer);

    const secret = resolveSecret(this, props.marketoSecret);
    const secretId = "secretName" in props.marketoSecret ? props.marketoSecret.secretName : secret.secretArn;

    // The splitter and the intake function run the same split: the same queues, bucket and default options.
    const splitEnvironment: Record<string, string> = {
      INGESTION_QUEUE_URL: ingestion.queue.queueUrl,
      BULK_QUEUE_URL: bulk.queue.queueUrl,
      REPORT_QUEUE_URL: report.queue.queueUrl,
      WORK_BUCKET: workBucket.bucketName,
      // Read only for files whose options say fieldCheck=reject (their columns against Marketo's field list).
      MARKETO_SECRET_ID: secretId,
      ...(props.defaultFileOptions && Object.keys(props.defaultFileOptions).length
        ? { DEFAULT_FILE_OPTIONS: JSON.stringify(props.defaultFileOptions) }
        : {}),
    };
    const splitterFunction = new PipelineFunction(this, "Splitter", {
      entry: functionEntry("splitter"),
      description: "Streams a dropped file, validates rows and queues request-sized batches",
      memorySize: 1024,
      timeout: Duration.seconds(d.splitterTimeoutSeconds),
      environment: { ...splitEnvironment, POWERTOOLS_SERVICE_NAME: "marketo-ingest-splitter" },
    });
    const splitter = splitterFunction.fn;
    splitter.configureAsyncInvoke({
      retryAttempts: 2,
      maxEventAge: Duration.hours(6),
      onFailure: new SqsDestination(splitFailures),
    });
    // Synchronous (event source mapping): a failure here is retried by SQS, then kept in the splitter DLQ.
    splitter.addEventSource(new SqsEventSource(splitFailures, { batchSize: 1 }));
    new Alarm(this, "SplitFailed", {
      alarmDescription: `A split failed for good (retries exhausted, timeout or crash): its report says so and why, and \`marketo-ingest status KEY\` exits 5. Runbook: docs/operators.md, section 'Runbook'.`,
      metric: splitFailures.metricNumberOfMessagesSent({ period: Duration.minutes(5) }),
      threshold: 0,
      comparisonOperator: ComparisonOperator.GREATER_THAN_THRESHOLD,
      evaluationPeriods: 1,
      treatMissingData: TreatMissingData.NOT_BREACHING,
    });
    splitter.addToRolePolicy(
      new PolicyStatement({
        // Any key may be dropped; versions are read by id so a re-upload never changes what a run reads.
        actions: ["s3:GetObject", "s3:GetObjectVersion"],
        resources: [dropBucket.arnForObjects("*")],
      }),
    );
    // Whether a sidecar `{key}.options.json` exists: without ListBucket a missing object answers 403, not 404.
    splitter.addToRolePolicy(new PolicyStatement({ actions: ["s3:ListBucket"], resources: [dropBucket.bucketArn] }));
    grantReportAccess(splitter, workBucket);
    ingestion.queue.grantSendMessages(splitter);
    bulk.queue.grantSendMessages(splitter);
    report.queue.grantSendMessages(splitter);
    dropBucket.addEventNotification(EventType.OBJECT_CREATED, new LambdaDestination(splitter));

    const intakeFunction = new PipelineFunction(this, "Intake", {
      entry: functionEntry("splitter", "intake-handler.ts"),
      description: "Validates producer messages and splits each window of them like a dropped file",
      memorySize: 1024,
      timeout: Duration.seconds(d.intakeTimeoutSeconds),
      environment: {
        ...splitEnvironment,
        INTAKE_QUEUE_URL: intakeQueues.queue.queueUrl,
        INTAKE_DLQ_URL: intakeQueues.deadLetterQueue.queueUrl,
        POWERTOOLS_SERVICE_NAME: "marketo-ingest-intake",
      },
    });
    const intake = intakeFunction.fn;
    intake.addEventSource(
      new SqsEventSource(intakeQueues.queue, {
        batchSize: d.intakeBatchSize,
        maxBatchingWindow: Duration.seconds(d.intakeBatchingWindowSeconds),
        reportBatchItemFailures: true,
        maxConcurrency: d.intakeMaxConcurrency,
      }),
    );
    grantReportAccess(intake, workBucket);
    // Window files and their descriptors, and the claims of producer ids, all under intake/.
    intake.addToRolePolicy(
      new PolicyStatement({
        actions: ["s3:GetObject", "s3:PutObject"],
        resources: [workBucket.arnForObjects(`${INTAKE_PREFIX}*`)],
      }),
    );
    const payloadObjects = [
      dropBucket.arnForObjects("*"),
      ...(props.intakePayloadBucketArns ?? []).map((a) => `${a}/*`),
    ];
    // S3 pointers: read like dropped files (by version when the message names one).
    intake.addToRolePolicy(
      new PolicyStatement({ actions: ["s3:GetObject", "s3:GetObjectVersion"], resources: payloadObjects }),
    );
    ingestion.queue.grantSendMessages(intake);
    bulk.queue.grantSendMessages(intake);
    report.queue.grantSendMessages(intake);
    intakeQueues.deadLetterQueue.grantSendMessages(intake);

    const senderFunction = new PipelineFunction(this, "Sender", {
      entry: functionEntry("ingestion-sender"),
      description: "Sends each queued batch to the Marketo Data Ingestion API",
      memorySize: 512,
      timeout: Duration.seconds(d.senderTimeoutSeconds),
      environment: {
        MARKETO_SECRET_ID: secretId,
        INGESTION_QUEUE_URL: ingestion.queue.queueUrl,
        INGESTION_DLQ_URL: ingestion.deadLetterQueue.queueUrl,
        WORK_BUCKET: workBucket.bucketName,
        MAX_ATTEMPTS: String(d.maxAttempts),
        POWERTOOLS_SERVICE_NAME: "marketo-ingest-sender",
      },
    });
    const sender = senderFunction.fn;
    sender.addEventSource(
      new SqsEventSource(ingestion.queue, {
        batchSize: d.senderBatchSize,
        reportBatchItemFailures: true,
        maxConcurrency: props.senderMaxConcurrency ?? d.senderMaxConcurrency,
      }),
    );
    const secretKey = props.marketoSecretKmsKeyArn
      ? Key.fromKeyArn(this, "MarketoSecretKey", props.marketoSecretKmsKeyArn)
      : undefined;
    for (const reader of [sender, splitter, intake]) {
      secret.grantRead(reader);
      secretKey?.grantDecrypt(reader);
    }
    grantReportAccess(sender, workBucket);
    // The fleet-wide pause after a 429 or the daily quota: one object every sender reads and conditionally writes.
    sender.addToRolePolicy(
      new PolicyStatement({
        actions: ["s3:GetObject", "s3:PutObject"],
        resources: [workBucket.arnForObjects(FLEET_PAUSE_KEY)],
      }),
    );
    // The sender backs off by changing visibility and dead-letters with a reason itself.
    sender.addToRolePolicy(
      new PolicyStatement({ actions: ["sqs:ChangeMessageVisibility"], resources: [ingestion.queue.queueArn] }),
    );
    ingestion.deadLetterQueue.grantSendMessages(sender);

    const bulkFunction = new PipelineFunction(this, "BulkImporter", {
      entry: functionEntry("bulk-importer"),
      description: "Submits bulk import parts to Marketo within the job limits and polls them to their end",
      // A part is up to 10 MB, held as text and parsed once more to attribute failures.
      memorySize: 1024,
      timeout: Duration.seconds(d.bulkImporterTimeoutSeconds),
      environment: {
        MARKETO_SECRET_ID: secretId,
        BULK_QUEUE_URL: bulk.queue.queueUrl,
        BULK_DLQ_URL: bulk.deadLetterQueue.queueUrl,
        WORK_BUCKET: workBucket.bucketName,
        BULK_JOB_SLOTS: String(props.bulkJobSlots ?? d.bulkJobSlots),
        POWERTOOLS_SERVICE_NAME: "marketo-ingest-bulk-importer",
      },
    });
    const bulkImporter = bulkFunction.fn;
    bulkImporter.addEventSource(
      new SqsEventSource(bulk.queue, {
        batchSize: d.bulkImporterBatchSize,
        reportBatchItemFailures: true,
        maxConcurrency: d.bulkImporterMaxConcurrency,
      }),
    );
    secret.grantRead(bulkImporter);
    secretKey?.grantDecrypt(bulkImporter);
    // Reads parts and writes outcomes under reports/; claims, renews and frees job slots under bulk-slots/.
    bulkImporter.addToRolePolicy(
      new PolicyStatement({
        actions: ["s3:GetObject", "s3:PutObject"],
        resources: [workBucket.arnForObjects("reports/*")],
      }),
    );
    bulkImporter.addToRolePolicy(
      new PolicyStatement({
        actions: ["s3:GetObject", "s3:PutObject", "s3:DeleteObject"],
        resources: [workBucket.arnForObjects(`${JOB_SLOT_PREFIX}*`)],
      }),
    );
    // ListBucket without an s3:prefix condition: a GetObject carries no prefix, and a conditioned grant would turn
    // "no such slot" into 403. The work bucket holds only the pipeline's own objects.
    bulkImporter.addToRolePolicy(
      new PolicyStatement({ actions: ["s3:ListBucket"], resources: [workBucket.bucketArn] }),
    );
    // Each wait is the message queued again with a delay; undeliverable parts go to the DLQ with their reason.
    bulk.queue.grantSendMessages(bulkImporter);
    bulk.deadLetterQueue.grantSendMessages(bulkImporter);

    const reportFunction = new PipelineFunction(this, "ReportWriter", {
      entry: functionEntry("report-writer"),
      description: "Writes each file's report once its batches have ended, with its rows with issues as CSV",
      memorySize: 1024,
      timeout: Duration.seconds(d.reportWriterTimeoutSeconds),
      environment: {
        REPORT_QUEUE_URL: report.queue.queueUrl,
        REPORT_DLQ_URL: report.deadLetterQueue.queueUrl,
        WORK_BUCKET: workBucket.bucketName,
        POWERTOOLS_SERVICE_NAME: "marketo-ingest-report-writer",
      },
    });
    const reportWriter = reportFunction.fn;
    reportWriter.addEventSource(
      new SqsEventSource(report.queue, {
        batchSize: d.reportWriterBatchSize,
        reportBatchItemFailures: true,
        maxConcurrency: d.reportWriterMaxConcurrency,
      }),
    );
    // Reads the dropped file again, for the original columns of rows that were not accepted.
    reportWriter.addToRolePolicy(
      new PolicyStatement({
        actions: ["s3:GetObject", "s3:GetObjectVersion"],
        resources: [dropBucket.arnForObjects("*")],
      }),
    );
    grantReportAccess(reportWriter, workBucket);
    // Rows with issues of intake windows and S3 pointers are copied from the window file or the pointed object.
    reportWriter.addToRolePolicy(
      new PolicyStatement({
        actions: ["s3:GetObject", "s3:GetObjectVersion"],
        resources: [workBucket.arnForObjects(`${INTAKE_PREFIX}*`), ...payloadObjects.slice(1)],
      }),
    );
    // The CSV is a multipart upload; a failed one is aborted rather than left as orphaned parts.
    reportWriter.addToRolePolicy(
      new PolicyStatement({
        actions: ["s3:AbortMultipartUpload"],
        resources: [workBucket.arnForObjects("reports/*")],
      }),
    );
    report.queue.grantSendMessages(reportWriter);
    report.deadLetterQueue.grantSendMessages(reportWriter);

    new PipelineAlarms(this, "Alarms", {
      deadLetterQueues: {
        IngestionDLQ: ingestion.deadLetterQueue,
        BulkDLQ: bulk.deadLetterQueue,
        ReportDLQ: report.deadLetterQueue,
        SplitterDLQ: splitterDlq,
        IntakeDLQ: intakeQueues.deadLetterQueue,
      },
    });
    new PipelineDashboard(this, "Observability", {
      functions: {
        splitter: { fn: splitter, service: "marketo-ingest-splitter" },
        sender: { fn: sender, service: "marketo-ingest-sender" },
        bulkImporter: { fn: bulkImporter, service: "marketo-ingest-bulk-importer" },
        reportWriter: { fn: reportWriter, service: "marketo-ingest-report-writer" },
      },
      queues: { Ingestion: ingestion.queue, Bulk: bulk.queue, Report: report.queue, Intake: intakeQueues.queue },
      deadLetterQueues: {
        IngestionDLQ: ingestion.deadLetterQueue,
        BulkDLQ: bulk.deadLetterQueue,
        ReportDLQ: report.deadLetterQueue,
        SplitterDLQ: splitterDlq,
        IntakeDLQ: intakeQueues.deadLetterQueue,
      },
    });

    acknowledgeFindings(this, {
      splitter: splitterFunction,
      sender: senderFunction,
      bulkImporter: bulkFunction,
      reportWriter: reportFunction,
      intake: intakeFunction,
      splitterDeadLetterQueue: splitterDlq,
      dropBucket,
      workBucket,
    });

    new CfnOutput(this, "DropBucketName", { value: dropBucket.bucketName, description: "Drop files here" });
    new CfnOutput(this, "WorkBucketName", { value: workBucket.bucketName, description: "Reports: reports/{key}/…" });
    new CfnOutput(this, "IngestionQueueUrl", { value: ingestion.queue.queueUrl });
    new CfnOutput(this, "IngestionDeadLetterQueueUrl", { value: ingestion.deadLetterQueue.queueUrl });
    new CfnOutput(this, "BulkQueueUrl", { value: bulk.queue.queueUrl });
    new CfnOutput(this, "BulkDeadLetterQueueUrl", { value: bulk.deadLetterQueue.queueUrl });
    new CfnOutput(this, "ReportDeadLetterQueueUrl", { value: report.deadLetterQueue.queueUrl });
    new CfnOutput(this, "SplitterDeadLetterQueueUrl", { value: splitterDlq.queueUrl });
    new CfnOutput(this, "SplitFailuresQueueUrl", {
      value: splitFailures.queueUrl,
      description: "The splitter's failed invocations, read back to report the file as failed",
    });
    new CfnOutput(this, "IntakeQueueUrl", {
      value: intakeQueues.queue.queueUrl,
      description: "Producers send intake messages here (docs/schemas/intake-message.v1.json)",
    });
    new CfnOutput(this, "IntakeDeadLetterQueueUrl", {
      value: intakeQueues.deadLetterQueue.queueUrl,
      description: "Invalid intake messages, with code, path and message as attributes",
    });
    // Read by `marketo-ingest redrive` (the report DLQ's way back) and `doctor` (which secret to try).
    new CfnOutput(this, "ReportQueueUrl", { value: report.queue.queueUrl });
    new CfnOutput(this, "MarketoSecretId", { value: secretId, description: "Marketo credentials (Secrets Manager)" });
  }
}

/**
 * Read and write reports under `reports/` only. ListBucket makes a missing claim, outcome or manifest answer 404
 * rather than 403, which is how a batch or a file learns it is new. It carries no s3:prefix condition: a GetObject
 * has no prefix in its request context, so a conditioned grant would not apply and missing keys would answer 403.
 */
function grantReportAccess(fn: IFunction, workBucket: IBucket): void {
  fn.addToRolePolicy(
    new PolicyStatement({
      actions: ["s3:GetObject", "s3:PutObject"],
      resources: [workBucket.arnForObjects("reports/*")],
    }),
  );
  fn.addToRolePolicy(new PolicyStatement({ actions: ["s3:ListBucket"], resources: [workBucket.bucketArn] }));
}

function resolveSecret(scope: Construct, ref: MarketoSecretRef): ISecret {
  return "secretName" in ref
    ? Secret.fromSecretNameV2(scope, "MarketoSecret", ref.secretName)
    : Secret.fromSecretCompleteArn(scope, "MarketoSecret", ref.secretArn);
}
