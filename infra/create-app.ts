import { type App, Validations } from "aws-cdk-lib";
import { AwsSolutionsChecks } from "cdk-nag";
import { z } from "zod";
import { senderConcurrencyCeiling } from "../shared/config/deployment-defaults.ts";
import { jsonOf } from "../shared/text/json-text.ts";
import { checkDefaultOptions, DefaultFileOptionsSchema } from "../shared/options/file-options.ts";
import { routeForObjectName } from "../shared/options/object-route.ts";
import { producerPrincipal } from "./intake-producers.ts";
import { MarketoIngestStack, type MarketoIngestStackProps } from "./marketo-ingest-stack.ts";

/**
 * `npx cdk synth|deploy [-c marketoSecretName=…|-c marketoSecretArn=…] [-c senderMaxConcurrency=…] [-c bulkJobSlots=…]
 * [-c stackName=…] [-c defaultFileOptions='{"persons":{"priority":"high"}}'] [-c reportRetentionDays=…]
 * [-c intakeProducers=111122223333,arn:aws:sns:…] [-c intakeQueueKmsKeyArn=…] [-c intakePayloadBucketArns=…]`
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
  /** Who may send to the intake queue: a JSON array or a comma list of account ids, IAM role, SNS topic or rule ARNs. */
  intakeProducers: z.union([z.array(z.string()), z.string().transform((text) => parseList(text))]).optional(),
  intakeQueueKmsKeyArn: z.string().startsWith("arn:").optional(),
  /** Buckets (ARNs) S3-pointer messages may name besides the drop bucket: JSON array or comma list. */
  intakePayloadBucketArns: z
    .union([z.array(z.string().startsWith("arn:")), z.string().transform((text) => parseList(text))])
    .optional(),
});

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

  const props: MarketoIngestStackProps = {
    marketoSecret: context.marketoSecretArn
      ? { secretArn: context.marketoSecretArn }
      : { secretName: context.marketoSecretName ?? "marketo-ingest/marketo" },
    ...(context.marketoSecretKmsKeyArn ? { marketoSecretKmsKeyArn: context.marketoSecretKmsKeyArn } : {}),
    ...(context.senderMaxConcurrency ? { senderMaxConcurrency: context.senderMaxConcurrency } : {}),
    ...(context.bulkJobSlots ? { bulkJobSlots: context.bulkJobSlots } : {}),
    ...(context.reportRetentionDays ? { reportRetentionDays: context.reportRetentionDays } : {}),
    ...(context.defaultFileOptions ? { defaultFileOptions: context.defaultFileOptions } : {}),
    ...(context.intakeProducers?.length ? { intakeProducers: context.intakeProducers.map(producerPrincipal) } : {}),
    ...(context.intakeQueueKmsKeyArn ? { intakeQueueKmsKeyArn: context.intakeQueueKmsKeyArn } : {}),
    ...(context.intakePayloadBucketArns?.length ? { intakePayloadBucketArns: context.intakePayloadBucketArns } : {}),
    env: { account: process.env.CDK_DEFAULT_ACCOUNT, region: process.env.CDK_DEFAULT_REGION },
  };

  const stack = new MarketoIngestStack(app, context.stackName, props);
  Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
  return stack;
}
