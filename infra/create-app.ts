import { type App, type Stack, Validations } from "aws-cdk-lib";
import { EventBus, type IEventBus } from "aws-cdk-lib/aws-events";
import { Key } from "aws-cdk-lib/aws-kms";
import { Bucket } from "aws-cdk-lib/aws-s3";
import { Topic } from "aws-cdk-lib/aws-sns";
import { AwsSolutionsChecks, NIST80053R5Checks } from "cdk-nag";
import { z } from "zod";
import { senderConcurrencyCeiling } from "../shared/config/deployment-defaults.ts";
import { jsonOf } from "../shared/text/json-text.ts";
import { checkDefaultOptions, DefaultFileOptionsSchema } from "../shared/options/file-options.ts";
import { routeForObjectName } from "../shared/options/object-route.ts";
import { producerPrincipal } from "./intake-producers.ts";
import type { MarketoIngestionProps } from "./marketo-ingestion.ts";
import { MarketoIngestStack } from "./marketo-ingest-stack.ts";

/**
 * `npx cdk synth|deploy [-c marketoSecretName=…|-c marketoSecretArn=…] [-c senderMaxConcurrency=…] [-c bulkJobSlots=…]
 * [-c stackName=…] [-c defaultFileOptions='{"persons":{"priority":"high"}}'] [-c reportRetentionDays=…]
 * [-c droppedFileRetentionDays=…] [-c encryptionKeyArn=…] [-c alarmTopicArn=…] [-c dropBucketName=…]
 * [-c intakeProducers=111122223333,arn:aws:sns:…] [-c intakeQueueKmsKeyArn=…] [-c intakePayloadBucketArns=…]
 * [-c dailyObjectsAlarmShare=0.8] [-c windowEventBus=create|BUS_ARN|BUS_NAME]`
 * Without a secret name or ARN the stack creates the secret empty and prints the command that fills it.
 */
const ContextSchema = z.object({
  stackName: z.string().min(1).default("MarketoIngest"),
  marketoSecretName: z.string().min(1).optional(),
  marketoSecretArn: z.string().startsWith("arn:").optional(),
  marketoSecretKmsKeyArn: z.string().startsWith("arn:").optional(),
  // Lambda's minimum for an SQS event source is 2; the ceiling keeps the fleet under Marketo's 5,000 requests/s.
  senderMaxConcurrency: z.coerce.number().int().min(2).max(senderConcurrencyCeiling()).optional(),
  /** Import jobs kept open at Marketo at once: lower it when other integrations of the instance use Bulk Import. */
  bulkJobSlots: z.coerce.number().int().min(1).max(10).optional(),
  /** JSON, per object type: `{"persons":{"priority":"high"},"companies":{"action":"updateOnly"}}`. */
  defaultFileOptions: jsonOf(DefaultFileOptionsSchema).optional(),
  reportRetentionDays: z.coerce.number().int().min(1).optional(),
  droppedFileRetentionDays: z.coerce.number().int().min(1).optional(),
  rowDataRetentionDays: z.coerce.number().int().min(1).optional(),
  /** Customer-managed KMS key (same account and region) for buckets, queues, logs, the secret and the topic. */
  encryptionKeyArn: z.string().startsWith("arn:").optional(),
  /** An existing SNS topic for the alarms (one is created without it). */
  alarmTopicArn: z.string().startsWith("arn:").optional(),
  /** An existing, versioned drop bucket (one is created without it). */
  dropBucketName: z.string().min(3).optional(),
  /** Who may send to the intake queue: a JSON array or a comma list of account ids, IAM role, SNS topic or rule ARNs. */
  intakeProducers: z.union([z.array(z.string()), z.string().transform((text) => parseList(text))]).optional(),
  /** A customer-managed KMS key for the intake queue only (default: encryptionKeyArn, else SQS-managed). */
  intakeQueueKmsKeyArn: z.string().startsWith("arn:").optional(),
  /** Buckets (ARNs) S3-pointer messages may name besides the drop bucket: JSON array or comma list. */
  intakePayloadBucketArns: z
    .union([z.array(z.string().startsWith("arn:")), z.string().transform((text) => parseList(text))])
    .optional(),
  /** Alarm when objects sent in 24 h pass this share of Marketo's 10,000,000/day. */
  dailyObjectsAlarmShare: z.coerce.number().gt(0).max(1).optional(),
  /** Intake window events: `create` (a new bus), an existing bus's ARN, or its name (this account and region). */
  windowEventBus: z
    .string()
    .regex(
      /^(create|arn:[^:]+:events:[^:]+:\d{12}:event-bus\/[\w.\-/]+|[\w.\-/]{1,256})$/,
      "must be create, an event bus ARN or an event bus name",
    )
    .optional(),
});

/** `create`, or the existing bus a context value names by ARN or by name. */
function windowEventBusOf(stack: Stack, value: string): IEventBus | "create" {
  if (value === "create") return "create";
  return value.startsWith("arn:")
    ? EventBus.fromEventBusArn(stack, "WindowEventBus", value)
    : EventBus.fromEventBusName(stack, "WindowEventBus", value);
}

/** `["a","b"]` or `a,b`: `-c` values arrive as text, cdk.json values as JSON. */
function parseList(text: string): string[] {
  const trimmed = text.trim();
  if (trimmed.startsWith("[")) return z.array(z.string()).parse(JSON.parse(trimmed));
  return trimmed
    .split(",")
    .map((part) => part.trim())
    .filter(Boolean);
}

/** Builds the stack from the app's context (cdk.json, `-c key=value`) and registers cdk-nag's AwsSolutions pack. */
export function createMarketoIngestApp(app: App): MarketoIngestStack {
  const contextKeys = Object.keys(ContextSchema.shape);
  const parsed = ContextSchema.safeParse(
    Object.fromEntries(contextKeys.map((key) => [key, app.node.tryGetContext(key)])),
  );
  if (!parsed.success) {
    const problems = parsed.error.issues.map((issue) => `-c ${issue.path.join(".")}: ${issue.message}`);
    throw new Error(`invalid CDK context: ${problems.join("; ")}`);
  }
  const context = parsed.data;
  // The splitter would reject every file of a type whose defaults break a rule: fail the synth instead.
  if (context.defaultFileOptions) {
    try {
      checkDefaultOptions(context.defaultFileOptions, (type) =>
        routeForObjectName(type === "customobjects" ? "customobjects/any_c" : type),
      );
    } catch (error) {
      throw new Error(`invalid CDK context: -c defaultFileOptions: ${(error as Error).message}`, { cause: error });
    }
  }

  // Existing resources are imported into the stack, then handed to the construct as an embedding app would.
  const ingestion = (stack: Stack): MarketoIngestionProps => ({
    ...(context.marketoSecretArn
      ? { marketoSecret: { secretArn: context.marketoSecretArn } }
      : context.marketoSecretName
        ? { marketoSecret: { secretName: context.marketoSecretName } }
        : {}),
    ...(context.marketoSecretKmsKeyArn ? { marketoSecretKmsKeyArn: context.marketoSecretKmsKeyArn } : {}),
    ...(context.senderMaxConcurrency ? { senderMaxConcurrency: context.senderMaxConcurrency } : {}),
    ...(context.bulkJobSlots ? { bulkJobSlots: context.bulkJobSlots } : {}),
    ...(context.reportRetentionDays ? { reportRetentionDays: context.reportRetentionDays } : {}),
    ...(context.droppedFileRetentionDays ? { droppedFileRetentionDays: context.droppedFileRetentionDays } : {}),
    ...(context.rowDataRetentionDays ? { rowDataRetentionDays: context.rowDataRetentionDays } : {}),
    ...(context.defaultFileOptions ? { defaultFileOptions: context.defaultFileOptions } : {}),
    ...(context.encryptionKeyArn
      ? { encryptionKey: Key.fromKeyArn(stack, "EncryptionKey", context.encryptionKeyArn) }
      : {}),
    ...(context.alarmTopicArn ? { alarmTopic: Topic.fromTopicArn(stack, "AlarmTopic", context.alarmTopicArn) } : {}),
    ...(context.dropBucketName
      ? { dropBucket: Bucket.fromBucketName(stack, "DropBucket", context.dropBucketName) }
      : {}),
    ...(context.intakeProducers?.length ? { intakeProducers: context.intakeProducers.map(producerPrincipal) } : {}),
    ...(context.intakeQueueKmsKeyArn
      ? { intakeQueueEncryptionKey: Key.fromKeyArn(stack, "IntakeQueueKey", context.intakeQueueKmsKeyArn) }
      : {}),
    ...(context.intakePayloadBucketArns?.length ? { intakePayloadBucketArns: context.intakePayloadBucketArns } : {}),
    ...(context.dailyObjectsAlarmShare ? { dailyObjectsAlarmShare: context.dailyObjectsAlarmShare } : {}),
    ...(context.windowEventBus ? { windowEventBus: windowEventBusOf(stack, context.windowEventBus) } : {}),
  });
  const stack = new MarketoIngestStack(app, context.stackName, {
    env: { account: process.env.CDK_DEFAULT_ACCOUNT, region: process.env.CDK_DEFAULT_REGION },
    ingestion,
  });
  Validations.of(app).addPlugins(new AwsSolutionsChecks(app), new NIST80053R5Checks(app));
  return stack;
}
