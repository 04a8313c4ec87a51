import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ReceiveMessageCommand } from "@aws-sdk/client-sqs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Harness, startHarness } from "../e2e/harness.ts";
import { type CloudFormationStandIn, startCloudFormationStandIn } from "../support/cloudformation-stand-in.ts";
import { runCli } from "../support/cli-process.ts";

/**
 * The CLI as a user runs it, in an environment holding only `env` (plus PATH and HOME): no AWS variable leaks in
 * from the test process, and no profile file or instance metadata is consulted.
 */
function cli(args: string[], env: Record<string, string>) {
  const base = {
    PATH: process.env.PATH ?? "",
    HOME: dir,
    AWS_CONFIG_FILE: join(dir, "no-config"),
    AWS_SHARED_CREDENTIALS_FILE: join(dir, "no-credentials"),
    AWS_EC2_METADATA_DISABLED: "true",
    AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: "true",
  };
  return runCli(args, { ...base, ...env });
}

let dir: string;
let h: Harness;
let cfn: CloudFormationStandIn;
let file: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "marketo-ingest-send-stack-"));
  h = await startHarness();
  cfn = await startCloudFormationStandIn();
  cfn.putStack("marketo-ingest", { WorkBucketName: h.aws.workBucket, IntakeQueueUrl: h.aws.intakeQueueUrl });
  cfn.putStack("other-stack", { BucketName: "b" });
  // A MarketoIngestion embedded in another app: its outputs carry the construct path and CDK's hash.
  cfn.putStack("platform", {
    PipelineIntakeQueueUrl1A2B3C4D: h.aws.intakeQueueUrl,
    PipelineWorkBucketName9F8E7D6C: "w",
  });
  cfn.putStack("two-pipelines", { AIntakeQueueUrl1A2B3C4D: "https://a", BIntakeQueueUrl5E6F7A8B: "https://b" });
  file = join(dir, "people.ndjson");
  await writeFile(file, '{"email":"a@example.com"}\n{"email":"b@example.com"}\n');
});
afterAll(async () => {
  await cfn.close();
  await h.close();
  await rm(dir, { recursive: true, force: true });
});

/** The local endpoints, region and (dummy) credentials, as a deployed account's would be. */
const deployed = () => ({
  AWS_REGION: "us-east-1",
  AWS_ACCESS_KEY_ID: "local",
  AWS_SECRET_ACCESS_KEY: "local",
  AWS_ENDPOINT_URL_CLOUDFORMATION: cfn.url,
  AWS_ENDPOINT_URL_SQS: h.aws.endpoint,
});

describe("marketo-ingest send --stack NAME", () => {
  it("reads the intake queue from the stack's outputs and puts each line on it", async () => {
    const sent = await cli(["send", file, "--object", "persons", "--stack", "marketo-ingest"], deployed());
    expect(sent.stderr).toContain(`2 messages sent to ${h.aws.intakeQueueUrl}`);
    expect(sent.code).toBe(0);
    const { Messages = [] } = await h.aws.sqs.send(
      new ReceiveMessageCommand({ QueueUrl: h.aws.intakeQueueUrl, MaxNumberOfMessages: 10 }),
    );
    expect(Messages.map((m) => JSON.parse(m.Body ?? "").records[0].email).sort()).toEqual([
      "a@example.com",
      "b@example.com",
    ]);
  });

  it("finds the output of a MarketoIngestion embedded in another stack (construct path and hash around the key)", async () => {
    const sent = await cli(["send", file, "--object", "persons", "--stack", "platform"], deployed());
    expect(sent.stderr).toContain(`2 messages sent to ${h.aws.intakeQueueUrl}`);
    expect(sent.code).toBe(0);
  });

  it.each([
    [
      "a stack with two pipelines",
      "two-pipelines",
      {},
      /has several IntakeQueueUrl outputs \(AIntakeQueueUrl1A2B3C4D, BIntakeQueueUrl5E6F7A8B\): pass the queue URL itself/,
    ],
    ["no such stack", "gone", {}, /no stack gone in us-east-1/],
    [
      "a stack without the output",
      "other-stack",
      {},
      /stack other-stack \(us-east-1\) has no output IntakeQueueUrl \(its outputs: BucketName/,
    ],
    [
      "no region",
      "marketo-ingest",
      { AWS_REGION: "" },
      /no AWS region to look for stack marketo-ingest in: set AWS_REGION/,
    ],
    [
      "no credentials",
      "marketo-ingest",
      { AWS_ACCESS_KEY_ID: "", AWS_SECRET_ACCESS_KEY: "" },
      /no AWS credentials to read stack marketo-ingest: set AWS_PROFILE or AWS_ACCESS_KEY_ID/,
    ],
  ] as const)("%s: exits 1 saying what to do, and sends nothing", async (_case, stack, override, expected) => {
    const env: Record<string, string> = { ...deployed() };
    for (const [key, value] of Object.entries(override)) {
      if (value === "") delete env[key];
      else env[key] = value;
    }
    const sent = await cli(["send", file, "--object", "persons", "--stack", stack], env);
    expect(sent.stderr).toMatch(expected);
    expect(sent.code).toBe(1);
    expect(sent.stdout).toBe("");
  });

  it("--stack and --queue-url together are a usage error", async () => {
    const sent = await cli(
      ["send", file, "--object", "persons", "--stack", "marketo-ingest", "--queue-url", h.aws.intakeQueueUrl],
      deployed(),
    );
    expect(sent.code).toBe(2);
    expect(sent.stderr).toContain("--queue-url or --stack, not both");
  });
});
