import { App, RemovalPolicy, Stack } from "aws-cdk-lib";
import { Match, Template } from "aws-cdk-lib/assertions";
import { SecurityGroup, Vpc } from "aws-cdk-lib/aws-ec2";
import { EventBus } from "aws-cdk-lib/aws-events";
import { AccountPrincipal, ManagedPolicy, ServicePrincipal } from "aws-cdk-lib/aws-iam";
import { Key } from "aws-cdk-lib/aws-kms";
import { RetentionDays } from "aws-cdk-lib/aws-logs";
import { Bucket } from "aws-cdk-lib/aws-s3";
import { Topic } from "aws-cdk-lib/aws-sns";
import { AwsSolutionsChecks, NIST80053R5Checks } from "cdk-nag";
import type { IConstruct } from "constructs";
import { beforeAll, describe, expect, it } from "vitest";
import { MarketoIngestion, type MarketoIngestionProps } from "../../infra/index.ts";

type Resource = {
  Type: string;
  Properties: Record<string, unknown>;
  DeletionPolicy?: string;
  UpdateReplacePolicy?: string;
};
const resourcesOf = (template: Template, type: string) =>
  Object.entries(template.findResources(type)) as [string, Resource][];

/** Every AwsSolutions and NIST 800-53 rev 5 finding under `scope` that carries no acknowledgement. */
function openFindings(app: App, scope: IConstruct): string[] {
  return [new AwsSolutionsChecks(app), new NIST80053R5Checks(app)].flatMap((pack) =>
    pack
      .validateScope(scope)
      .violations.flatMap((violation) =>
        violation.violatingResources
          .filter((resource) => !("acknowledged" in resource) || !resource.acknowledged)
          .map((resource) => `${violation.ruleName} ${JSON.stringify(resource)}`),
      ),
  );
}

/** A bare app: none of this repository's cdk.json feature flags, no context, as in someone else's project. */
function synthInBareApp(props?: (stack: Stack) => MarketoIngestionProps) {
  const app = new App();
  const stack = new Stack(app, "Host", { env: { account: "123456789012", region: "eu-west-1" } });
  const ingestion = new MarketoIngestion(stack, "Ingestion", props?.(stack));
  return { app, stack, ingestion, template: Template.fromStack(stack) };
}

/** `action on bucket/resource` for every S3 statement of one function's role (`work/…`, `drop/…`). */
function s3GrantsOf(template: Template, functionId: string): string[] {
  const render = (resource: unknown): string => {
    if (typeof resource === "string") return resource;
    const joined = JSON.stringify(resource);
    const bucket = /Work/.test(joined) ? "work" : /Drop|data-team-drop/.test(joined) ? "drop" : joined;
    // The object part of an ARN: what follows the bucket in the join's last literal.
    const last = (resource as { "Fn::Join"?: [string, unknown[]] })["Fn::Join"]?.[1].at(-1);
    const tail = typeof last === "string" && last.includes("/") ? last.slice(last.indexOf("/")) : "";
    return `${bucket}${tail}`;
  };
  return resourcesOf(template, "AWS::IAM::Policy")
    .filter(([id]) => id.includes(`${functionId}Role`))
    .flatMap(
      ([, policy]) =>
        (policy.Properties.PolicyDocument as { Statement: { Action: string | string[]; Resource: unknown }[] })
          .Statement,
    )
    .flatMap((statement) =>
      [statement.Action]
        .flat()
        .filter((action) => action.startsWith("s3:"))
        .flatMap((action) => [statement.Resource].flat().map((resource) => `${action} on ${render(resource)}`)),
    )
    .sort();
}

/** Every IAM statement that allows events:PutEvents, with the roles its policy is attached to. */
function putEventsGrants(template: Template): Array<{ roles: string[]; resource: unknown }> {
  return resourcesOf(template, "AWS::IAM::Policy").flatMap(([, policy]) =>
    (
      policy.Properties.PolicyDocument as { Statement: { Action: string | string[]; Resource: unknown }[] }
    ).Statement.filter((statement) =>
      [statement.Action].flat().some((action) => /^events:(PutEvents|\*)$/.test(action)),
    ).map((statement) => ({
      roles: (policy.Properties.Roles as Array<{ Ref: string }>).map((role) => role.Ref),
      resource: statement.Resource,
    })),
  );
}
const roleOf = (template: Template, functionId: string): string => {
  const [[id]] = resourcesOf(template, "AWS::IAM::Role").filter(([roleId]) => roleId.includes(`${functionId}Role`)) as [
    [string, Resource],
  ];
  return id;
};
const reportWriterEnvironment = (template: Template) => {
  const [[, fn]] = resourcesOf(template, "AWS::Lambda::Function").filter(([id]) => id.includes("ReportWriter")) as [
    [string, Resource],
  ];
  return (fn.Properties.Environment as { Variables: Record<string, unknown> }).Variables;
};

describe("MarketoIngestion in a bare App with defaults", () => {
  let synth: ReturnType<typeof synthInBareApp>;
  beforeAll(() => {
    synth = synthInBareApp();
  }, 120_000);

  it("synthesizes without feature flags or context, with no open AwsSolutions or NIST 800-53 rev 5 finding", () => {
    expect(resourcesOf(synth.template, "AWS::Lambda::Function").length).toBeGreaterThanOrEqual(4);
    expect(openFindings(synth.app, synth.stack)).toEqual([]);
  });

  it("has no window event bus unless asked: no bus, no events:PutEvents in any role, no WINDOW_EVENT_BUS", () => {
    expect(resourcesOf(synth.template, "AWS::Events::EventBus")).toEqual([]);
    expect(putEventsGrants(synth.template)).toEqual([]);
    expect(reportWriterEnvironment(synth.template)).not.toHaveProperty("WINDOW_EVENT_BUS");
    expect(synth.ingestion.windowEventBus).toBeUndefined();
  });

  it("grants S3 log delivery by bucket policy, never by ACL, so owner-enforced buckets deploy", () => {
    for (const [, bucket] of resourcesOf(synth.template, "AWS::S3::Bucket")) {
      expect(bucket.Properties.AccessControl).toBeUndefined();
      expect(bucket.Properties.OwnershipControls).toEqual({ Rules: [{ ObjectOwnership: "BucketOwnerEnforced" }] });
    }
    synth.template.hasResourceProperties("AWS::S3::BucketPolicy", {
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({ Principal: { Service: "logging.s3.amazonaws.com" }, Action: "s3:PutObject" }),
        ]),
      },
    });
  });

  it("retains buckets, queues, log groups and the secret when they leave the stack", () => {
    for (const type of ["AWS::S3::Bucket", "AWS::SQS::Queue", "AWS::Logs::LogGroup", "AWS::SecretsManager::Secret"]) {
      const resources = resourcesOf(synth.template, type);
      expect(resources.length, type).toBeGreaterThan(0);
      for (const [id, resource] of resources) expect(resource.DeletionPolicy, id).toBe("Retain");
    }
  });

  it("expires dropped files (and their replaced versions) and copies of rows after 30 days, reports after 90; keeps logs a year", () => {
    const [[, drop]] = resourcesOf(synth.template, "AWS::S3::Bucket").filter(([id]) => id.includes("Drop")) as [
      [string, Resource],
    ];
    const rules = (drop.Properties.LifecycleConfiguration as { Rules: Record<string, unknown>[] }).Rules;
    expect(rules).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ Id: "expire-dropped-files", ExpirationInDays: 30, Status: "Enabled" }),
        expect.objectContaining({ NoncurrentVersionExpiration: { NoncurrentDays: 30 } }),
      ]),
    );
    synth.template.hasResourceProperties("AWS::S3::Bucket", {
      LifecycleConfiguration: {
        Rules: Match.arrayWith([Match.objectLike({ Id: "expire-reports", Prefix: "reports/", ExpirationInDays: 90 })]),
      },
    });
    // Rejected rows and rows-with-issues.csv are written with this tag (see the isolated-bundle test).
    synth.template.hasResourceProperties("AWS::S3::Bucket", {
      LifecycleConfiguration: {
        Rules: Match.arrayWith([
          Match.objectLike({
            Id: "expire-row-data",
            Prefix: "reports/",
            TagFilters: [{ Key: "marketo-ingest-data", Value: "rows" }],
            ExpirationInDays: 30,
          }),
        ]),
      },
    });
    for (const [, logGroup] of resourcesOf(synth.template, "AWS::Logs::LogGroup")) {
      expect(logGroup.Properties.RetentionInDays).toBe(365);
    }
  });

  it("creates the Marketo secret as an empty placeholder and prints the command that fills it", () => {
    synth.template.hasResourceProperties("AWS::SecretsManager::Secret", { SecretString: "{}" });
    const [[secretId]] = resourcesOf(synth.template, "AWS::SecretsManager::Secret") as [[string, Resource]];
    synth.template.hasOutput("*", {
      Value: {
        "Fn::Join": [
          "",
          [
            "aws secretsmanager put-secret-value --secret-id ",
            { Ref: secretId },
            " --secret-string file://marketo-secret.json",
          ],
        ],
      },
    });
    synth.template.hasResourceProperties("AWS::Lambda::Function", {
      Environment: { Variables: Match.objectLike({ MARKETO_SECRET_ID: { Ref: secretId } }) },
    });
  });

  it("creates a TLS-only alarm topic, exposes it, and makes every alarm notify it on alarm and on recovery", () => {
    const topics = resourcesOf(synth.template, "AWS::SNS::Topic");
    expect(topics).toHaveLength(1);
    const [[topicId]] = topics as [[string, Resource]];
    expect(synth.stack.resolve(synth.ingestion.alarmTopic.topicArn)).toEqual({ Ref: topicId });
    synth.template.hasResourceProperties("AWS::SNS::TopicPolicy", {
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({ Effect: "Deny", Condition: { Bool: { "aws:SecureTransport": "false" } } }),
        ]),
      },
    });
    const alarms = resourcesOf(synth.template, "AWS::CloudWatch::Alarm");
    // 5 DLQs, a failed split, errors and throttles of 5 functions, 4 work queues' oldest message, the daily quota.
    expect(alarms).toHaveLength(5 + 1 + 10 + 4 + 1);
    for (const [, alarm] of alarms) {
      expect(alarm.Properties.AlarmActions).toEqual([{ Ref: topicId }]);
      expect(alarm.Properties.OKActions).toEqual([{ Ref: topicId }]);
    }
  });

  it("lets each function read and write only its own report objects", () => {
    expect(s3GrantsOf(synth.template, "Splitter")).toEqual(
      [
        "s3:GetObject on drop/*",
        "s3:GetObjectVersion on drop/*",
        "s3:ListBucket on drop",
        // Goes on with intake window splits that paused or were deferred: the window files, not their descriptors.
        "s3:GetObject on work/intake/*.ndjson",
        "s3:GetObjectVersion on work/intake/*.ndjson",
        "s3:GetObject on work/reports/*/split-claim.json",
        "s3:GetObject on work/reports/*/manifest.json",
        "s3:GetObject on work/reports/*/report.json",
        "s3:PutObject on work/reports/*/split-claim.json",
        "s3:PutObject on work/reports/*/manifest.json",
        "s3:PutObject on work/reports/*/bodies/*",
        "s3:PutObject on work/reports/*/bulk-parts/*",
        "s3:PutObject on work/reports/*/rejected-rows/*",
        "s3:PutObjectTagging on work/reports/*/rejected-rows/*",
        // A split that pauses: its checkpoint, held messages, a bulk split's open part (input rows, tagged) and a
        // gzip file's inflated copy; row marks.
        "s3:GetObject on work/reports/*/split-checkpoint.json",
        "s3:GetObject on work/reports/*/split/*",
        "s3:PutObject on work/reports/*/split-checkpoint.json",
        "s3:PutObject on work/reports/*/split/*",
        "s3:PutObject on work/reports/*/row-marks.json",
        "s3:PutObjectTagging on work/reports/*/split/inflated",
        "s3:PutObjectTagging on work/reports/*/split/open-part/*",
        "s3:AbortMultipartUpload on work/reports/*/split/inflated",
        "s3:ListBucket on work",
      ].sort(),
    );
    expect(s3GrantsOf(synth.template, "Intake")).toEqual(
      [
        "s3:GetObject on drop/*",
        "s3:GetObjectVersion on drop/*",
        "s3:GetObject on work/intake/*",
        "s3:PutObject on work/intake/*",
        "s3:GetObject on work/reports/*/split-claim.json",
        "s3:GetObject on work/reports/*/manifest.json",
        "s3:GetObject on work/reports/*/report.json",
        "s3:PutObject on work/reports/*/split-claim.json",
        "s3:PutObject on work/reports/*/manifest.json",
        "s3:PutObject on work/reports/*/bodies/*",
        "s3:PutObject on work/reports/*/bulk-parts/*",
        "s3:PutObject on work/reports/*/rejected-rows/*",
        "s3:PutObjectTagging on work/reports/*/rejected-rows/*",
        "s3:PutObject on work/reports/*/row-marks.json",
        // A split that pauses writes its checkpoint and held messages; only the splitter reads them back.
        "s3:GetObject on work/reports/*/split-checkpoint.json",
        "s3:PutObject on work/reports/*/split-checkpoint.json",
        "s3:PutObject on work/reports/*/split/held/*",
        "s3:ListBucket on work",
      ].sort(),
    );
    expect(s3GrantsOf(synth.template, "Sender")).toEqual(
      [
        "s3:GetObject on work/reports/*/claims/*",
        "s3:GetObject on work/reports/*/batches/*",
        "s3:GetObject on work/reports/*/bodies/*",
        "s3:GetObject on work/reports/*/manifest.json",
        "s3:PutObject on work/reports/*/claims/*",
        "s3:PutObject on work/reports/*/batches/*",
        "s3:GetObject on work/fleet/ingestion-pause.json",
        "s3:PutObject on work/fleet/ingestion-pause.json",
        "s3:ListBucket on work",
      ].sort(),
    );
    expect(s3GrantsOf(synth.template, "BulkImporter")).toEqual(
      [
        "s3:GetObject on work/reports/*/claims/*",
        "s3:GetObject on work/reports/*/batches/*",
        "s3:GetObject on work/reports/*/bulk-parts/*",
        "s3:PutObject on work/reports/*/claims/*",
        "s3:PutObject on work/reports/*/batches/*",
        "s3:GetObject on work/bulk-slots/*",
        "s3:PutObject on work/bulk-slots/*",
        "s3:DeleteObject on work/bulk-slots/*",
        "s3:ListBucket on work",
      ].sort(),
    );
    expect(s3GrantsOf(synth.template, "ReportWriter")).toEqual(
      [
        "s3:GetObject on drop/*",
        "s3:GetObjectVersion on drop/*",
        "s3:GetObject on work/reports/*/manifest.json",
        "s3:GetObject on work/reports/*/batches/*",
        "s3:GetObject on work/reports/*/rejected-rows/*",
        "s3:GetObject on work/reports/*/row-marks.json",
        "s3:GetObject on work/reports/*/split/inflated",
        "s3:GetObject on work/intake/*",
        "s3:GetObjectVersion on work/intake/*",
        "s3:PutObject on work/reports/*/report.json",
        "s3:PutObject on work/reports/*/rows-with-issues.csv",
        "s3:PutObjectTagging on work/reports/*/rows-with-issues.csv",
        "s3:AbortMultipartUpload on work/reports/*/rows-with-issues.csv",
        "s3:ListBucket on work",
      ].sort(),
    );
  });
});

describe("MarketoIngestion: splits that outlast one invocation", () => {
  let synth: ReturnType<typeof synthInBareApp>;
  beforeAll(() => {
    synth = synthInBareApp();
  }, 120_000);

  it("has a split-continuation queue the splitter and the intake function send to and only the splitter reads, one message per invocation", () => {
    const queues = resourcesOf(synth.template, "AWS::SQS::Queue").filter(([id]) => id.includes("SplitContinuation"));
    expect(queues).toHaveLength(1);
    const [queueId, queue] = queues[0] as [string, Resource];
    // Back after a whole invocation; the fourth receive records the split failed, then the splitter DLQ keeps it.
    expect(queue.Properties.VisibilityTimeout).toBe(6 * 900);
    const redrive = queue.Properties.RedrivePolicy as { maxReceiveCount: number; deadLetterTargetArn: unknown };
    expect(redrive.maxReceiveCount).toBe(4);
    expect(JSON.stringify(redrive.deadLetterTargetArn)).toMatch(/SplitterDeadLetterQueue/);
    synth.template.hasResourceProperties("AWS::Lambda::EventSourceMapping", {
      EventSourceArn: { "Fn::GetAtt": [queueId, "Arn"] },
      FunctionName: { Ref: Match.stringLikeRegexp("Splitter") },
      BatchSize: 1,
    });
    const splitter = resourcesOf(synth.template, "AWS::Lambda::Function").find(([id]) => /Splitter/.test(id));
    expect(
      (splitter?.[1].Properties.Environment as { Variables: Record<string, unknown> }).Variables
        .SPLIT_CONTINUATION_QUEUE_URL,
    ).toEqual({ Ref: queueId });
    // The intake function's splits that would outlast its invocation go on in the splitter.
    const intake = resourcesOf(synth.template, "AWS::Lambda::Function").find(([id]) => /Intake/.test(id));
    expect(
      (intake?.[1].Properties.Environment as { Variables: Record<string, unknown> }).Variables
        .SPLIT_CONTINUATION_QUEUE_URL,
    ).toEqual({ Ref: queueId });
    const consumers = resourcesOf(synth.template, "AWS::Lambda::EventSourceMapping").filter(
      ([, mapping]) =>
        JSON.stringify(mapping.Properties.EventSourceArn) === JSON.stringify({ "Fn::GetAtt": [queueId, "Arn"] }),
    );
    expect(consumers.map(([, mapping]) => JSON.stringify(mapping.Properties.FunctionName))).toEqual([
      expect.stringMatching(/Splitter/),
    ]);
    // Who may send to it: the splitter's and the intake function's roles, and no other.
    const senders = resourcesOf(synth.template, "AWS::IAM::Policy")
      .filter(([, policy]) =>
        JSON.stringify(policy.Properties.PolicyDocument).match(
          new RegExp(`"sqs:SendMessage"[^\\]]*\\][^}]*"${queueId}"`),
        ),
      )
      .map(([id]) => id);
    expect(senders.map((id) => /Splitter|Intake/.exec(id)?.[0] ?? id).sort()).toEqual(["Intake", "Splitter"]);
    expect(openFindings(synth.app, synth.stack)).toEqual([]);
  });
});

describe("MarketoIngestion in a bare App with every prop", () => {
  let synth: ReturnType<typeof synthInBareApp>;
  const secretArn = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:team/marketo-AbCdEf";
  const topicArn = "arn:aws:sns:eu-west-1:123456789012:on-call";
  const boundaryArn = "arn:aws:iam::123456789012:policy/platform-boundary";
  beforeAll(() => {
    synth = synthInBareApp((stack) => ({
      marketoSecret: { secretArn },
      marketoSecretKmsKeyArn: "arn:aws:kms:eu-west-1:123456789012:key/secret-key",
      encryptionKey: new Key(stack, "DataKey", { enableKeyRotation: true }),
      alarmTopic: Topic.fromTopicArn(stack, "OnCall", topicArn),
      network: {
        vpc: Vpc.fromVpcAttributes(stack, "Vpc", {
          vpcId: "vpc-0123",
          availabilityZones: ["eu-west-1a", "eu-west-1b"],
          privateSubnetIds: ["subnet-a", "subnet-b"],
        }),
        securityGroups: [SecurityGroup.fromSecurityGroupId(stack, "Egress", "sg-0123")],
      },
      permissionsBoundary: ManagedPolicy.fromManagedPolicyArn(stack, "Boundary", boundaryArn),
      tags: { "cost-center": "crm" },
      removalPolicy: RemovalPolicy.DESTROY,
      logRetention: RetentionDays.THREE_MONTHS,
      droppedFileRetentionDays: 10,
      reportRetentionDays: 30,
      rowDataRetentionDays: 14,
      senderMaxConcurrency: 20,
      bulkJobSlots: 4,
      defaultFileOptions: { persons: { priority: "high" } },
      intakeProducers: [
        new AccountPrincipal("444455556666"),
        new ServicePrincipal("sns.amazonaws.com").withConditions({
          ArnEquals: { "aws:SourceArn": "arn:aws:sns:eu-west-1:444455556666:orders" },
        }),
      ],
      intakePayloadBucketArns: ["arn:aws:s3:::orders-exports"],
      dailyObjectsAlarmShare: 0.5,
    }));
  }, 120_000);

  const keyRef = () => {
    const [[keyId]] = resourcesOf(synth.template, "AWS::KMS::Key") as [[string, Resource]];
    return { "Fn::GetAtt": [keyId, "Arn"] };
  };

  it("has no open AwsSolutions or NIST 800-53 rev 5 finding", () => {
    expect(openFindings(synth.app, synth.stack)).toEqual([]);
  });

  it("encrypts the drop and work buckets, every queue and every log group with the given key", () => {
    for (const [id, bucket] of resourcesOf(synth.template, "AWS::S3::Bucket")) {
      // S3 server access logging accepts only SSE-S3 on the bucket it writes to.
      const algorithm = id.includes("AccessLogs") ? "AES256" : "aws:kms";
      expect(JSON.stringify(bucket.Properties.BucketEncryption), id).toContain(`"SSEAlgorithm":"${algorithm}"`);
    }
    for (const [, queue] of resourcesOf(synth.template, "AWS::SQS::Queue")) {
      expect(queue.Properties.KmsMasterKeyId).toEqual(keyRef());
    }
    for (const [, logGroup] of resourcesOf(synth.template, "AWS::Logs::LogGroup")) {
      expect(logGroup.Properties.KmsKeyId).toEqual(keyRef());
      expect(logGroup.Properties.RetentionInDays).toBe(90);
    }
    // CloudWatch Logs may use the key for this account's log groups only.
    synth.template.hasResourceProperties("AWS::KMS::Key", {
      KeyPolicy: {
        Statement: Match.arrayWith([
          Match.objectLike({
            Principal: { Service: "logs.eu-west-1.amazonaws.com" },
            Condition: { ArnLike: { "kms:EncryptionContext:aws:logs:arn": Match.anyValue() } },
          }),
        ]),
      },
    });
  });

  it("uses the given topic for every alarm and the given secret, creating neither", () => {
    expect(resourcesOf(synth.template, "AWS::SNS::Topic")).toEqual([]);
    expect(resourcesOf(synth.template, "AWS::SecretsManager::Secret")).toEqual([]);
    for (const [, alarm] of resourcesOf(synth.template, "AWS::CloudWatch::Alarm")) {
      expect(alarm.Properties.AlarmActions).toEqual([topicArn]);
    }
    synth.template.hasResourceProperties("AWS::Lambda::Function", {
      Environment: { Variables: Match.objectLike({ MARKETO_SECRET_ID: secretArn, BULK_JOB_SLOTS: "4" }) },
    });
    synth.template.hasResourceProperties("AWS::Lambda::EventSourceMapping", {
      ScalingConfig: { MaximumConcurrency: 20 },
    });
  });

  it("lets the named producers send to the intake queue, reads pointers only from the named buckets, and alarms at the given share of the daily quota", () => {
    const [[intakeQueueId]] = resourcesOf(synth.template, "AWS::SQS::Queue").filter(([id]) =>
      id.startsWith("IngestionIntakeQueuesQueue"),
    ) as [[string, Resource]];
    const [[, queuePolicy]] = resourcesOf(synth.template, "AWS::SQS::QueuePolicy").filter(([, policy]) =>
      JSON.stringify(policy.Properties.Queues).includes(intakeQueueId),
    ) as [[string, Resource]];
    const sends = JSON.stringify(queuePolicy.Properties.PolicyDocument);
    expect(sends).toContain(":iam::444455556666:root");
    expect(sends).toContain("arn:aws:sns:eu-west-1:444455556666:orders");
    // The splitter reads them too: it goes on with the intake function's splits that paused or were deferred.
    for (const fn of ["Intake", "ReportWriter", "Splitter"]) {
      expect(s3GrantsOf(synth.template, fn)).toContain("s3:GetObject on arn:aws:s3:::orders-exports/*");
      expect(s3GrantsOf(synth.template, fn)).not.toContain("s3:PutObject on arn:aws:s3:::orders-exports/*");
    }
    synth.template.hasResourceProperties("AWS::CloudWatch::Alarm", { MetricName: "ObjectsSent", Threshold: 5_000_000 });
  });

  it("puts the functions that call Marketo in the VPC, and only those", () => {
    const functions = resourcesOf(synth.template, "AWS::Lambda::Function").filter(([id]) => id.includes("Function"));
    const inVpc = functions.filter(([, fn]) => fn.Properties.VpcConfig).map(([id]) => id.replace(/Function.*/, ""));
    expect(inVpc.sort()).toEqual(["IngestionBulkImporter", "IngestionSender"]);
    for (const [, fn] of functions.filter(([, f]) => f.Properties.VpcConfig)) {
      expect(fn.Properties.VpcConfig).toEqual({ SubnetIds: ["subnet-a", "subnet-b"], SecurityGroupIds: ["sg-0123"] });
    }
    // Lambda adds the ENI permissions only to roles it creates; these roles are the construct's own.
    const mayCreateEni = resourcesOf(synth.template, "AWS::IAM::Policy")
      .filter(([, policy]) => JSON.stringify(policy.Properties.PolicyDocument).includes("ec2:CreateNetworkInterface"))
      .map(([id]) => id.replace(/Role.*/, ""));
    expect(mayCreateEni.sort()).toEqual(["IngestionBulkImporter", "IngestionSender"]);
  });

  it("bounds every role with the permissions boundary and tags the resources", () => {
    const roles = resourcesOf(synth.template, "AWS::IAM::Role");
    expect(roles.length).toBeGreaterThanOrEqual(5);
    for (const [id, role] of roles) expect(role.Properties.PermissionsBoundary, id).toBe(boundaryArn);
    for (const type of ["AWS::S3::Bucket", "AWS::SQS::Queue", "AWS::Lambda::Function"]) {
      // aws-cdk-lib's notification handler is the host stack's singleton, outside the construct.
      const ours = resourcesOf(synth.template, type).filter(([id]) => id.startsWith("Ingestion"));
      expect(ours.length, type).toBeGreaterThan(0);
      for (const [id, resource] of ours) {
        expect(resource.Properties.Tags, id).toEqual(expect.arrayContaining([{ Key: "cost-center", Value: "crm" }]));
      }
    }
  });

  it("deletes data with the stack when told, and applies the given lifecycle days", () => {
    for (const type of ["AWS::S3::Bucket", "AWS::SQS::Queue", "AWS::Logs::LogGroup"]) {
      for (const [id, resource] of resourcesOf(synth.template, type))
        expect(resource.DeletionPolicy, id).toBe("Delete");
    }
    synth.template.hasResourceProperties("AWS::S3::Bucket", {
      LifecycleConfiguration: {
        Rules: Match.arrayWith([Match.objectLike({ Id: "expire-dropped-files", ExpirationInDays: 10 })]),
      },
    });
    synth.template.hasResourceProperties("AWS::S3::Bucket", {
      LifecycleConfiguration: {
        Rules: Match.arrayWith([Match.objectLike({ Id: "expire-reports", ExpirationInDays: 30 })]),
      },
    });
    synth.template.hasResourceProperties("AWS::S3::Bucket", {
      LifecycleConfiguration: {
        Rules: Match.arrayWith([Match.objectLike({ Id: "expire-row-data", ExpirationInDays: 14 })]),
      },
    });
  });
});

describe("MarketoIngestion with a drop bucket brought in", () => {
  let synth: ReturnType<typeof synthInBareApp>;
  beforeAll(() => {
    synth = synthInBareApp((stack) => ({
      marketoSecret: { secretName: "team/marketo" },
      dropBucket: Bucket.fromBucketAttributes(stack, "DataTeamDrop", {
        bucketName: "data-team-drop",
        encryptionKey: Key.fromKeyArn(stack, "DropKey", "arn:aws:kms:eu-west-1:123456789012:key/drop-key"),
      }),
    }));
  }, 120_000);

  it("creates no drop bucket, splits files dropped into the given one and may decrypt them", () => {
    const buckets = resourcesOf(synth.template, "AWS::S3::Bucket");
    expect(buckets.map(([id]) => id.replace(/Bucket.*/, "")).sort()).toEqual(["IngestionAccessLogs", "IngestionWork"]);
    synth.template.hasResourceProperties("Custom::S3BucketNotifications", {
      BucketName: "data-team-drop",
      NotificationConfiguration: {
        LambdaFunctionConfigurations: [Match.objectLike({ Events: ["s3:ObjectCreated:*"] })],
      },
    });
    for (const fn of ["Splitter", "ReportWriter"]) {
      expect(s3GrantsOf(synth.template, fn)).toContain("s3:GetObject on drop/*");
      synth.template.hasResourceProperties("AWS::IAM::Policy", {
        Roles: [{ Ref: Match.stringLikeRegexp(`^Ingestion${fn}Role`) }],
        PolicyDocument: {
          Statement: Match.arrayWith([
            Match.objectLike({ Action: "kms:Decrypt", Resource: "arn:aws:kms:eu-west-1:123456789012:key/drop-key" }),
          ]),
        },
      });
    }
    expect(openFindings(synth.app, synth.stack)).toEqual([]);
  });
});

describe("MarketoIngestion with a window event bus", () => {
  it('"create": a bus of its own, the report writer told its ARN and the only role allowed to put events on it', () => {
    const { template, ingestion, app, stack } = synthInBareApp(() => ({ windowEventBus: "create" }));
    const [[busId]] = resourcesOf(template, "AWS::Events::EventBus") as [[string, Resource]];
    const busArn = { "Fn::GetAtt": [busId, "Arn"] };
    expect(putEventsGrants(template)).toEqual([{ roles: [roleOf(template, "ReportWriter")], resource: busArn }]);
    expect(reportWriterEnvironment(template)).toMatchObject({ WINDOW_EVENT_BUS: busArn });
    expect(ingestion.windowEventBus).toBeDefined();
    template.hasOutput("*", { Value: busArn });
    expect(openFindings(app, stack)).toEqual([]);
  }, 120_000);

  it("an existing bus (another account's): events:PutEvents on that bus alone, in the report writer's role alone", () => {
    const busArn = "arn:aws:events:eu-west-1:444455556666:event-bus/producers";
    const { template } = synthInBareApp((stack) => ({
      windowEventBus: EventBus.fromEventBusArn(stack, "Producers", busArn),
    }));
    expect(resourcesOf(template, "AWS::Events::EventBus")).toEqual([]);
    expect(putEventsGrants(template)).toEqual([{ roles: [roleOf(template, "ReportWriter")], resource: busArn }]);
    expect(reportWriterEnvironment(template)).toMatchObject({ WINDOW_EVENT_BUS: busArn });
  }, 120_000);
});

describe("MarketoIngestion props validation", () => {
  const construct = (props: MarketoIngestionProps) => () =>
    new MarketoIngestion(new Stack(new App(), "Host"), "Ingestion", props);

  it("rejects out-of-range values at construction, naming the prop", () => {
    expect(construct({ bulkJobSlots: 50 })).toThrow(/bulkJobSlots: must be at most 10/);
    expect(construct({ reportRetentionDays: 0 })).toThrow(/reportRetentionDays: must be at least 8 days/);
    expect(construct({ droppedFileRetentionDays: 2.5 })).toThrow(/droppedFileRetentionDays: must be a whole number/);
    expect(construct({ senderMaxConcurrency: 1 })).toThrow(/senderMaxConcurrency: must be at least 2/);
    expect(construct({ senderMaxConcurrency: 51 })).toThrow(/senderMaxConcurrency: must be at most 50/);
    expect(construct({ dailyObjectsAlarmShare: 1.5 })).toThrow(/dailyObjectsAlarmShare: must be at most 1/);
    expect(construct({ intakePayloadBucketArns: ["orders-exports"] })).toThrow(
      /intakePayloadBucketArns.0: must be a bucket's ARN/,
    );
    expect(construct({ removalPolicy: RemovalPolicy.SNAPSHOT })).toThrow(/removalPolicy: must be RETAIN/);
    expect(construct({ marketoSecret: { secretArn: "team/marketo" } })).toThrow(/marketoSecret/);
    expect(construct({ windowEventBus: "make" as never })).toThrow(
      /windowEventBus: must be an event bus \(EventBus.fromEventBusArn…\) or "create"/,
    );
    expect(construct({ defaultFileOptions: { persons: { action: "createOnly" } } as never })).toThrow(
      /defaultFileOptions: .*action is not an option of persons/,
    );
  });

  it("rejects props that do not combine", () => {
    const stack = new Stack(new App(), "Host");
    const dropBucket = Bucket.fromBucketName(stack, "Drop", "data-team-drop");
    expect(() => new MarketoIngestion(stack, "Ingestion", { dropBucket, droppedFileRetentionDays: 30 })).toThrow(
      /droppedFileRetentionDays: applies only to a drop bucket created here/,
    );
    expect(construct({ reportRetentionDays: 20, rowDataRetentionDays: 25 })).toThrow(
      /rowDataRetentionDays: must not exceed reportRetentionDays \(20\)/,
    );
    expect(construct({ marketoSecretKmsKeyArn: "arn:aws:kms:eu-west-1:123456789012:key/k" })).toThrow(
      /marketoSecretKmsKeyArn: only with an existing marketoSecret/,
    );
  });

  it("lists every problem at once", () => {
    const attempt = construct({ bulkJobSlots: 0, reportRetentionDays: 1 });
    expect(attempt).toThrow(/bulkJobSlots: must be at least 1/);
    expect(attempt).toThrow(/reportRetentionDays: must be at least 8 days/);
  });
});
