import { type App, Stack } from "aws-cdk-lib";
import { AccountPrincipal, Role } from "aws-cdk-lib/aws-iam";
import { Key } from "aws-cdk-lib/aws-kms";
import { Topic } from "aws-cdk-lib/aws-sns";
import { MarketoIngestion } from "marketo-ingest/infra";

/** Your platform's stack with the pipeline inside, encrypted with your key, alarming your on-call topic. */
export function buildPlatformStack(app: App): Stack {
  const stack = new Stack(app, "DataPlatform", { env: { account: "123456789012", region: "eu-west-1" } });
  const ingestion = new MarketoIngestion(stack, "MarketoIngestion", {
    marketoSecret: { secretName: "data-platform/marketo" },
    encryptionKey: new Key(stack, "DataKey", { enableKeyRotation: true }),
    alarmTopic: Topic.fromTopicArn(stack, "OnCall", "arn:aws:sns:eu-west-1:123456789012:on-call"),
    droppedFileRetentionDays: 14,
    senderMaxConcurrency: 10,
    tags: { "cost-center": "crm" },
  });
  // Its parts are properties: here a data team's role may drop files.
  const uploader = new Role(stack, "DataTeamUploader", { assumedBy: new AccountPrincipal("123456789012") });
  ingestion.dropBucket.grantPut(uploader);
  return stack;
}
