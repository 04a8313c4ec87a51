import { type CfnElement, Stack, Validations } from "aws-cdk-lib";
import type { IBucket } from "aws-cdk-lib/aws-s3";
import type { Construct } from "constructs";
import { JOB_SLOT_PREFIX } from "../shared/contracts/job-slots.ts";
import { INTAKE_PREFIX } from "../shared/contracts/intake-window.ts";

interface Parts {
  splitter: Construct;
  sender: Construct;
  bulkImporter: Construct;
  reportWriter: Construct;
  intake: Construct;
  splitterDeadLetterQueue: Construct;
  dropBucket: IBucket;
  workBucket: IBucket;
}

/**
 * Every cdk-nag AwsSolutions finding this stack keeps, each with the reason it is acceptable. Findings are
 * acknowledged one by one (no rule-wide suppression), so a new wildcard still fails the synth.
 */
export function acknowledgeFindings(stack: Stack, parts: Parts): void {
  const arn = (bucket: IBucket) => `<${Stack.of(bucket).getLogicalId(bucket.node.defaultChild as CfnElement)}.Arn>`;
  const reportsObjects = `AwsSolutions-IAM5[Resource::${arn(parts.workBucket)}/reports/*]`;
  const xray =
    "X-Ray's PutTraceSegments/PutTelemetryRecords do not support resource-level permissions (added by tracing: ACTIVE).";

  for (const fn of [parts.splitter, parts.sender, parts.bulkImporter, parts.reportWriter, parts.intake]) {
    Validations.of(fn).acknowledge({ id: "AwsSolutions-IAM5[Resource::*]", reason: xray });
    Validations.of(fn).acknowledge({
      id: reportsObjects,
      reason: "Report keys are derived from the dropped file's key and version at run time; scoped to reports/.",
    });
  }
  Validations.of(parts.bulkImporter).acknowledge({
    id: `AwsSolutions-IAM5[Resource::${arn(parts.workBucket)}/${JOB_SLOT_PREFIX}*]`,
    reason: "The job slots are bulk-slots/0.json … 9.json (count configurable); scoped to that prefix.",
  });
  for (const fn of [parts.splitter, parts.reportWriter, parts.intake]) {
    Validations.of(fn).acknowledge({
      id: `AwsSolutions-IAM5[Resource::${arn(parts.dropBucket)}/*]`,
      reason: "Reads whatever key a data team drops (to split it, then to copy rows with issues); read-only.",
    });
  }
  for (const fn of [parts.intake, parts.reportWriter]) {
    Validations.of(fn).acknowledge({
      id: `AwsSolutions-IAM5[Resource::${arn(parts.workBucket)}/${INTAKE_PREFIX}*]`,
      reason: "Intake window files and producer-id claims have keys made at run time (date, window, hashed id).",
    });
  }
  Validations.of(parts.splitterDeadLetterQueue).acknowledge({
    id: "AwsSolutions-SQS3",
    reason: "This queue is itself a dead-letter queue: the splitter's asynchronous on-failure destination.",
  });

  // aws-cdk-lib's own singleton that configures the bucket notification; its role is not ours to shape.
  const notificationsHandler = stack.node.children.find((child) =>
    child.node.id.startsWith("BucketNotificationsHandler"),
  );
  if (notificationsHandler) {
    Validations.of(notificationsHandler).acknowledge({
      id: "AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole]",
      reason: "aws-cdk-lib's BucketNotificationsHandler custom resource; runs only at deploy time, handles no data.",
    });
  }
}
