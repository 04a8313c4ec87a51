import { INFLATED_COPY_FILE } from "../shared/contracts/split-checkpoint.ts";
import { CfnOutput, Duration, Fn, RemovalPolicy, SecretValue, Stack, Tags, Token } from "aws-cdk-lib";
import { SnsAction } from "aws-cdk-lib/aws-cloudwatch-actions";
import type { ISecurityGroup, IVpc, SubnetSelection } from "aws-cdk-lib/aws-ec2";
import { EventBus, type IEventBus } from "aws-cdk-lib/aws-events";
import {
  type IManagedPolicy,
  type IPrincipal,
  type IRole,
  PermissionsBoundary,
  PolicyStatement,
  ServicePrincipal,
} from "aws-cdk-lib/aws-iam";
import { type IKey, Key } from "aws-cdk-lib/aws-kms";
import type { IFunction } from "aws-cdk-lib/aws-lambda";
import { SqsDestination } from "aws-cdk-lib/aws-lambda-destinations";
import { SqsEventSource } from "aws-cdk-lib/aws-lambda-event-sources";
import { RetentionDays } from "aws-cdk-lib/aws-logs";
import { type Bucket, EventType, type IBucket } from "aws-cdk-lib/aws-s3";
import { LambdaDestination } from "aws-cdk-lib/aws-s3-notifications";
import { type ISecret, Secret } from "aws-cdk-lib/aws-secretsmanager";
import { type ITopic, Topic } from "aws-cdk-lib/aws-sns";
import { type IQueue, Queue } from "aws-cdk-lib/aws-sqs";
import { Construct } from "constructs";
import { fileURLToPath } from "node:url";
import { z } from "zod";
import { DEPLOYMENT_DEFAULTS } from "../shared/config/deployment-defaults.ts";
import { FLEET_PAUSE_KEY } from "../shared/contracts/fleet-pause.ts";
import { ROW_DATA_TAG } from "../shared/contracts/report-store.ts";
import { INTAKE_PREFIX } from "../shared/contracts/intake-window.ts";
import { senderConcurrencyCeiling } from "../shared/config/deployment-defaults.ts";
import { checkDefaultOptions, type DefaultFileOptions } from "../shared/options/file-options.ts";
import { routeForObjectName } from "../shared/options/object-route.ts";
import { PipelineDashboard } from "./constructs/dashboard.ts";
import { PipelineAlarms } from "./constructs/dlq-alarms.ts";
import { PipelineFunction } from "./constructs/pipeline-function.ts";
import { protectedQueueProps, QueueWithDlq } from "./constructs/queue-with-dlq.ts";
import { SecureBucket } from "./constructs/secure-bucket.ts";
import { acknowledgeFindings } from "./nag-acknowledgements.ts";
import {
  intakeWindowFilePattern,
  jobSlotPattern,
  REPORT_OBJECT_ACCESS,
  type ReportObjectAccess,
  reportObjectPattern,
} from "./report-object-access.ts";

/** Where the Marketo credentials live: a Secrets Manager secret by name (same account/region) or complete ARN. */
export type MarketoSecretRef = { secretName: string } | { secretArn: string };

/** Subnets and security groups for the functions that call Marketo. */
export interface MarketoIngestionNetwork {
  vpc: IVpc;
  /** @default the VPC's private subnets with egress (Lambda's default choice) */
  vpcSubnets?: SubnetSelection;
  /** @default one new security group per function, all outbound allowed, no inbound */
  securityGroups?: ISecurityGroup[];
}

export interface MarketoIngestionProps {
  /**
   * Where the Marketo credentials live (JSON: clientId, clientSecret, munchkinId; see docs/platform-teams.md, "Deploying").
   * @default a new secret holding `{}`, encrypted with `encryptionKey` when given; the stack output
   * `MarketoSecretFillCommand` is the AWS CLI command that fills it. Until then every batch fails and waits.
   */
  marketoSecret?: MarketoSecretRef;
  /**
   * ARN of the customer-managed KMS key of an existing `marketoSecret`, when it is not the AWS-managed key.
   * @default none: the secret uses the AWS-managed key (or `encryptionKey`, for a secret created here)
   */
  marketoSecretKmsKeyArn?: string;
  /**
   * An existing bucket data teams drop files into; the construct adds the ObjectCreated notification and read
   * grants. Its lifecycle, encryption, logging and versioning stay yours (versioning must be on: runs read by
   * version id). A bucket encrypted with a KMS key passed as its `encryptionKey` gets decrypt grants.
   * @default a new private, versioned, TLS-only, access-logged bucket, encrypted with `encryptionKey` or SSE-S3,
   * whose files expire after `droppedFileRetentionDays`
   */
  dropBucket?: IBucket;
  /**
   * Customer-managed KMS key for the buckets (except the access-log bucket: S3 server access logging accepts only
   * SSE-S3), the queues, the log groups, a secret and a topic created here. A key defined in the same app gets
   * the key-policy statements CloudWatch Logs and CloudWatch alarms need; an imported key must already allow them.
   * @default AWS-managed encryption: SSE-S3, SQS-managed SSE, CloudWatch Logs' own encryption
   */
  encryptionKey?: IKey;
  /**
   * The topic every alarm notifies (on alarm and back to OK); also `alarmTopic` on the construct.
   * @default a new TLS-only topic, encrypted with `encryptionKey` when given; subscribe to it (docs/platform-teams.md)
   */
  alarmTopic?: ITopic;
  /**
   * Runs the functions that call Marketo (sender, bulk importer) in a VPC. They need a route to the internet
   * (NAT) for Marketo and to S3, SQS and Secrets Manager (NAT or VPC endpoints).
   * @default none: the functions run in Lambda's own network
   */
  network?: MarketoIngestionNetwork;
  /**
   * Permissions boundary for every role the construct creates (and for aws-cdk-lib's bucket-notification handler).
   * @default none
   */
  permissionsBoundary?: IManagedPolicy;
  /**
   * Tags for every taggable resource of the construct.
   * @default none
   */
  tags?: Record<string, string>;
  /**
   * What happens to the buckets, queues, log groups and a secret created here when they leave the stack.
   * `RemovalPolicy.DESTROY` deletes queued messages and logs; a bucket that still holds objects fails to delete.
   * @default RemovalPolicy.RETAIN
   */
  removalPolicy?: RemovalPolicy;
  /**
   * Retention of each function's log group.
   * @default RetentionDays.ONE_YEAR
   */
  logRetention?: RetentionDays;
  /**
   * Days a dropped file (personal data) stays in a drop bucket created here; a replaced version is deleted as many
   * days after it was replaced. At least 8: the report writer re-reads a file for its rows with issues for up to
   * 7 days. Not allowed with your own `dropBucket` (its lifecycle is yours).
   * @default 30
   */
  droppedFileRetentionDays?: number;
  /**
   * Days the objects under `reports/` stay in the work bucket: reports, rows-with-issues CSVs (personal data),
   * request bodies, bulk parts, claims and outcomes. At least 8: a file's run may take up to 7 days.
   * @default 90
   */
  reportRetentionDays?: number;
  /**
   * Days the report objects that copy input rows (personal data) stay: rejected rows and `rows-with-issues.csv`,
   * tagged `marketo-ingest-data=rows` when written. At least 8 (the report writer reads rejected rows while a file
   * runs) and at most `reportRetentionDays`.
   * @default 30
   */
  rowDataRetentionDays?: number;
  /**
   * Concurrent sender invocations: caps parallel Marketo requests at this × the batch size (10). At most
   * `senderConcurrencyCeiling()` (50): the fleet's share of Marketo's 5,000 requests/s per client id (docs/platform-teams.md,
   * "Marketo's limits").
   * @default 5
   */
  senderMaxConcurrency?: number;
  /**
   * Who may put messages on the intake queue (`sqs:SendMessage`, plus its KMS key when it has one): accounts,
   * roles, or service principals with an `aws:SourceArn` condition (an SNS topic, an EventBridge rule). Nobody
   * else: the queue policy holds only these grants and the TLS-only rule.
   * @default none (only principals of this account whose own IAM policy allows it)
   */
  intakeProducers?: IPrincipal[];
  /**
   * A customer-managed KMS key for the intake queue only (producers need kms:GenerateDataKey on it; an imported
   * key's policy must allow them itself).
   * @default `encryptionKey` when given, else SQS-managed SSE
   */
  intakeQueueEncryptionKey?: IKey;
  /**
   * Buckets (ARNs) that intake S3-pointer messages may name besides the drop bucket: read by the intake function
   * and the report writer, nothing else.
   * @default none: pointers may name only the drop bucket
   */
  intakePayloadBucketArns?: string[];
  /**
   * An EventBridge bus that gets one event per finished intake window (source `marketo-ingest.intake`,
   * detail-type `Intake Window Finished v1`, detail as in docs/schemas/intake-window-finished.v1.json): an existing
   * bus (EventBus.fromEventBusArn…, another account's too, whose policy must then let this account put events), or
   * `"create"` for a new bus made here (`windowEventBus` on the construct). Only the report writer may put events
   * on it: `events:PutEvents` on that bus, in its role alone.
   * @default none: no window events
   */
  windowEventBus?: IEventBus | "create";
  /**
   * Alarm when the objects sent in the last 24 hours pass this share of Marketo's 10,000,000 objects/day.
   * @default 0.8
   */
  dailyObjectsAlarmShare?: number;
  /**
   * Import jobs this deployment keeps open at Marketo at once (1–10; Marketo's limit is 10 per instance).
   * @default 10
   */
  bulkJobSlots?: number;
  /**
   * Options per object type, used where a file's metadata or sidecar does not say; checked here.
   * @default none
   */
  defaultFileOptions?: DefaultFileOptions;
}

/** A props value that makes no sense, named, with what would. */
export class MarketoIngestionPropsError extends Error {
  constructor(readonly problems: string[]) {
    super(`MarketoIngestion: invalid props: ${problems.join("; ")}`);
    this.name = "MarketoIngestionPropsError";
  }
}

/** The report writer gives up on a file after 7 days (REPORT_GIVE_UP_HOURS); its data must outlive that. */
const MIN_RETENTION_DAYS = 8;

const retentionDays = (what: string) =>
  z
    .number()
    .int("must be a whole number of days")
    .min(MIN_RETENTION_DAYS, `must be at least ${MIN_RETENTION_DAYS} days: ${what}`)
    .max(36_500, "must be at most 36500 days");

/** The props that are plain values; constructs (bucket, key, topic, VPC) are checked for combinations below. */
const PlainPropsSchema = z.object({
  marketoSecret: z
    .union([
      z.strictObject({ secretName: z.string().min(1, "secretName must not be empty") }),
      z.strictObject({
        secretArn: z.string().regex(/^arn:[^:]+:secretsmanager:[^:]+:\d{12}:secret:.+/, "must be a secret's ARN"),
      }),
    ])
    .optional(),
  marketoSecretKmsKeyArn: z
    .string()
    .regex(/^arn:[^:]+:kms:/, "must be a KMS key ARN")
    .optional(),
  tags: z.record(z.string().min(1).max(128), z.string().max(256)).optional(),
  removalPolicy: z
    .enum([RemovalPolicy.RETAIN, RemovalPolicy.DESTROY, RemovalPolicy.RETAIN_ON_UPDATE_OR_DELETE], {
      error: "must be RETAIN, RETAIN_ON_UPDATE_OR_DELETE or DESTROY (buckets and queues have no snapshots)",
    })
    .optional(),
  droppedFileRetentionDays: retentionDays("the report writer re-reads a dropped file for up to 7 days").optional(),
  reportRetentionDays: retentionDays(
    "claims, manifests and outcomes are read while a file runs (up to 7 days)",
  ).optional(),
  rowDataRetentionDays: retentionDays("rejected rows are read while a file runs (up to 7 days)").optional(),
  senderMaxConcurrency: z
    .number()
    .int()
    .min(2, "must be at least 2 (Lambda's minimum for an SQS event source)")
    .max(
      senderConcurrencyCeiling(),
      `must be at most ${senderConcurrencyCeiling()}: more would pass Marketo's 5,000 requests/s per client id`,
    )
    .optional(),
  intakePayloadBucketArns: z
    .array(z.string().regex(/^arn:[^:]+:s3:::[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/, "must be a bucket's ARN"))
    .optional(),
  dailyObjectsAlarmShare: z
    .number()
    .gt(0, "must be above 0")
    .max(1, "must be at most 1 (a share of the daily quota)")
    .optional(),
  bulkJobSlots: z
    .number()
    .int()
    .min(1, "must be at least 1")
    .max(10, "must be at most 10: Marketo keeps at most 10 import jobs per instance")
    .optional(),
});

/** Throws MarketoIngestionPropsError naming every prop that is out of range or does not combine. */
export function validateMarketoIngestionProps(props: MarketoIngestionProps): void {
  const problems: string[] = [];
  // Deploy-time tokens (parameters, imports) cannot be checked here; CloudFormation checks them.
  const concrete = Object.fromEntries(
    Object.entries(props).filter(([, value]) => value === undefined || !Token.isUnresolved(value)),
  );
  const parsed = PlainPropsSchema.safeParse(concrete);
  if (!parsed.success) {
    for (const issue of parsed.error.issues) problems.push(`${issue.path.join(".") || "props"}: ${issue.message}`);
  }
  if (props.dropBucket && props.droppedFileRetentionDays !== undefined) {
    problems.push(
      "droppedFileRetentionDays: applies only to a drop bucket created here; set your dropBucket's lifecycle yourself",
    );
  }
  if ((props.rowDataRetentionDays ?? 30) > (props.reportRetentionDays ?? 90)) {
    problems.push(
      `rowDataRetentionDays: must not exceed reportRetentionDays (${props.reportRetentionDays ?? 90}): the rows would outlive their report`,
    );
  }
  if (props.marketoSecretKmsKeyArn && !props.marketoSecret) {
    problems.push(
      "marketoSecretKmsKeyArn: only with an existing marketoSecret (a secret created here uses encryptionKey)",
    );
  }
  if (props.network && !props.network.vpc) problems.push("network.vpc: required when network is given");
  const bus = props.windowEventBus as unknown;
  if (bus !== undefined && bus !== "create" && typeof (bus as Partial<IEventBus> | null)?.eventBusArn !== "string") {
    problems.push('windowEventBus: must be an event bus (EventBus.fromEventBusArn…) or "create"');
  }
  if (props.defaultFileOptions) {
    try {
      checkDefaultOptions(props.defaultFileOptions, (type) =>
        routeForObjectName(type === "customobjects" ? "customobjects/any_c" : type),
      );
    } catch (error) {
      problems.push(`defaultFileOptions: ${(error as Error).message}`);
    }
  }
  if (problems.length) throw new MarketoIngestionPropsError(problems);
}

const functionEntry = (name: string, file = "handler.ts") =>
  fileURLToPath(new URL(`../functions/${name}/${file}`, import.meta.url));

/**
 * The whole pipeline as one construct: drop bucket → splitter → ingestion and bulk queues → sender and bulk
 * importer → Marketo, with reports in a work bucket, every undeliverable message in a dead-letter queue with its
 * reason, and alarms that reach `alarmTopic`. See MarketoIngestionProps for what can be brought in.
 */
export class MarketoIngestion extends Construct {
  readonly dropBucket: IBucket;
  /** Reports (`reports/{key}/{version}/…`) and job slots. */
  readonly workBucket: Bucket;
  readonly accessLogBucket: Bucket;
  /** Every alarm of the pipeline notifies this topic. */
  readonly alarmTopic: ITopic;
  readonly marketoSecret: ISecret;
  readonly encryptionKey: IKey | undefined;
  readonly functions: {
    splitter: IFunction;
    sender: IFunction;
    bulkImporter: IFunction;
    reportWriter: IFunction;
    intake: IFunction;
  };
  readonly queues: {
    ingestion: IQueue;
    bulk: IQueue;
    report: IQueue;
    /** Producers send intake messages here (docs/schemas/intake-message.v1.json). */
    intake: IQueue;
    /** Failed asynchronous splitter invocations, read back by the splitter to report the file failed. */
    splitFailures: IQueue;
    /** Splits going on in a fresh splitter invocation (one message per pause). */
    splitContinuation: IQueue;
  };
  readonly deadLetterQueues: {
    ingestion: IQueue;
    bulk: IQueue;
    report: IQueue;
    splitter: IQueue;
    intake: IQueue;
  };
  /** Where finished intake windows are announced, when `windowEventBus` was given. */
  readonly windowEventBus: IEventBus | undefined;
  readonly alarms: PipelineAlarms;
  /** The CloudWatch dashboard and its alarms (errors, throttles, oldest message, daily quota). */
  readonly dashboard: PipelineDashboard;

  constructor(scope: Construct, id: string, props: MarketoIngestionProps = {}) {
    super(scope, id);
    validateMarketoIngestionProps(props);
    // The access-log bucket is owner-enforced (no ACLs): S3 must get its log-delivery grant as a bucket policy,
    // whatever feature flags the embedding app has (without them aws-cdk-lib would set a log-delivery ACL).
    this.node.setContext("@aws-cdk/aws-s3:serverAccessLogsUseBucketPolicy", true);
    this.node.setContext("@aws-cdk/aws-s3:createDefaultLoggingPolicy", true);
    const d = DEPLOYMENT_DEFAULTS;
    const key = props.encryptionKey;
    const removalPolicy = props.removalPolicy ?? RemovalPolicy.RETAIN;
    this.encryptionKey = key;
    if (key) allowCloudWatchToUseKey(this, key);

    this.accessLogBucket = new SecureBucket(this, "AccessLogs", {
      removalPolicy,
      lifecycleRules: [{ id: "expire-access-logs", expiration: Duration.days(365) }],
    }).bucket;
    const droppedFileDays = props.droppedFileRetentionDays ?? 30;
    const dropBucket =
      props.dropBucket ??
      new SecureBucket(this, "Drop", {
        accessLogs: { bucket: this.accessLogBucket, prefix: "drop/" },
        removalPolicy,
        ...(key ? { encryptionKey: key } : {}),
        noncurrentVersionDays: droppedFileDays,
        lifecycleRules: [{ id: "expire-dropped-files", expiration: Duration.days(droppedFileDays) }],
      }).bucket;
    this.dropBucket = dropBucket;
    const workBucket = new SecureBucket(this, "Work", {
      accessLogs: { bucket: this.accessLogBucket, prefix: "work/" },
      removalPolicy,
      ...(key ? { encryptionKey: key } : {}),
      lifecycleRules: [
        { id: "expire-reports", prefix: "reports/", expiration: Duration.days(props.reportRetentionDays ?? 90) },
        // Copies of input rows (personal data) go sooner than the rest of a report.
        {
          id: "expire-row-data",
          prefix: "reports/",
          tagFilters: { [ROW_DATA_TAG.key]: ROW_DATA_TAG.value },
          expiration: Duration.days(props.rowDataRetentionDays ?? 30),
        },
        // Intake window files and producer-id claims: the report retention is also the dedupe horizon.
        { id: "expire-intake", prefix: INTAKE_PREFIX, expiration: Duration.days(props.reportRetentionDays ?? 90) },
      ],
    }).bucket;
    this.workBucket = workBucket;

    const protection = { removalPolicy, ...(key ? { encryptionKey: key } : {}) };
    const ingestion = new QueueWithDlq(this, "Ingestion", {
      ...protection,
      visibilityTimeout: Duration.seconds(d.ingestionQueueVisibilitySeconds),
      retentionPeriod: Duration.days(d.ingestionQueueRetentionDays),
      maxReceiveCount: d.ingestionRedriveMaxReceiveCount,
      deadLetterRetention: Duration.days(d.dlqRetentionDays),
    });
    // Bulk parts: each message is one step of one part; waits are new delayed messages, so receive counts stay low.
    const bulk = new QueueWithDlq(this, "Bulk", {
      ...protection,
      visibilityTimeout: Duration.seconds(d.bulkQueueVisibilitySeconds),
      retentionPeriod: Duration.days(d.ingestionQueueRetentionDays),
      maxReceiveCount: d.redriveMaxReceiveCount,
      deadLetterRetention: Duration.days(d.dlqRetentionDays),
    });
    // "Report this file when done": one message per file, re-queued with a delay while its batches are open.
    const report = new QueueWithDlq(this, "Report", {
      ...protection,
      visibilityTimeout: Duration.seconds(d.reportQueueVisibilitySeconds),
      retentionPeriod: Duration.days(d.ingestionQueueRetentionDays),
      maxReceiveCount: d.redriveMaxReceiveCount,
      deadLetterRetention: Duration.days(d.dlqRetentionDays),
    });
    // Failure records the splitter could not turn into a `failed` report (event and error included).
    const splitterDlq = new Queue(this, "SplitterDeadLetterQueue", {
      ...protectedQueueProps(protection),
      retentionPeriod: Duration.days(d.dlqRetentionDays),
    });
    // Async invocations of the splitter that fail after Lambda's own retries land here, event and error included;
    // the splitter reads them back and writes the file's `failed` report, so no file reads "running" for ever.
    const splitFailures = new Queue(this, "SplitFailuresQueue", {
      ...protectedQueueProps(protection),
      visibilityTimeout: Duration.seconds(6 * d.splitterTimeoutSeconds),
      retentionPeriod: Duration.days(d.ingestionQueueRetentionDays),
      deadLetterQueue: { queue: splitterDlq, maxReceiveCount: d.redriveMaxReceiveCount },
    });
    // A split that would outlast its invocation pauses and asks for a fresh one here (one message per pause). A
    // message whose split failed three times is recorded as failed by its fourth receive, then kept in the DLQ.
    const splitContinuation = new Queue(this, "SplitContinuationQueue", {
      ...protectedQueueProps(protection),
      visibilityTimeout: Duration.seconds(d.splitContinuationVisibilitySeconds),
      retentionPeriod: Duration.days(d.ingestionQueueRetentionDays),
      deadLetterQueue: { queue: splitterDlq, maxReceiveCount: d.splitContinuationMaxReceiveCount },
    });
    // Producers' messages: a public contract (docs/schemas/), its own queue, never the internal ones.
    const intakeKey = props.intakeQueueEncryptionKey ?? key;
    const intakeQueues = new QueueWithDlq(this, "IntakeQueues", {
      removalPolicy,
      ...(intakeKey ? { encryptionKey: intakeKey } : {}),
      visibilityTimeout: Duration.seconds(d.intakeQueueVisibilitySeconds),
      retentionPeriod: Duration.days(d.ingestionQueueRetentionDays),
      maxReceiveCount: d.redriveMaxReceiveCount,
      deadLetterRetention: Duration.days(d.dlqRetentionDays),
    });
    for (const producer of props.intakeProducers ?? []) intakeQueues.queue.grantSendMessages(producer);
    this.queues = {
      ingestion: ingestion.queue,
      bulk: bulk.queue,
      report: report.queue,
      intake: intakeQueues.queue,
      splitFailures,
      splitContinuation,
    };
    this.deadLetterQueues = {
      ingestion: ingestion.deadLetterQueue,
      bulk: bulk.deadLetterQueue,
      report: report.deadLetterQueue,
      splitter: splitterDlq,
      intake: intakeQueues.deadLetterQueue,
    };

    const secret = this.resolveSecret(props, removalPolicy);
    this.marketoSecret = secret;
    const secretId =
      props.marketoSecret && "secretName" in props.marketoSecret ? props.marketoSecret.secretName : secret.secretArn;
    const secretKey = props.marketoSecretKmsKeyArn
      ? Key.fromKeyArn(this, "MarketoSecretKey", props.marketoSecretKmsKeyArn)
      : undefined;

    const logging = {
      logRetention: props.logRetention ?? RetentionDays.ONE_YEAR,
      removalPolicy,
      ...(key ? { logEncryptionKey: key } : {}),
    };
    const network = props.network ? { network: props.network } : {};

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
      ...logging,
      entry: functionEntry("splitter"),
      description: "Streams a dropped file, validates rows and queues request-sized batches",
      memorySize: 1024,
      timeout: Duration.seconds(d.splitterTimeoutSeconds),
      environment: {
        ...splitEnvironment,
        SPLIT_CONTINUATION_QUEUE_URL: splitContinuation.queueUrl,
        POWERTOOLS_SERVICE_NAME: "marketo-ingest-splitter",
      },
    });
    const splitter = splitterFunction.fn;
    splitter.configureAsyncInvoke({
      retryAttempts: 2,
      maxEventAge: Duration.hours(6),
      onFailure: new SqsDestination(splitFailures),
    });
    // Synchronous (event source mapping): a failure here is retried by SQS, then kept in the splitter DLQ.
    splitter.addEventSource(new SqsEventSource(splitFailures, { batchSize: 1 }));
    // One continuation per invocation: each gets the whole 15 minutes.
    splitter.addEventSource(new SqsEventSource(splitContinuation, { batchSize: 1 }));
    splitContinuation.grantSendMessages(splitter);
    // Continuations of the intake function's splits too: window files and the objects S3 pointers name.
    grantDroppedFileRead(splitterFunction.role, dropBucket, props.intakePayloadBucketArns);
    grantIntakeObjects(
      splitterFunction.role,
      workBucket,
      ["s3:GetObject", "s3:GetObjectVersion"],
      intakeWindowFilePattern,
    );
    // Whether a sidecar `{key}.options.json` exists: without ListBucket a missing object answers 403, not 404.
    splitterFunction.role.addToPrincipalPolicy(
      new PolicyStatement({ actions: ["s3:ListBucket"], resources: [dropBucket.bucketArn] }),
    );
    grantReportObjects(splitterFunction.role, workBucket, REPORT_OBJECT_ACCESS.splitter, key);
    // A gzip file's inflated copy is a multipart upload; a failed one is aborted rather than left as parts.
    splitter.addToRolePolicy(
      new PolicyStatement({
        actions: ["s3:AbortMultipartUpload"],
        resources: [workBucket.arnForObjects(reportObjectPattern(INFLATED_COPY_FILE))],
      }),
    );
    ingestion.queue.grantSendMessages(splitter);
    bulk.queue.grantSendMessages(splitter);
    report.queue.grantSendMessages(splitter);
    dropBucket.addEventNotification(EventType.OBJECT_CREATED, new LambdaDestination(splitter));

    const intakeFunction = new PipelineFunction(this, "Intake", {
      ...logging,
      entry: functionEntry("splitter", "intake-handler.ts"),
      description: "Validates producer messages and splits each window of them like a dropped file",
      memorySize: 1024,
      timeout: Duration.seconds(d.intakeTimeoutSeconds),
      environment: {
        ...splitEnvironment,
        INTAKE_QUEUE_URL: intakeQueues.queue.queueUrl,
        INTAKE_DLQ_URL: intakeQueues.deadLetterQueue.queueUrl,
        // A split that would outlast the invocation pauses (or is not started) and goes on in the splitter.
        SPLIT_CONTINUATION_QUEUE_URL: splitContinuation.queueUrl,
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
    grantReportObjects(intakeFunction.role, workBucket, REPORT_OBJECT_ACCESS.intake, key);
    // Window files and their descriptors, and the claims of producer ids, all under intake/.
    grantIntakeObjects(intakeFunction.role, workBucket, ["s3:GetObject", "s3:PutObject"]);
    // S3 pointers: read like dropped files (by version when the message names one).
    grantDroppedFileRead(intakeFunction.role, dropBucket, props.intakePayloadBucketArns);
    ingestion.queue.grantSendMessages(intake);
    bulk.queue.grantSendMessages(intake);
    report.queue.grantSendMessages(intake);
    intakeQueues.deadLetterQueue.grantSendMessages(intake);
    splitContinuation.grantSendMessages(intake);

    const senderFunction = new PipelineFunction(this, "Sender", {
      ...logging,
      ...network,
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
    for (const reader of [sender, splitter, intake]) {
      secret.grantRead(reader);
      secretKey?.grantDecrypt(reader);
    }
    grantReportObjects(senderFunction.role, workBucket, REPORT_OBJECT_ACCESS.sender, key);
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
      ...logging,
      ...network,
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
    grantReportObjects(bulkFunction.role, workBucket, REPORT_OBJECT_ACCESS.bulkImporter, key);
    // Claims, renews and frees job slots under bulk-slots/ (a free slot is a deleted object).
    bulkImporter.addToRolePolicy(
      new PolicyStatement({
        actions: ["s3:GetObject", "s3:PutObject", "s3:DeleteObject"],
        resources: [workBucket.arnForObjects(jobSlotPattern)],
      }),
    );
    // Each wait is the message queued again with a delay; undeliverable parts go to the DLQ with their reason.
    bulk.queue.grantSendMessages(bulkImporter);
    bulk.deadLetterQueue.grantSendMessages(bulkImporter);

    const windowEventBus =
      props.windowEventBus === "create"
        ? new EventBus(this, "WindowEventBus", {
            description: "marketo-ingest: one event per finished intake window (Intake Window Finished v1)",
          })
        : props.windowEventBus;
    this.windowEventBus = windowEventBus;
    const reportFunction = new PipelineFunction(this, "ReportWriter", {
      ...logging,
      entry: functionEntry("report-writer"),
      description: "Writes each file's report once its batches have ended, with its rows with issues as CSV",
      memorySize: 1024,
      timeout: Duration.seconds(d.reportWriterTimeoutSeconds),
      environment: {
        REPORT_QUEUE_URL: report.queue.queueUrl,
        REPORT_DLQ_URL: report.deadLetterQueue.queueUrl,
        WORK_BUCKET: workBucket.bucketName,
        // The ARN, not the name: a bus in another account is named by its ARN only.
        ...(windowEventBus ? { WINDOW_EVENT_BUS: windowEventBus.eventBusArn } : {}),
        POWERTOOLS_SERVICE_NAME: "marketo-ingest-report-writer",
      },
    });
    const reportWriter = reportFunction.fn;
    // The report writer alone announces windows; nothing else of the pipeline may put events anywhere.
    windowEventBus?.grantPutEventsTo(reportWriter);
    reportWriter.addEventSource(
      new SqsEventSource(report.queue, {
        batchSize: d.reportWriterBatchSize,
        reportBatchItemFailures: true,
        maxConcurrency: d.reportWriterMaxConcurrency,
      }),
    );
    // Reads the dropped file (or the intake window file, or the object a pointer named) again, for the original
    // columns of rows that were not accepted; and a window's descriptor, for its producer message ids.
    grantDroppedFileRead(reportFunction.role, dropBucket, props.intakePayloadBucketArns);
    grantIntakeObjects(reportFunction.role, workBucket, ["s3:GetObject", "s3:GetObjectVersion"]);
    grantReportObjects(reportFunction.role, workBucket, REPORT_OBJECT_ACCESS.reportWriter, key);
    // The CSV is a multipart upload; a failed one is aborted rather than left as orphaned parts.
    reportWriter.addToRolePolicy(
      new PolicyStatement({
        actions: ["s3:AbortMultipartUpload"],
        resources: [workBucket.arnForObjects(reportObjectPattern("rows-with-issues.csv"))],
      }),
    );
    report.queue.grantSendMessages(reportWriter);
    report.deadLetterQueue.grantSendMessages(reportWriter);

    this.functions = { splitter, sender, bulkImporter, reportWriter, intake };

    this.alarmTopic =
      props.alarmTopic ??
      new Topic(this, "AlarmTopic", {
        displayName: "marketo-ingest alarms",
        enforceSSL: true,
        ...(key ? { masterKey: key } : {}),
      });
    const alarmAction = new SnsAction(this.alarmTopic);
    const deadLetterQueues = {
      IngestionDLQ: ingestion.deadLetterQueue,
      BulkDLQ: bulk.deadLetterQueue,
      ReportDLQ: report.deadLetterQueue,
      SplitterDLQ: splitterDlq,
      IntakeDLQ: intakeQueues.deadLetterQueue,
    };
    this.alarms = new PipelineAlarms(this, "Alarms", { deadLetterQueues, splitFailures, alarmAction });
    this.dashboard = new PipelineDashboard(this, "Observability", {
      functions: {
        splitter: { fn: splitter, service: "marketo-ingest-splitter" },
        sender: { fn: sender, service: "marketo-ingest-sender" },
        bulkImporter: { fn: bulkImporter, service: "marketo-ingest-bulk-importer" },
        reportWriter: { fn: reportWriter, service: "marketo-ingest-report-writer" },
        intake: { fn: intake, service: "marketo-ingest-intake" },
      },
      queues: { Ingestion: ingestion.queue, Bulk: bulk.queue, Report: report.queue, Intake: intakeQueues.queue },
      deadLetterQueues,
      alarmAction,
      ...(props.dailyObjectsAlarmShare !== undefined ? { dailyObjectsAlarmShare: props.dailyObjectsAlarmShare } : {}),
    });

    if (props.permissionsBoundary) {
      PermissionsBoundary.of(this).apply(props.permissionsBoundary);
      // aws-cdk-lib puts the notification handler at stack level; it exists because of this construct.
      const handler = notificationsHandlerOf(Stack.of(this));
      if (handler) PermissionsBoundary.of(handler).apply(props.permissionsBoundary);
    }
    for (const [tagKey, value] of Object.entries(props.tags ?? {})) Tags.of(this).add(tagKey, value);

    acknowledgeFindings(this, {
      functions: {
        splitter: splitterFunction,
        sender: senderFunction,
        bulkImporter: bulkFunction,
        reportWriter: reportFunction,
        intake: intakeFunction,
      },
      splitterDeadLetterQueue: splitterDlq,
      dropBucket,
      dropBucketCreatedHere: !props.dropBucket,
      workBucket,
      intakePayloadBucketArns: props.intakePayloadBucketArns ?? [],
      accessLogBucket: this.accessLogBucket,
      secret: props.marketoSecret ? undefined : secret,
      topic: props.alarmTopic ? undefined : this.alarmTopic,
      encrypted: key !== undefined,
      intakeQueueEncrypted: intakeKey !== undefined,
      inVpc: props.network !== undefined,
      notificationsHandler: notificationsHandlerOf(Stack.of(this)),
    });

    new CfnOutput(this, "DropBucketName", { value: dropBucket.bucketName, description: "Drop files here" });
    new CfnOutput(this, "WorkBucketName", { value: workBucket.bucketName, description: "Reports: reports/{key}/…" });
    new CfnOutput(this, "AlarmTopicArn", {
      value: this.alarmTopic.topicArn,
      description: "Subscribe someone: aws sns subscribe --topic-arn <this> --protocol email --notification-endpoint …",
    });
    new CfnOutput(this, "MarketoSecretArn", { value: secret.secretArn });
    if (!props.marketoSecret) {
      new CfnOutput(this, "MarketoSecretFillCommand", {
        description: "Fill the secret created empty (marketo-secret.json: see docs/platform-teams.md, 'Deploying')",
        value: Fn.join("", [
          "aws secretsmanager put-secret-value --secret-id ",
          secret.secretArn,
          " --secret-string file://marketo-secret.json",
        ]),
      });
    }
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
    // Read by `marketo-ingest redrive` (the report DLQ's way back to its queue).
    new CfnOutput(this, "ReportQueueUrl", { value: report.queue.queueUrl });
    new CfnOutput(this, "IntakeQueueUrl", {
      value: intakeQueues.queue.queueUrl,
      description: "Producers send intake messages here (docs/schemas/intake-message.v1.json)",
    });
    new CfnOutput(this, "IntakeDeadLetterQueueUrl", {
      value: intakeQueues.deadLetterQueue.queueUrl,
      description: "Invalid intake messages, with code, path and message as attributes",
    });
    if (windowEventBus) {
      new CfnOutput(this, "WindowEventBusArn", {
        value: windowEventBus.eventBusArn,
        description: "One event per finished intake window (docs/schemas/intake-window-finished.v1.json)",
      });
    }
  }

  private resolveSecret(props: MarketoIngestionProps, removalPolicy: RemovalPolicy): ISecret {
    const ref = props.marketoSecret;
    if (ref) {
      return "secretName" in ref
        ? Secret.fromSecretNameV2(this, "MarketoSecret", ref.secretName)
        : Secret.fromSecretCompleteArn(this, "MarketoSecret", ref.secretArn);
    }
    // A placeholder, not a credential: the operator puts the real JSON in with the command printed as an output.
    return new Secret(this, "MarketoSecret", {
      description: "Marketo API credentials for marketo-ingest (clientId, clientSecret, munchkinId)",
      secretStringValue: SecretValue.unsafePlainText("{}"),
      removalPolicy,
      ...(props.encryptionKey ? { encryptionKey: props.encryptionKey } : {}),
    });
  }
}

/**
 * Reads of any dropped file (and of the buckets intake S3 pointers may name), by version id too (a re-upload never
 * changes what a run reads); never writes.
 */
function grantDroppedFileRead(role: IRole, dropBucket: IBucket, payloadBucketArns: readonly string[] = []): void {
  role.addToPrincipalPolicy(
    new PolicyStatement({
      actions: ["s3:GetObject", "s3:GetObjectVersion"],
      resources: [dropBucket.arnForObjects("*"), ...payloadBucketArns.map((arn) => `${arn}/*`)],
    }),
  );
  dropBucket.encryptionKey?.grantDecrypt(role);
}

/** Intake window files, their descriptors and producer-id claims: keys made at run time under intake/. */
function grantIntakeObjects(role: IRole, workBucket: IBucket, actions: string[], pattern = `${INTAKE_PREFIX}*`): void {
  role.addToPrincipalPolicy(new PolicyStatement({ actions, resources: [workBucket.arnForObjects(pattern)] }));
}

/**
 * Only the named objects of any file's report folder. ListBucket makes a missing claim, outcome or manifest
 * answer 404 rather than 403, which is how a batch or a file learns it is new. It carries no s3:prefix condition:
 * a GetObject has no prefix in its request context, so a conditioned grant would not apply.
 */
function grantReportObjects(role: IRole, workBucket: IBucket, access: ReportObjectAccess, key: IKey | undefined): void {
  if (access.read.length) {
    role.addToPrincipalPolicy(
      new PolicyStatement({
        actions: ["s3:GetObject"],
        resources: access.read.map((name) => workBucket.arnForObjects(reportObjectPattern(name))),
      }),
    );
  }
  if (access.write.length) {
    role.addToPrincipalPolicy(
      new PolicyStatement({
        actions: ["s3:PutObject"],
        resources: access.write.map((name) => workBucket.arnForObjects(reportObjectPattern(name))),
      }),
    );
  }
  if (access.tagged?.length) {
    role.addToPrincipalPolicy(
      new PolicyStatement({
        actions: ["s3:PutObjectTagging"],
        resources: access.tagged.map((name) => workBucket.arnForObjects(reportObjectPattern(name))),
      }),
    );
  }
  role.addToPrincipalPolicy(new PolicyStatement({ actions: ["s3:ListBucket"], resources: [workBucket.bucketArn] }));
  // SSE-KMS: a read decrypts the object's data key, a write generates one.
  if (key) {
    role.addToPrincipalPolicy(
      new PolicyStatement({ actions: ["kms:Decrypt", "kms:GenerateDataKey"], resources: [key.keyArn] }),
    );
  }
}

/**
 * A key defined in this app gets what CloudWatch needs to use it: Logs for the log groups, alarms to publish to
 * an encrypted topic. An imported key's policy is its owner's (docs/platform-teams.md, "Deploying", lists the statements).
 */
function allowCloudWatchToUseKey(scope: Construct, key: IKey): void {
  const stack = Stack.of(scope);
  key.addToResourcePolicy(
    new PolicyStatement({
      principals: [new ServicePrincipal(`logs.${stack.region}.amazonaws.com`)],
      actions: ["kms:Encrypt", "kms:Decrypt", "kms:ReEncrypt*", "kms:GenerateDataKey*", "kms:DescribeKey"],
      resources: ["*"],
      conditions: {
        ArnLike: {
          "kms:EncryptionContext:aws:logs:arn": `arn:${stack.partition}:logs:${stack.region}:${stack.account}:log-group:*`,
        },
      },
    }),
  );
  key.addToResourcePolicy(
    new PolicyStatement({
      principals: [new ServicePrincipal("cloudwatch.amazonaws.com")],
      actions: ["kms:Decrypt", "kms:GenerateDataKey*"],
      resources: ["*"],
    }),
  );
}

function notificationsHandlerOf(stack: Stack): Construct | undefined {
  return stack.node.children.find((child) => child.node.id.startsWith("BucketNotificationsHandler"));
}
