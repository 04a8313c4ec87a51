import { readFileSync } from "node:fs";
import { App } from "aws-cdk-lib";
import { Match, Template } from "aws-cdk-lib/assertions";
import { AwsSolutionsChecks } from "cdk-nag";
import { beforeAll, describe, expect, it } from "vitest";
import { createMarketoIngestApp } from "../../infra/create-app.ts";
import { DEPLOYMENT_DEFAULTS, senderConcurrencyCeiling } from "../../shared/config/deployment-defaults.ts";
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
    // doctor reads the stack's own secret by this ARN.
    expect(JSON.stringify(template.findOutputs("MarketoSecretArn"))).toContain(":secret:team/marketo");
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

  it("gives the ingestion, bulk, report and intake queues a DLQ with maxReceiveCount and a visibility ≥ 6 × their function's timeout", () => {
    const queues = resourcesOf(template, "AWS::SQS::Queue");
    expect(queues).toHaveLength(11);
    const withRedrive = queues.filter(([, queue]) => queue.Properties.RedrivePolicy);
    expect(withRedrive.map(([id]) => id.replace(/Queue.*$/, "")).sort()).toEqual([
      "Bulk",
      "Ingestion",
      "Intake",
      "Report",
      "SplitContinuation",
      "SplitFailures",
    ]);
    const timeouts: Record<string, number> = {
      Intake: DEPLOYMENT_DEFAULTS.intakeTimeoutSeconds + DEPLOYMENT_DEFAULTS.intakeBatchingWindowSeconds / 6,
      Bulk: DEPLOYMENT_DEFAULTS.bulkImporterTimeoutSeconds,
      Ingestion: DEPLOYMENT_DEFAULTS.senderTimeoutSeconds,
      Report: DEPLOYMENT_DEFAULTS.reportWriterTimeoutSeconds,
      SplitFailures: DEPLOYMENT_DEFAULTS.splitterTimeoutSeconds,
      SplitContinuation: DEPLOYMENT_DEFAULTS.splitterTimeoutSeconds,
    };
    for (const [id, queue] of withRedrive) {
      expect(queue.Properties.RedrivePolicy).toMatchObject({
        maxReceiveCount: id.startsWith("Ingestion")
          ? DEPLOYMENT_DEFAULTS.ingestionRedriveMaxReceiveCount
          : id.startsWith("SplitContinuation")
            ? DEPLOYMENT_DEFAULTS.splitContinuationMaxReceiveCount
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
    expect(functions).toHaveLength(5);
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

  it("sends failed splitter invocations, after two retries, to a queue the splitter reads back to report them", () => {
    const failureQueue = resourcesOf(template, "AWS::SQS::Queue").find(([id]) => id.startsWith("SplitFailures"));
    expect(failureQueue).toBeDefined();
    const failureQueueArn = { "Fn::GetAtt": [failureQueue?.[0], "Arn"] };
    template.hasResourceProperties("AWS::Lambda::EventInvokeConfig", {
      MaximumRetryAttempts: 2,
      DestinationConfig: { OnFailure: { Destination: failureQueueArn } },
    });
    template.hasResourceProperties("AWS::Lambda::EventSourceMapping", {
      EventSourceArn: failureQueueArn,
      FunctionName: { Ref: Match.stringLikeRegexp("^Splitter") },
      BatchSize: 1,
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
    // The sender, the bulk importer, and the splitter and intake function (fieldCheck=reject), each only that secret.
    expect(secretStatements).toHaveLength(4);
    for (const statement of secretStatements) {
      expect(JSON.stringify(statement.Resource)).toContain(":secret:team/marketo-??????");
    }
  });

  it("lets the splitter and the intake function read the secret, for files that ask for the field check", () => {
    for (const name of ["Splitter", "Intake"]) {
      const [fnId, fn] = resourcesOf(template, "AWS::Lambda::Function").find(([id]) => id.startsWith(name)) ?? [];
      expect(fnId).toBeDefined();
      expect(JSON.stringify(fn?.Properties.Environment)).toContain('"MARKETO_SECRET_ID":"team/marketo"');
      const role = JSON.stringify((fn?.Properties.Role as { "Fn::GetAtt": string[] })["Fn::GetAtt"][0]);
      const policies = resourcesOf(template, "AWS::IAM::Policy").filter(([, policy]) =>
        JSON.stringify(policy.Properties.Roles).includes(role.replace(/"/g, "")),
      );
      expect(JSON.stringify(policies.map(([, p]) => p.Properties.PolicyDocument))).toContain(
        "secretsmanager:GetSecretValue",
      );
    }
  });

  it("never grants the pipeline functions wildcard actions, and deletes only of job slots", () => {
    const pipelinePolicies = resourcesOf(template, "AWS::IAM::Policy").filter(
      ([id]) => !id.includes("NotificationsHandler"),
    );
    expect(pipelinePolicies).toHaveLength(5);
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
        "sqs:ReceiveMessage",
        "sqs:DeleteMessage",
        "sqs:ChangeMessageVisibility",
        "s3:GetObject",
        "s3:GetObjectVersion",
        "s3:PutObject",
        "s3:PutObjectTagging",
        // A gzip file's inflated copy (multipart) when its split pauses.
        "s3:AbortMultipartUpload",
        "s3:ListBucket",
        // Marketo's field list for fieldCheck=reject files.
        "secretsmanager:DescribeSecret",
        "secretsmanager:GetSecretValue",
      ]),
    );
    expect(new Set(actionsOf("IntakeRole"))).toEqual(
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
        "s3:PutObjectTagging",
        "s3:ListBucket",
        // Marketo's field list for fieldCheck=reject files.
        "secretsmanager:DescribeSecret",
        "secretsmanager:GetSecretValue",
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
        "s3:PutObjectTagging",
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

  it("alarms on every dead-letter queue, stalled queues, function errors and throttles, and the daily object quota", () => {
    const alarms = resourcesOf(template, "AWS::CloudWatch::Alarm");
    expect(alarms.map(([, alarm]) => alarm.Properties.MetricName).sort()).toEqual([
      ...Array(4).fill("ApproximateAgeOfOldestMessage"),
      ...Array(5).fill("ApproximateNumberOfMessagesVisible"),
      ...Array(5).fill("Errors"),
      "NumberOfMessagesSent",
      "ObjectsSent",
      ...Array(5).fill("Throttles"),
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

describe("intake queue", () => {
  const intakeQueuePolicy = (template: Template) => {
    const policies = resourcesOf(template, "AWS::SQS::QueuePolicy").filter(([, policy]) =>
      JSON.stringify(policy.Properties.Queues).includes("IntakeQueuesQueue"),
    );
    expect(policies).toHaveLength(1);
    return (policies[0]?.[1].Properties.PolicyDocument as { Statement: Array<Record<string, unknown>> }).Statement;
  };

  it("feeds the intake function in windows of up to 10,000 messages gathered over the batching window", () => {
    const { template } = synth();
    template.hasResourceProperties("AWS::Lambda::EventSourceMapping", {
      BatchSize: 10_000,
      MaximumBatchingWindowInSeconds: DEPLOYMENT_DEFAULTS.intakeBatchingWindowSeconds,
      FunctionResponseTypes: ["ReportBatchItemFailures"],
      ScalingConfig: { MaximumConcurrency: DEPLOYMENT_DEFAULTS.intakeMaxConcurrency },
    });
    template.hasOutput("IntakeQueueUrl", {});
    template.hasOutput("IntakeDeadLetterQueueUrl", {});
  });

  it("is closed unless producers are named: its policy only refuses plain HTTP", () => {
    const statements = intakeQueuePolicy(synth().template);
    expect(statements.map((statement) => statement.Effect)).toEqual(["Deny"]);
  });

  it("grants sqs:SendMessage to exactly the named producers, other accounts and AWS services included", () => {
    const { template } = synth({
      intakeProducers:
        "444455556666,arn:aws:iam::777788889999:role/orders-lambda,arn:aws:sns:eu-west-1:444455556666:orders,arn:aws:events:eu-west-1:444455556666:rule/orders",
    });
    const allows = intakeQueuePolicy(template).filter((statement) => statement.Effect === "Allow");
    // CDK merges grants that differ only by principal: count the principals, not the statements.
    const granted = allows.flatMap((statement) =>
      Object.values(statement.Principal as Record<string, unknown>).flatMap((value) => [value].flat()),
    );
    expect(granted).toHaveLength(4);
    for (const statement of allows) {
      expect([statement.Action].flat()).toContain("sqs:SendMessage");
      expect(
        [statement.Action]
          .flat()
          .every((action) => /^sqs:(SendMessage|GetQueueAttributes|GetQueueUrl)$/.test(String(action))),
      ).toBe(true);
    }
    const principals = JSON.stringify(allows.map((statement) => [statement.Principal, statement.Condition]));
    expect(principals).toContain(":iam::444455556666:root");
    expect(principals).toContain("arn:aws:iam::777788889999:role/orders-lambda");
    expect(principals).toMatch(/sns\.amazonaws\.com.*arn:aws:sns:eu-west-1:444455556666:orders/);
    expect(principals).toMatch(/events\.amazonaws\.com.*arn:aws:events:eu-west-1:444455556666:rule\/orders/);
  });

  it("encrypts with the given KMS key, which the intake function may decrypt with", () => {
    const keyArn = "arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab";
    const { template } = synth({ intakeQueueKmsKeyArn: keyArn, intakeProducers: "arn:aws:iam::111122223333:role/p" });
    template.hasResourceProperties("AWS::SQS::Queue", { KmsMasterKeyId: keyArn });
    const statements = resourcesOf(template, "AWS::IAM::Policy").flatMap(
      ([, policy]) => (policy.Properties.PolicyDocument as { Statement: Array<Record<string, unknown>> }).Statement,
    );
    const keyGrants = statements.filter((statement) => JSON.stringify(statement.Resource) === JSON.stringify(keyArn));
    // The intake function decrypts what it receives. Producers need kms:GenerateDataKey from the key's own policy:
    // an imported key's policy is not this stack's to change (see README).
    expect(keyGrants.flatMap((statement) => [statement.Action].flat())).toContain("kms:Decrypt");
  });

  it("refuses a producer that names nothing it can grant", () => {
    expect(() => synth({ intakeProducers: "everyone" })).toThrow(/intake producer "everyone"/);
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
    // 51 invocations × 10 requests in flight, at 100 ms each, could exceed Marketo's 5,000 requests/s.
    expect(senderConcurrencyCeiling()).toBe(50);
    expect(() => synth({ senderMaxConcurrency: "51" })).toThrow(/-c senderMaxConcurrency/);
    expect(() => synth({ windowEventBus: "arn:aws:sqs:eu-west-1:123456789012:q" })).toThrow(/-c windowEventBus/);
  });

  it("-c windowEventBus=ARN: the report writer puts window events on that bus", () => {
    const busArn = "arn:aws:events:eu-west-1:444455556666:event-bus/producers";
    const { template } = synth({ windowEventBus: busArn });
    template.hasResourceProperties("AWS::Lambda::Function", {
      Environment: { Variables: Match.objectLike({ WINDOW_EVENT_BUS: busArn }) },
    });
    template.hasResourceProperties("AWS::IAM::Policy", {
      PolicyDocument: {
        Statement: Match.arrayWith([Match.objectLike({ Action: "events:PutEvents", Resource: busArn })]),
      },
    });
  });
});
