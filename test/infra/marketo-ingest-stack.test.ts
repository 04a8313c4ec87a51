import { readFileSync } from "node:fs";
import { App } from "aws-cdk-lib";
import { Match, Template } from "aws-cdk-lib/assertions";
import { AwsSolutionsChecks } from "cdk-nag";
import { beforeAll, describe, expect, it } from "vitest";
import { createMarketoIngestApp } from "../../infra/create-app.ts";
import { DEPLOYMENT_DEFAULTS } from "../../shared/config/deployment-defaults.ts";
import { STACK_OUTPUTS } from "../../cli/stack.ts";

const cdkJson = JSON.parse(readFileSync(new URL("../../cdk.json", import.meta.url), "utf8")) as {
  context: Record<string, unknown>;
};

function synth(context: Record<string, unknown> = {}) {
  const app = new App({ context: { ...cdkJson.context, ...context } });
  const stack = createMarketoIngestApp(app);
  return { app, stack, template: Template.fromStack(stack) };
}

type Resource = { Type: string; Properties: Record<string, unknown> };
const resourcesOf = (template: Template, type: string) =>
  Object.entries(template.findResources(type)) as [string, Resource][];

describe("MarketoIngestStack", () => {
  let template: Template;
  let app: App;
  let stack: ReturnType<typeof createMarketoIngestApp>;
  beforeAll(() => {
    ({ template, app, stack } = synth({ marketoSecretName: "team/marketo" }));
  });

  it("outputs every resource the operator CLI finds by --stack NAME", () => {
    const outputs = Object.keys(template.findOutputs("*"));
    expect(STACK_OUTPUTS.filter((name) => !outputs.includes(name))).toEqual([]);
    expect(template.findOutputs("MarketoSecretId")).toEqual({
      MarketoSecretId: expect.objectContaining({ Value: "team/marketo" }),
    });
  });

  it("keeps every bucket private, encrypted, versioned and TLS-only", () => {
    const buckets = resourcesOf(template, "AWS::S3::Bucket");
    expect(buckets).toHaveLength(3);
    for (const [, bucket] of buckets) {
      expect(bucket.Properties.PublicAccessBlockConfiguration).toEqual({
        BlockPublicAcls: true,
        BlockPublicPolicy: true,
        IgnorePublicAcls: true,
        RestrictPublicBuckets: true,
      });
      expect(bucket.Properties.BucketEncryption).toEqual({
        ServerSideEncryptionConfiguration: [{ ServerSideEncryptionByDefault: { SSEAlgorithm: "AES256" } }],
      });
      expect(bucket.Properties.VersioningConfiguration).toEqual({ Status: "Enabled" });
    }
    const policies = resourcesOf(template, "AWS::S3::BucketPolicy");
    expect(policies).toHaveLength(3);
    for (const [, policy] of policies) {
      expect(JSON.stringify(policy.Properties.PolicyDocument)).toContain('"aws:SecureTransport":"false"');
    }
  });

  it("sends every ObjectCreated event of the drop bucket to the splitter", () => {
    template.hasResourceProperties("Custom::S3BucketNotifications", {
      NotificationConfiguration: {
        LambdaFunctionConfigurations: [
          Match.objectLike({ Events: ["s3:ObjectCreated:*"], LambdaFunctionArn: Match.anyValue() }),
        ],
      },
    });
  });

  it("gives the ingestion, bulk and report queues a DLQ with maxReceiveCount and a visibility ≥ 6 × their function's timeout", () => {
    const queues = resourcesOf(template, "AWS::SQS::Queue");
    expect(queues).toHaveLength(7);
    const withRedrive = queues.filter(([, queue]) => queue.Properties.RedrivePolicy);
    expect(withRedrive.map(([id]) => id.replace(/Queue.*$/, "")).sort()).toEqual(["Bulk", "Ingestion", "Report"]);
    const timeouts: Record<string, number> = {
      Bulk: DEPLOYMENT_DEFAULTS.bulkImporterTimeoutSeconds,
      Ingestion: DEPLOYMENT_DEFAULTS.senderTimeoutSeconds,
      Report: DEPLOYMENT_DEFAULTS.reportWriterTimeoutSeconds,
    };
    for (const [id, queue] of withRedrive) {
      expect(queue.Properties.RedrivePolicy).toMatchObject({
        maxReceiveCount: id.startsWith("Ingestion")
          ? DEPLOYMENT_DEFAULTS.ingestionRedriveMaxReceiveCount
          : DEPLOYMENT_DEFAULTS.redriveMaxReceiveCount,
      });
      const timeout = timeouts[id.replace(/Queue.*$/, "")] as number;
      expect(queue.Properties.VisibilityTimeout).toBeGreaterThanOrEqual(6 * timeout);
    }
    for (const [, queue] of queues) expect(queue.Properties.SqsManagedSseEnabled).toBe(true);
    const sourceRetention = Math.max(
      ...withRedrive.map(([, queue]) => queue.Properties.MessageRetentionPeriod as number),
    );
    const dlqRetention = queues
      .filter(([, queue]) => !queue.Properties.RedrivePolicy)
      .map(([, queue]) => queue.Properties.MessageRetentionPeriod as number);
    for (const retention of dlqRetention) expect(retention).toBeGreaterThan(sourceRetention);
  });

  it("runs every handler on the newest Node.js runtime, arm64, bundled as ESM", () => {
    const functions = resourcesOf(template, "AWS::Lambda::Function").filter(([, fn]) =>
      String(fn.Properties.Runtime).startsWith("nodejs"),
    );
    expect(functions).toHaveLength(4);
    for (const [, fn] of functions) {
      expect(fn.Properties.Runtime).toBe("nodejs24.x");
      expect(fn.Properties.Architectures).toEqual(["arm64"]);
      expect(fn.Properties.Handler).toBe("index.handler");
    }
  });

  it("feeds the sender from the queue with partial batch failures and bounded concurrency", () => {
    template.hasResourceProperties("AWS::Lambda::EventSourceMapping", {
      BatchSize: DEPLOYMENT_DEFAULTS.senderBatchSize,
      FunctionResponseTypes: ["ReportBatchItemFailures"],
      ScalingConfig: { MaximumConcurrency: DEPLOYMENT_DEFAULTS.senderMaxConcurrency },
    });
  });

  it("sends failed splitter invocations to their own DLQ after two retries", () => {
    template.hasResourceProperties("AWS::Lambda::EventInvokeConfig", {
      MaximumRetryAttempts: 2,
      DestinationConfig: { OnFailure: { Destination: Match.anyValue() } },
    });
  });

  it("passes the secret by name and grants reading only that secret", () => {
    template.hasResourceProperties("AWS::Lambda::Function", {
      Environment: { Variables: Match.objectLike({ MARKETO_SECRET_ID: "team/marketo" }) },
    });
    const statements = resourcesOf(template, "AWS::IAM::Policy").flatMap(
      ([, policy]) =>
        (policy.Properties.PolicyDocument as { Statement: { Action: unknown; Resource: unknown }[] }).Statement,
    );
    const secretStatements = statements.filter((statement) =>
      JSON.stringify(statement.Action).includes("secretsmanager"),
    );
    // The sender and the bulk importer, each reading only that secret.
    expect(secretStatements).toHaveLength(2);
    for (const statement of secretStatements) {
      expect(JSON.stringify(statement.Resource)).toContain(":secret:team/marketo-??????");
    }
  });

  it("never grants the pipeline functions wildcard actions, and deletes only of job slots", () => {
    const pipelinePolicies = resourcesOf(template, "AWS::IAM::Policy").filter(
      ([id]) => !id.includes("NotificationsHandler"),
    );
    expect(pipelinePolicies).toHaveLength(4);
    const statements = pipelinePolicies.flatMap(
      ([, policy]) =>
        (policy.Properties.PolicyDocument as { Statement: { Action: string | string[]; Resource: unknown }[] })
          .Statement,
    );
    expect(statements.length).toBeGreaterThan(0);
    for (const statement of statements) {
      for (const action of [statement.Action].flat()) {
        expect(action).not.toMatch(/\*|PutBucket|PutObjectAcl/);
        if (action.startsWith("s3:Delete")) {
          expect(action).toBe("s3:DeleteObject");
          expect(JSON.stringify(statement.Resource)).toMatch(/\/bulk-slots\/\*"\]\]\}$/);
        }
      }
    }
    // The only managed policy is on aws-cdk-lib's own notification handler, never on a pipeline function.
    const roles = resourcesOf(template, "AWS::IAM::Role").filter(([, role]) => role.Properties.ManagedPolicyArns);
    expect(roles.map(([id]) => id)).toEqual([expect.stringMatching(/^BucketNotificationsHandler/)]);
  });

  it("grants each function exactly the actions its code calls", () => {
    const actionsOf = (prefix: string) =>
      resourcesOf(template, "AWS::IAM::Policy")
        .filter(([id]) => id.startsWith(prefix))
        .flatMap(([, policy]) =>
          (policy.Properties.PolicyDocument as { Statement: { Action: string | string[] }[] }).Statement.flatMap(
            (statement) => [statement.Action].flat(),
          ),
        )
        .sort();
    expect(new Set(actionsOf("SplitterRole"))).toEqual(
      new Set([
        "logs:CreateLogStream",
        "logs:PutLogEvents",
        "xray:PutTelemetryRecords",
        "xray:PutTraceSegments",
        "sqs:GetQueueAttributes",
        "sqs:GetQueueUrl",
        "sqs:SendMessage",
        "s3:GetObject",
        "s3:GetObjectVersion",
        "s3:PutObject",
        "s3:ListBucket",
      ]),
    );
    expect(new Set(actionsOf("SenderRole"))).toEqual(
      new Set([
        "logs:CreateLogStream",
        "logs:PutLogEvents",
        "xray:PutTelemetryRecords",
        "xray:PutTraceSegments",
        "sqs:ChangeMessageVisibility",
        "sqs:DeleteMessage",
        "sqs:GetQueueAttributes",
        "sqs:GetQueueUrl",
        "sqs:ReceiveMessage",
        "sqs:SendMessage",
        "secretsmanager:DescribeSecret",
        "secretsmanager:GetSecretValue",
        "s3:GetObject",
        "s3:PutObject",
        "s3:ListBucket",
      ]),
    );
    expect(new Set(actionsOf("ReportWriterRole"))).toEqual(
      new Set([
        "logs:CreateLogStream",
        "logs:PutLogEvents",
        "xray:PutTelemetryRecords",
        "xray:PutTraceSegments",
        "sqs:ChangeMessageVisibility",
        "sqs:DeleteMessage",
        "sqs:GetQueueAttributes",
        "sqs:GetQueueUrl",
        "sqs:ReceiveMessage",
        "sqs:SendMessage",
        "s3:GetObject",
        "s3:GetObjectVersion",
        "s3:PutObject",
        "s3:AbortMultipartUpload",
        "s3:ListBucket",
      ]),
    );
    expect(new Set(actionsOf("BulkImporterRole"))).toEqual(
      new Set([
        "logs:CreateLogStream",
        "logs:PutLogEvents",
        "xray:PutTelemetryRecords",
        "xray:PutTraceSegments",
        "sqs:ChangeMessageVisibility",
        "sqs:DeleteMessage",
        "sqs:GetQueueAttributes",
        "sqs:GetQueueUrl",
        "sqs:ReceiveMessage",
        "sqs:SendMessage",
        "secretsmanager:DescribeSecret",
        "secretsmanager:GetSecretValue",
        "s3:GetObject",
        "s3:PutObject",
        "s3:DeleteObject",
        "s3:ListBucket",
      ]),
    );
  });

  it("runs the report writer from its own queue, one file at a time, reading dropped files without writing them", () => {
    template.hasResourceProperties("AWS::Lambda::EventSourceMapping", {
      BatchSize: 1,
      ScalingConfig: { MaximumConcurrency: 2 },
      FunctionResponseTypes: ["ReportBatchItemFailures"],
    });
    const statements = resourcesOf(template, "AWS::IAM::Policy")
      .filter(([id]) => id.startsWith("ReportWriterRole"))
      .flatMap(
        ([, policy]) =>
          (policy.Properties.PolicyDocument as { Statement: { Action: string | string[]; Resource: unknown }[] })
            .Statement,
      );
    const dropStatements = statements.filter((statement) => JSON.stringify(statement.Resource).includes("DropBucket"));
    expect(dropStatements.flatMap((statement) => [statement.Action].flat()).sort()).toEqual([
      "s3:GetObject",
      "s3:GetObjectVersion",
    ]);
  });

  it("runs the bulk importer from its own queue, two at a time, with the job-slot count as configuration", () => {
    template.hasResourceProperties("AWS::Lambda::EventSourceMapping", {
      BatchSize: 2,
      ScalingConfig: { MaximumConcurrency: 2 },
      FunctionResponseTypes: ["ReportBatchItemFailures"],
    });
    template.hasResourceProperties("AWS::Lambda::Function", {
      Environment: { Variables: Match.objectLike({ BULK_JOB_SLOTS: "10", BULK_QUEUE_URL: Match.anyValue() }) },
    });
  });

  it("alarms on every dead-letter queue and on a stalled ingestion queue", () => {
    const alarms = resourcesOf(template, "AWS::CloudWatch::Alarm");
    expect(alarms.map(([, alarm]) => alarm.Properties.MetricName).sort()).toEqual([
      "ApproximateAgeOfOldestMessage",
      "ApproximateNumberOfMessagesVisible",
      "ApproximateNumberOfMessagesVisible",
      "ApproximateNumberOfMessagesVisible",
      "ApproximateNumberOfMessagesVisible",
    ]);
    for (const [, alarm] of alarms) expect(alarm.Properties.AlarmDescription).toContain("Runbook");
  });

  it("has no unacknowledged cdk-nag AwsSolutions finding", () => {
    const report = new AwsSolutionsChecks(app).validateScope(stack);
    const open = report.violations.filter((violation) =>
      violation.violatingResources.some((resource) => !("acknowledged" in resource) || !resource.acknowledged),
    );
    expect(open.map((violation) => violation.ruleName)).toEqual([]);
  });
});

describe("CDK context", () => {
  it("references a secret by complete ARN and passes the ARN to the sender", () => {
    const arn = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:marketo-AbCdEf";
    const { template } = synth({ marketoSecretArn: arn, senderMaxConcurrency: "12" });
    template.hasResourceProperties("AWS::Lambda::Function", {
      Environment: { Variables: Match.objectLike({ MARKETO_SECRET_ID: arn }) },
    });
    template.hasResourceProperties("AWS::Lambda::EventSourceMapping", { ScalingConfig: { MaximumConcurrency: 12 } });
  });

  it("passes per-type default file options to the splitter as JSON", () => {
    const defaults = { persons: { priority: "high" }, companies: { action: "updateOnly", dedupeBy: "idField" } };
    const { template } = synth({ defaultFileOptions: JSON.stringify(defaults) });
    template.hasResourceProperties("AWS::Lambda::Function", {
      Environment: { Variables: Match.objectLike({ DEFAULT_FILE_OPTIONS: Match.serializedJson(defaults) }) },
    });
  });

  it("rejects invalid context with the key named", () => {
    expect(() => synth({ defaultFileOptions: '{"persons":{"dedupeFields":"email,sfdcLeadId,id"}}' })).toThrow(
      /-c defaultFileOptions/,
    );
    expect(() => synth({ defaultFileOptions: '{"companies":{"action":"createOnly","dedupeBy":"idField"}}' })).toThrow(
      /-c defaultFileOptions: .*idField needs action updateOnly/,
    );
    expect(() => synth({ defaultFileOptions: '{"persons":{"action":"createOnly"}}' })).toThrow(
      /action is not an option of persons/,
    );
    expect(() => synth({ senderMaxConcurrency: "1" })).toThrow(/-c senderMaxConcurrency/);
  });
});
