import { type App, Validations } from "aws-cdk-lib";
import { AwsSolutionsChecks } from "cdk-nag";
import { z } from "zod";
import { DedupeFieldListSchema, PrioritySchema } from "../shared/pipeline/ingestion-options.ts";
import { MarketoIngestStack, type MarketoIngestStackProps } from "./marketo-ingest-stack.ts";

/**
 * `npx cdk synth|deploy [-c marketoSecretName=…|-c marketoSecretArn=…] [-c senderMaxConcurrency=…]
 * [-c stackName=…] [-c defaultPriority=high] [-c defaultPartitionName=…] [-c defaultDedupeFields=email]`
 */
const ContextSchema = z.object({
  stackName: z.string().min(1).default("MarketoIngest"),
  marketoSecretName: z.string().min(1).optional(),
  marketoSecretArn: z.string().startsWith("arn:").optional(),
  marketoSecretKmsKeyArn: z.string().startsWith("arn:").optional(),
  senderMaxConcurrency: z.coerce.number().int().min(2).max(1000).optional(),
  defaultPriority: PrioritySchema.optional(),
  defaultPartitionName: z.string().min(1).optional(),
  defaultDedupeFields: z
    .string()
    .transform((text) => text.split(",").map((part) => part.trim()))
    .pipe(DedupeFieldListSchema)
    .optional(),
  reportRetentionDays: z.coerce.number().int().min(1).optional(),
});

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

  const props: MarketoIngestStackProps = {
    marketoSecret: context.marketoSecretArn
      ? { secretArn: context.marketoSecretArn }
      : { secretName: context.marketoSecretName ?? "marketo-ingest/marketo" },
    ...(context.marketoSecretKmsKeyArn ? { marketoSecretKmsKeyArn: context.marketoSecretKmsKeyArn } : {}),
    ...(context.senderMaxConcurrency ? { senderMaxConcurrency: context.senderMaxConcurrency } : {}),
    ...(context.reportRetentionDays ? { reportRetentionDays: context.reportRetentionDays } : {}),
    defaults: {
      ...(context.defaultPriority ? { priority: context.defaultPriority } : {}),
      ...(context.defaultPartitionName ? { partitionName: context.defaultPartitionName } : {}),
      ...(context.defaultDedupeFields ? { dedupeFields: context.defaultDedupeFields } : {}),
    },
    env: { account: process.env.CDK_DEFAULT_ACCOUNT, region: process.env.CDK_DEFAULT_REGION },
  };

  const stack = new MarketoIngestStack(app, context.stackName, props);
  Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
  return stack;
}
