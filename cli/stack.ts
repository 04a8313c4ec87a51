import { CliError } from "./cli-error.ts";
import { readStackOutputs, StackOutputError } from "./stack-outputs.ts";

export { CliError };

/**
 * The queues an operator deals with, each with its DLQ. `splitter` is the split-failures queue (Lambda's records of
 * failed splits, which the splitter reads back to report the file as failed) and the splitter DLQ behind it.
 */
export const QUEUE_NAMES = ["ingestion", "bulk", "report", "intake", "splitter"] as const;
export type QueueName = (typeof QUEUE_NAMES)[number];

/** The CloudFormation outputs the CLI reads (infra/marketo-ingest-stack.ts declares them; a test checks it). */
export const STACK_OUTPUTS = [
  "DropBucketName",
  "WorkBucketName",
  "IngestionQueueUrl",
  "IngestionDeadLetterQueueUrl",
  "BulkQueueUrl",
  "BulkDeadLetterQueueUrl",
  "ReportQueueUrl",
  "ReportDeadLetterQueueUrl",
  "IntakeQueueUrl",
  "IntakeDeadLetterQueueUrl",
  "SplitFailuresQueueUrl",
  "SplitterDeadLetterQueueUrl",
  "MarketoSecretArn",
] as const;

export interface StackResources {
  stackName?: string;
  dropBucket?: string;
  workBucket?: string;
  /** The Marketo secret's ARN (stack output MarketoSecretArn). */
  secretId?: string;
  /** Per queue: its URL (when the stack outputs it) and its DLQ's URL. */
  queues: Partial<Record<QueueName, { url?: string; dlqUrl: string }>>;
}

export interface StackFlags {
  stack?: string | undefined;
  bucket?: string | undefined;
  "drop-bucket"?: string | undefined;
}

/**
 * The stack's resources from its CloudFormation outputs (`--stack NAME`, or MARKETO_INGEST_STACK) with explicit
 * flags winning (`--bucket` the work bucket, `--drop-bucket`); without a stack, the flags alone.
 */
export async function resolveStack(flags: StackFlags, env: NodeJS.ProcessEnv): Promise<StackResources> {
  const stackName = flags.stack ?? env.MARKETO_INGEST_STACK;
  const outputs: Partial<Record<(typeof STACK_OUTPUTS)[number], string>> = stackName
    ? await stackOutputs(stackName, env)
    : {};
  const queue = (url: string | undefined, dlqUrl: string | undefined) =>
    dlqUrl ? { ...(url ? { url } : {}), dlqUrl } : undefined;
  const queues: StackResources["queues"] = {};
  const entries: Array<[QueueName, ReturnType<typeof queue>]> = [
    ["ingestion", queue(outputs.IngestionQueueUrl, outputs.IngestionDeadLetterQueueUrl)],
    ["bulk", queue(outputs.BulkQueueUrl, outputs.BulkDeadLetterQueueUrl)],
    ["report", queue(outputs.ReportQueueUrl, outputs.ReportDeadLetterQueueUrl)],
    ["intake", queue(outputs.IntakeQueueUrl, outputs.IntakeDeadLetterQueueUrl)],
    ["splitter", queue(outputs.SplitFailuresQueueUrl, outputs.SplitterDeadLetterQueueUrl)],
  ];
  for (const [name, value] of entries) if (value) queues[name] = value;
  const dropBucket = flags["drop-bucket"] ?? outputs.DropBucketName ?? env.MARKETO_INGEST_DROP_BUCKET;
  const workBucket = flags.bucket ?? outputs.WorkBucketName ?? env.MARKETO_INGEST_WORK_BUCKET;
  return {
    ...(stackName ? { stackName } : {}),
    ...(dropBucket ? { dropBucket } : {}),
    ...(workBucket ? { workBucket } : {}),
    ...(outputs.MarketoSecretArn ? { secretId: outputs.MarketoSecretArn } : {}),
    queues,
  };
}

export function required<T>(value: T | undefined, what: string, flag: string): T {
  if (value === undefined) {
    throw new CliError(`no ${what}: pass --stack NAME (the deployed stack) or ${flag}`, 2);
  }
  return value;
}

async function stackOutputs(stackName: string, env: NodeJS.ProcessEnv): Promise<Record<string, string>> {
  try {
    const { values } = await readStackOutputs(
      stackName,
      STACK_OUTPUTS,
      env,
      "pass the resources with flags (--bucket, --drop-bucket)",
    );
    return values;
  } catch (error) {
    if (error instanceof StackOutputError) throw new CliError(error.message);
    throw explainAwsError(error, `reading stack ${stackName} (cloudformation:DescribeStacks)`);
  }
}

export function checkRegion(env: NodeJS.ProcessEnv): void {
  if (!env.AWS_REGION && !env.AWS_DEFAULT_REGION && !env.AWS_PROFILE) {
    throw new CliError("no AWS region: set AWS_REGION (the stack's region) or AWS_PROFILE with a region", 2);
  }
}

/** An AWS SDK error as a sentence: missing credentials, a missing permission, or the service's own message. */
export function explainAwsError(error: unknown, doing: string): Error {
  if (error instanceof CliError) return error;
  const name = (error as { name?: string }).name ?? "";
  const message = (error as Error).message ?? String(error);
  if (name === "CredentialsProviderError" || /Could not load credentials/i.test(message)) {
    return new CliError(
      `no AWS credentials while ${doing}: set AWS_PROFILE, or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY`,
    );
  }
  if (/AccessDenied|UnauthorizedOperation|not authorized/i.test(`${name} ${message}`)) {
    return new CliError(`permission denied while ${doing}: your AWS identity needs that permission (${message})`);
  }
  return new CliError(`${doing} failed: ${name ? `${name}: ` : ""}${message}`);
}
