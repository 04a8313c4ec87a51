import { Stack, Validations } from "aws-cdk-lib";
import type { IBucket } from "aws-cdk-lib/aws-s3";
import type { Construct } from "constructs";
import { INTAKE_PREFIX } from "../shared/contracts/intake-window.ts";
import {
  intakeWindowFilePattern,
  jobSlotPattern,
  REPORT_OBJECT_ACCESS,
  reportObjectPattern,
} from "./report-object-access.ts";

type FunctionName = keyof typeof REPORT_OBJECT_ACCESS;

interface Parts {
  functions: Record<FunctionName, Construct>;
  splitterDeadLetterQueue: Construct;
  dropBucket: IBucket;
  /** False for a drop bucket brought in: its configuration is its owner's, and cdk-nag does not see it. */
  dropBucketCreatedHere: boolean;
  workBucket: IBucket;
  /** Buckets intake S3 pointers may name besides the drop bucket (ARNs). */
  intakePayloadBucketArns: readonly string[];
  accessLogBucket: IBucket;
  /** The secret, when it was created here (an imported one is not in the template). */
  secret: Construct | undefined;
  /** The alarm topic, when it was created here. */
  topic: Construct | undefined;
  /** A customer-managed key encrypts buckets, queues, logs, secret and topic. */
  encrypted: boolean;
  /** A customer-managed key encrypts the intake queue (its own key, or the one above). */
  intakeQueueEncrypted: boolean;
  /** The Marketo-facing functions run in a VPC. */
  inVpc: boolean;
  notificationsHandler: Construct | undefined;
}

/** An ARN as cdk-nag writes it in a finding id: `Ref`s as `<Name>`, `Fn::GetAtt`s as `<Name.Attr>`. */
function nagArn(stack: Stack, arn: string): string {
  const render = (value: unknown): string => {
    if (typeof value === "string") return value;
    const node = value as Record<string, unknown>;
    if ("Ref" in node) return `<${String(node.Ref)}>`;
    if ("Fn::GetAtt" in node) return `<${(node["Fn::GetAtt"] as string[]).join(".")}>`;
    if ("Fn::Join" in node) {
      const [separator, parts] = node["Fn::Join"] as [string, unknown[]];
      return parts.map(render).join(separator);
    }
    return JSON.stringify(value);
  };
  return render(stack.resolve(arn));
}

const ack = (scope: Construct, id: string, reason: string) => Validations.of(scope).acknowledge({ id, reason });

/**
 * Every cdk-nag finding (AwsSolutions and NIST 800-53 rev 5) the construct keeps, each with the reason it is
 * acceptable. Findings are acknowledged one by one, on the resource that has them, and only in the
 * configuration that produces them (no rule-wide suppression): a new wildcard or resource still fails the tests.
 */
export function acknowledgeFindings(scope: Construct, parts: Parts): void {
  const stack = Stack.of(scope);
  const arnOf = (bucket: IBucket) => nagArn(stack, bucket.bucketArn);
  const fns = Object.entries(parts.functions) as [FunctionName, Construct][];

  for (const [name, fn] of fns) {
    const access = REPORT_OBJECT_ACCESS[name];
    ack(
      fn,
      "AwsSolutions-IAM5[Resource::*]",
      parts.inVpc && (name === "sender" || name === "bulkImporter")
        ? "X-Ray's PutTraceSegments/PutTelemetryRecords (tracing: ACTIVE) and the ENI actions of a function in a VPC (as AWSLambdaVPCAccessExecutionRole) support no resource-level permissions."
        : "X-Ray's PutTraceSegments/PutTelemetryRecords (added by tracing: ACTIVE) support no resource-level permissions.",
    );
    const tagged: readonly string[] = "tagged" in access ? access.tagged : [];
    for (const object of new Set([...access.read, ...access.write, ...tagged])) {
      ack(
        fn,
        `AwsSolutions-IAM5[Resource::${arnOf(parts.workBucket)}/${reportObjectPattern(object)}]`,
        `Report folders are reports/{dropped key}/{version}/, known only at run time; this role may touch only the '${object}' objects of a folder, as its code does.`,
      );
    }
    // aws-cdk-lib's grants on SSE-KMS queues: every action it adds is on the deployment's own key only.
    if (parts.encrypted || (name === "intake" && parts.intakeQueueEncrypted)) {
      for (const action of ["kms:ReEncrypt*", "kms:GenerateDataKey*"]) {
        ack(
          fn,
          `AwsSolutions-IAM5[Action::${action}]`,
          "Added by aws-cdk-lib's SQS grants for a queue encrypted with the customer-managed key; the only resource is that key.",
        );
      }
    }
    ack(
      fn,
      "NIST.800.53.R5-IAMNoInlinePolicy",
      "Each function's role has one inline policy that exists and is deleted with that role and is attachable to nothing else; a customer-managed policy would add a separately attachable document with no second user.",
    );
    ack(
      fn,
      "NIST.800.53.R5-LambdaConcurrency",
      name === "splitter"
        ? "Bounded by what data teams drop (one invocation per file at a time, plus its continuations one by one; async with 2 retries and a DLQ); reserving concurrency would take it from the account pool and throttle files into the DLQ."
        : "Concurrency is bounded by the SQS event source's maximumConcurrency (AWS guidance for SQS consumers); reserved concurrency would also throttle and re-queue messages.",
    );
    ack(
      fn,
      "NIST.800.53.R5-LambdaDLQ",
      name === "splitter"
        ? "Failed asynchronous invocations go to SplitterDeadLetterQueue through an on-failure destination (which carries the error too), not the older DLQ setting."
        : "Invoked by an SQS event source: failed messages move to the source queue's dead-letter queue (redrive policy); a function DLQ applies only to asynchronous invocations.",
    );
    if (!parts.inVpc || !(name === "sender" || name === "bulkImporter")) {
      ack(
        fn,
        "NIST.800.53.R5-LambdaInsideVPC",
        parts.inVpc
          ? "Calls only S3 and SQS, over TLS with IAM authorization; the network prop places the functions that reach Marketo in the VPC."
          : "No VPC was given (network prop): the function calls only AWS APIs over TLS with IAM authorization and Marketo over TLS with OAuth; pass network to place the Marketo-facing functions in a VPC.",
      );
    }
    if (!parts.encrypted) {
      ack(
        fn,
        "NIST.800.53.R5-CloudWatchLogGroupEncrypted",
        "Log groups are encrypted at rest by CloudWatch Logs; the functions log counts, ids and codes only, never records or secrets. Pass encryptionKey for a customer-managed key.",
      );
    }
  }

  ack(
    parts.functions.bulkImporter,
    `AwsSolutions-IAM5[Resource::${arnOf(parts.workBucket)}/${jobSlotPattern}]`,
    "The job slots are bulk-slots/0.json … 9.json (count configurable); scoped to that prefix.",
  );
  for (const fn of [parts.functions.splitter, parts.functions.reportWriter, parts.functions.intake]) {
    ack(
      fn,
      `AwsSolutions-IAM5[Resource::${arnOf(parts.dropBucket)}/*]`,
      "Reads whatever key a data team drops or an intake S3 pointer names (to split it, then to copy rows with issues); read-only.",
    );
  }
  for (const fn of [parts.functions.intake, parts.functions.reportWriter]) {
    ack(
      fn,
      `AwsSolutions-IAM5[Resource::${arnOf(parts.workBucket)}/${INTAKE_PREFIX}*]`,
      "Intake window files, their descriptors and producer-id claims have keys made at run time (date, window, hashed id); scoped to intake/.",
    );
  }
  ack(
    parts.functions.splitter,
    `AwsSolutions-IAM5[Resource::${arnOf(parts.workBucket)}/${intakeWindowFilePattern}]`,
    "Goes on with intake window splits the intake function paused or deferred: window files have keys made at run time (date, window id); read-only, not their descriptors or claims.",
  );
  // The splitter goes on with splits of objects S3 pointers name, when the intake function paused them.
  for (const fn of [parts.functions.intake, parts.functions.reportWriter, parts.functions.splitter]) {
    for (const bucketArn of parts.intakePayloadBucketArns) {
      ack(
        fn,
        `AwsSolutions-IAM5[Resource::${bucketArn}/*]`,
        "A bucket the deployment names for intake S3 pointers: producers choose the key at run time; read-only.",
      );
    }
  }

  ack(
    parts.splitterDeadLetterQueue,
    "AwsSolutions-SQS3",
    "This queue is itself a dead-letter queue: where split-failure records the splitter could not report end up.",
  );

  const buckets = [parts.workBucket, parts.accessLogBucket, ...(parts.dropBucketCreatedHere ? [parts.dropBucket] : [])];
  for (const bucket of buckets) {
    ack(
      bucket,
      "NIST.800.53.R5-S3BucketReplicationEnabled",
      "Working copies with a retention of days (personal data): a replica would double where it lives and what must be erased; the data teams keep the source files.",
    );
  }
  ack(
    parts.accessLogBucket,
    "NIST.800.53.R5-S3DefaultEncryptionKMS",
    "S3 server access logging delivers only to buckets encrypted with SSE-S3, which this bucket uses.",
  );
  if (!parts.encrypted) {
    for (const bucket of [parts.workBucket, ...(parts.dropBucketCreatedHere ? [parts.dropBucket] : [])]) {
      ack(
        bucket,
        "NIST.800.53.R5-S3DefaultEncryptionKMS",
        "Encrypted at rest with SSE-S3 (AES-256) because no encryptionKey was given; pass one for SSE-KMS.",
      );
    }
  }

  if (parts.secret) {
    const rotation =
      "Marketo issues a client secret only in its admin UI (LaunchPoint), so no Lambda can rotate it; rotating it is issuing a new one there and the put-secret-value of docs/platform-teams.md, 'Deploying'.";
    ack(parts.secret, "AwsSolutions-SMG4", rotation);
    ack(parts.secret, "NIST.800.53.R5-SecretsManagerRotationEnabled", rotation);
    if (!parts.encrypted) {
      ack(
        parts.secret,
        "NIST.800.53.R5-SecretsManagerUsingKMSKey",
        "Encrypted with the AWS-managed key aws/secretsmanager because no encryptionKey was given; pass one for a customer-managed key.",
      );
    }
  }
  if (parts.topic && !parts.encrypted) {
    const reason =
      "Alarm notifications carry alarm names and states only; CloudWatch cannot publish to a topic encrypted with the AWS-managed key aws/sns, so it stays unencrypted unless an encryptionKey is given.";
    ack(parts.topic, "AwsSolutions-SNS2", reason);
    ack(parts.topic, "NIST.800.53.R5-SNSEncryptedKMS", reason);
  }

  // aws-cdk-lib's own singleton that configures the bucket notification; its role is not ours to shape.
  if (parts.notificationsHandler) {
    ack(
      parts.notificationsHandler,
      "AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole]",
      "aws-cdk-lib's BucketNotificationsHandler custom resource; runs only at deploy time, handles no data.",
    );
  }
  // The handler's inline policy is created under the bucket it configures (Notifications/HandlerPolicy).
  ack(
    parts.dropBucket,
    "NIST.800.53.R5-IAMNoInlinePolicy",
    "aws-cdk-lib's BucketNotificationsHandler policy: allows s3:PutBucketNotification on this bucket, used at deploy time only.",
  );
}
