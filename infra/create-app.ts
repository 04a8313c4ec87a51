import { type App, Validations } from "aws-cdk-lib";
import { AwsSolutionsChecks } from "cdk-nag";
import { z } from "zod";
import { senderConcurrencyCeiling } from "../shared/config/deployment-defaults.ts";
import { jsonOf } from "../shared/text/json-text.ts";
import { checkDefaultOptions, DefaultFileOptionsSchema } from "../shared/options/file-options.ts";
import { routeForObjectName } from "../shared/options/object-route.ts";
import { MarketoIngestStack, type MarketoIngestStackProps } from "./marketo-ingest-stack.ts";

/**
 * `npx cdk synth|deploy [-c marketoSecretName=…|-c marketoSecretArn=…] [-c senderMaxConcurrency=…] [-c bulkJobSlots=…]
 * [-c stackName=…] [-c defaultFileOptions='{"persons":{"priority":"high"}}'] [-c reportRetentionDays=…]`
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
    env: { account: process.env.CDK_DEFAULT_ACCOUNT, region: process.env.CDK_DEFAULT_REGION },
  };

  const stack = new MarketoIngestStack(app, context.stackName, props);
  Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
  return stack;
}
