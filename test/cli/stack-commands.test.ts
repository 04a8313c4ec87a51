import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { GetObjectCommand, HeadObjectCommand, PutObjectCommand } from "@aws-sdk/client-s3";
import {
  CreateQueueCommand,
  GetQueueAttributesCommand,
  PurgeQueueCommand,
  ReceiveMessageCommand,
  SendMessageCommand,
  type SQSClient,
} from "@aws-sdk/client-sqs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type StackEmulator, startStackEmulator } from "../../local/stack-emulator.ts";
import { objectCreatedEvent } from "../../local/s3-notification.ts";
import { splitFailureEvent } from "../../local/split-failure-event.ts";
import { type Harness, startHarness } from "../e2e/harness.ts";
import { runCli, withoutMarketoOrAws } from "../support/cli-process.ts";

const STACK = "MarketoIngest";

/** The CLI as a child process with only the environment given (no real AWS configuration can leak in). */
const cli = (args: string[], env: Record<string, string>) => runCli(args, { ...withoutMarketoOrAws(), ...env });

const count = async (sqs: SQSClient, url: string) =>
  Number(
    (
      await sqs.send(
        new GetQueueAttributesCommand({
          QueueUrl: url,
          AttributeNames: ["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
        }),
      )
    ).Attributes?.ApproximateNumberOfMessages,
  );

let h: Harness;
let stack: StackEmulator;
let env: Record<string, string>;
let dir: string;
let splitterDlqUrl: string;
let splitFailuresUrl: string;
const alarms = [
  { AlarmName: `${STACK}-IngestionDlqAlarm`, AlarmActions: ["arn:aws:sns:us-east-1:1:ops"] },
  { AlarmName: `${STACK}-BulkDlqAlarm`, AlarmActions: [] as string[] },
];

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "marketo-ingest-stack-"));
  h = await startHarness();
  splitterDlqUrl = (await h.aws.sqs.send(new CreateQueueCommand({ QueueName: "marketo-ingest-splitter-dlq" })))
    .QueueUrl as string;
  splitFailuresUrl = (await h.aws.sqs.send(new CreateQueueCommand({ QueueName: "marketo-ingest-split-failures" })))
    .QueueUrl as string;
  // The stack's CloudFormation outputs, as `cdk deploy` would have created them, naming the emulator's resources.
  stack = await startStackEmulator({
    stacks: {
      [STACK]: {
        DropBucketName: h.aws.dropBucket,
        WorkBucketName: h.aws.workBucket,
        IngestionQueueUrl: h.aws.ingestionQueueUrl,
        IngestionDeadLetterQueueUrl: h.aws.ingestionDlqUrl,
        BulkQueueUrl: h.aws.bulkQueueUrl,
        BulkDeadLetterQueueUrl: h.aws.bulkDlqUrl,
        ReportDeadLetterQueueUrl: h.aws.reportDlqUrl,
        SplitterDeadLetterQueueUrl: splitterDlqUrl,
        SplitFailuresQueueUrl: splitFailuresUrl,
        IntakeQueueUrl: h.aws.intakeQueueUrl,
        IntakeDeadLetterQueueUrl: h.aws.intakeDlqUrl,
        ReportQueueUrl: h.aws.reportQueueUrl,
        MarketoSecretArn: "team/marketo",
      },
      // A MarketoIngestion embedded in another app: its construct path before each key, CDK's hash after it.
      Platform: {
        CrmPipelineDropBucketName4F2A9C1B: h.aws.dropBucket,
        CrmPipelineWorkBucketName7D3E0A55: h.aws.workBucket,
        SomethingElse: "not ours",
      },
    },
    alarms,
    denied: ["Forbidden"],
  });
  env = { ...h.aws.awsEnv, ...stack.awsEnv };
});
afterAll(async () => {
  await stack.close();
  await h.close();
  await rm(dir, { recursive: true, force: true });
});

describe("commands against a deployed stack (the emulator, with the stack's outputs)", () => {
  it("clear errors: no region, no credentials, no such stack, no permission, no stack at all", async () => {
    const { AWS_REGION: _region, ...noRegion } = env;
    const a = await cli(["ls", "--stack", STACK], noRegion);
    expect(a.code).toBe(2);
    expect(a.stderr).toContain("no AWS region: set AWS_REGION");

    const { AWS_ACCESS_KEY_ID: _id, AWS_SECRET_ACCESS_KEY: _secret, ...noCredentials } = env;
    const b = await cli(["ls", "--stack", STACK], noCredentials);
    expect(b.code).toBe(1);
    expect(b.stderr).toContain("no AWS credentials to read stack MarketoIngest");

    const c = await cli(["ls", "--stack", "Nope"], env);
    expect(c.code).toBe(1);
    expect(c.stderr).toContain("no stack Nope in us-east-1");

    const d = await cli(["dlq", "--stack", "Forbidden"], env);
    expect(d.code).toBe(1);
    expect(d.stderr).toMatch(/not allowed to read stack Forbidden in us-east-1: .*cloudformation:DescribeStacks/);

    const e = await cli(["rejects", "persons/x.csv"], env);
    expect(e.code).toBe(2);
    expect(e.stderr).toContain("no work bucket: pass --stack NAME (the deployed stack) or --bucket NAME");

    const f = await cli(["dlq", "--stack", STACK, "--queue", "mystery"], env);
    expect(f.code).toBe(2);
    expect(f.stderr).toContain("--queue takes one of ingestion, bulk, report, intake, splitter");
  }, 90_000);

  it("drop: uploads to TYPE/{name} with the option flags as metadata and the sidecar beside it; large files in parts", async () => {
    const file = join(dir, "webinar.csv");
    await writeFile(file, "programId,leadId\n1001,7\n");
    const options = join(dir, "webinar.options.json");
    await writeFile(options, JSON.stringify({ fieldMap: { Lead: "leadId" } }));
    const small = await cli(
      ["drop", file, "--object", "programmembers", "--status", "Registered", "--options", options, "--stack", STACK],
      env,
    );
    expect(small.code).toBe(0);
    expect(small.stdout.trim()).toBe("programmembers/webinar.csv");
    expect(small.stderr).toContain(
      `watch it: marketo-ingest status programmembers/webinar.csv --stack ${STACK} --watch`,
    );
    const head = await h.aws.s3.send(
      new HeadObjectCommand({ Bucket: h.aws.dropBucket, Key: "programmembers/webinar.csv" }),
    );
    expect(head.Metadata).toEqual({ status: "Registered" });
    const sidecar = await h.aws.s3.send(
      new GetObjectCommand({ Bucket: h.aws.dropBucket, Key: "programmembers/webinar.csv.options.json" }),
    );
    expect(JSON.parse(await (sidecar.Body as { transformToString(): Promise<string> }).transformToString())).toEqual({
      fieldMap: { Lead: "leadId" },
    });

    const big = join(dir, "big.csv");
    await writeFile(big, `email\n${"someone@example.com\n".repeat(1_000_000)}`); // 20 MB: three 8 MiB parts
    const before = h.aws.requestCounts();
    const large = await cli(["drop", big, "--object", "persons", "--drop-bucket", h.aws.dropBucket], env);
    expect(large.code).toBe(0);
    const after = h.aws.requestCounts();
    const putParts = (after["s3:PUT"] ?? 0) - (before["s3:PUT"] ?? 0);
    expect(putParts).toBe(3);
    expect(
      large.stderr.match(/^uploading persons\/big\.csv: [\d,]+ of 20,000,006 bytes \(\d+%\)$/gm)?.length,
    ).toBeGreaterThanOrEqual(3);
    expect(large.stderr).toContain("(100%)");
    const stored = await h.aws.s3.send(new HeadObjectCommand({ Bucket: h.aws.dropBucket, Key: "persons/big.csv" }));
    expect(stored.ContentLength).toBe(20_000_006);
  }, 120_000);

  it("status --watch right after a drop waits for the splitter to pick the file up, then follows it to the end", async () => {
    const key = "persons/picked-up-late.csv";
    const body = "email,firstName\r\nlate@example.com,Lee\r\n";
    await h.aws.s3.send(new PutObjectCommand({ Bucket: h.aws.dropBucket, Key: key, Body: body }));
    // Nothing has split it yet, as in the seconds between an upload and the splitter's start.
    const watching = cli(["status", key, "--watch", "--interval", "1", "--stack", STACK], env);
    await sleep(2_500);
    await h.run(key, body);
    const watched = await watching;

    expect(watched.stderr).toContain(`${key}: dropped, not picked up by the splitter yet`);
    expect(watched.stdout).toContain("rows read 1 = accepted 1 + rejected 0 + failed 0 + dead-lettered 0");
    expect(watched.code).toBe(0);
    // A key that was never dropped still ends the watch at once.
    expect((await cli(["status", "persons/never-dropped.csv", "--watch", "--stack", STACK], env)).code).toBe(4);
  }, 90_000);

  it("ls, status --watch and rejects follow a file the pipeline processed", async () => {
    await h.run("persons/ls.csv", "email,firstName\r\na@example.com,Ann\r\n,NoEmail\r\n");
    const listed = await cli(["ls", "--since", "1h", "--stack", STACK], env);
    expect(listed.code).toBe(0);
    expect(listed.stdout).toMatch(
      /^\d{4}-\d\d-\d\d \d\d:\d\d {2}persons\/ls\.csv {2}complete with failures · rows 2 · accepted 1 · rejected 1 · failed 0 · dead-lettered 0$/m,
    );
    expect(listed.stdout).not.toContain(".options.json");

    const watched = await cli(["status", "persons/ls.csv", "--watch", "--interval", "1", "--stack", STACK], env);
    expect(watched.code).toBe(1);
    expect(watched.stderr).toMatch(/persons\/ls\.csv: complete with failures · rows 2/);
    expect(watched.stdout).toContain("rows read 2 = accepted 1 + rejected 1 + failed 0 + dead-lettered 0");

    const rejects = await cli(["rejects", "persons/ls.csv", "--stack", STACK], env);
    expect(rejects.code).toBe(0);
    expect(rejects.stdout.split("\r\n")[0]).toBe("row,line,outcome,code,field,reason,email,firstName");
    expect(rejects.stdout).toContain("2,3,rejected,,email,");
    expect(rejects.stderr).toContain("1 row with issues (s3://");

    const embedded = await cli(["ls", "--since", "1h", "--stack", "Platform"], env);
    expect(embedded.code).toBe(0);
    expect(embedded.stdout).toMatch(/persons\/ls\.csv {2}complete with failures · rows 2/);

    const clean = await cli(["ls", "--since", "bad", "--stack", STACK], env);
    expect(clean.code).toBe(2);
    expect(clean.stderr).toContain("--since takes a duration such as 30m, 24h or 7d");
    expect((await cli(["rejects", "persons/never.csv", "--stack", STACK], env)).code).toBe(4);
  }, 90_000);

  it("redrive --failed-splits drops again each recent file whose split failed for good (status exit 5)", async () => {
    // Every attempt of the split fails: the splitter reports the file `failed` from Lambda's failure record.
    const failed = await h.run("persons/crashed.csv", "email\na@example.com\n", {
      deliverEvent: async () => {
        throw new Error("Task timed out after 900 seconds");
      },
    });
    expect(failed.manifest?.status).toBe("failed");
    await h.run("persons/fine.csv", "email\nb@example.com\n");
    expect((await cli(["status", "persons/crashed.csv", "--stack", STACK], env)).code).toBe(5);
    const before = await h.aws.s3.send(new HeadObjectCommand({ Bucket: h.aws.dropBucket, Key: "persons/crashed.csv" }));
    await new Promise((resolve) => setTimeout(resolve, 1_100)); // LastModified has whole seconds

    const redriven = await cli(["redrive", "--failed-splits", "--since", "1h", "--stack", STACK], env);
    expect(redriven.code).toBe(0);
    expect(redriven.stderr).toContain("failed split: persons/crashed.csv dropped again");
    expect(redriven.stderr).not.toContain("persons/fine.csv");
    expect(redriven.stderr).toContain("1 failed split(s) re-dropped");
    const after = await h.aws.s3.send(new HeadObjectCommand({ Bucket: h.aws.dropBucket, Key: "persons/crashed.csv" }));
    expect(after.LastModified!.getTime()).toBeGreaterThan(before.LastModified!.getTime());
  }, 90_000);

  it("dlq shows counts and reason attributes but never bodies unless --bodies; redrive moves them back", async () => {
    for (const batchIndex of ["0", "1", "2"]) {
      await h.aws.sqs.send(
        new SendMessageCommand({
          QueueUrl: h.aws.ingestionDlqUrl,
          MessageBody: JSON.stringify({ persons: [{ email: `secret${batchIndex}@example.com` }] }),
          MessageAttributes: {
            code: { DataType: "String", StringValue: "503" },
            attempts: { DataType: "Number", StringValue: "8" },
            batchIndex: { DataType: "Number", StringValue: batchIndex },
            reportPrefix: { DataType: "String", StringValue: "reports/persons/x.csv/v1/" },
          },
        }),
      );
    }
    const shown = await cli(["dlq", "--stack", STACK], env);
    expect(shown.code).toBe(1);
    expect(shown.stdout).toContain("ingestion DLQ: 3 messages");
    expect(shown.stdout).toContain("bulk DLQ: 0 messages");
    expect(shown.stdout).toMatch(/ {2}\S+ receives=1 .*code="503".*attempts="8"/);
    expect(shown.stdout).not.toContain("secret0@example.com");
    const bodies = await cli(["dlq", "--queue", "ingestion", "--bodies", "--stack", STACK], env);
    expect(bodies.stdout).toContain("body: ");
    expect(bodies.stdout).toContain("secret0@example.com");
    expect(bodies.stdout).not.toContain("bulk DLQ");

    const moved = await cli(["redrive", "--queue", "ingestion", "--stack", STACK], env);
    expect(moved.code).toBe(0);
    expect(moved.stderr).toContain("StartMessageMoveTask is not available here; moving by receive, send, delete");
    expect(moved.stderr).toContain("ingestion DLQ: moved 3 of ~3");
    expect(await count(h.aws.sqs, h.aws.ingestionDlqUrl)).toBe(0);
    const back = await h.aws.sqs.send(
      new ReceiveMessageCommand({
        QueueUrl: h.aws.ingestionQueueUrl,
        MaxNumberOfMessages: 10,
        MessageAttributeNames: ["All"],
        WaitTimeSeconds: 1,
      }),
    );
    expect(back.Messages?.map((m) => m.MessageAttributes?.batchIndex?.StringValue).sort()).toEqual(["0", "1", "2"]);
    expect(back.Messages?.[0]?.MessageAttributes?.code?.StringValue).toBe("503");
  }, 90_000);

  it("redrive --queue splitter drops each failed file again with its metadata, and empties the DLQ", async () => {
    await h.aws.s3.send(
      new PutObjectCommand({
        Bucket: h.aws.dropBucket,
        Key: "persons/failed split.csv",
        Body: "email\na@example.com\n",
        Metadata: { priority: "high" },
      }),
    );
    // Lambda's on-failure record, as the split-failures queue hands it to the splitter DLQ when it cannot be reported.
    const event = objectCreatedEvent({ bucket: h.aws.dropBucket, key: "persons/failed split.csv", size: 20 });
    const timeout = Object.assign(new Error("Task timed out after 900 seconds"), { name: "TimeoutError" });
    const failure = splitFailureEvent(event, timeout, "req-1", 3).Records[0]!.body;
    await h.aws.sqs.send(new SendMessageCommand({ QueueUrl: splitterDlqUrl, MessageBody: failure }));
    const shown = await cli(["dlq", "--queue", "splitter", "--stack", STACK], env);
    expect(shown.stdout).toContain(
      'condition="RetriesExhausted" attempts=3 error="TimeoutError" files=["persons/failed split.csv"]',
    );
    const before = await h.aws.s3.send(
      new HeadObjectCommand({ Bucket: h.aws.dropBucket, Key: "persons/failed split.csv" }),
    );
    await new Promise((resolve) => setTimeout(resolve, 1_100)); // LastModified has whole seconds

    const redriven = await cli(["redrive", "--queue", "splitter", "--stack", STACK], env);
    expect(redriven.code).toBe(0);
    expect(redriven.stderr).toContain("splitter DLQ: persons/failed split.csv dropped again");
    expect(await count(h.aws.sqs, splitterDlqUrl)).toBe(0);
    const after = await h.aws.s3.send(
      new HeadObjectCommand({ Bucket: h.aws.dropBucket, Key: "persons/failed split.csv" }),
    );
    expect(after.Metadata).toEqual({ priority: "high" });
    expect(after.LastModified!.getTime()).toBeGreaterThan(before.LastModified!.getTime());
  }, 60_000);

  it("dlq and redrive cover the intake DLQ (code, path, message) and the split-failures queue", async () => {
    await h.aws.sqs.send(
      new SendMessageCommand({
        QueueUrl: h.aws.intakeDlqUrl,
        MessageBody: JSON.stringify({ v: 1, objectType: "persons", records: [{ email: "hidden@example.com" }, 7] }),
        MessageAttributes: {
          code: { DataType: "String", StringValue: "schema_violation" },
          path: { DataType: "String", StringValue: "records.1" },
          message: { DataType: "String", StringValue: "expected object" },
        },
      }),
    );
    await h.aws.sqs.send(new SendMessageCommand({ QueueUrl: splitFailuresUrl, MessageBody: "{}" }));
    const all = await cli(["dlq", "--stack", STACK], env);
    expect(all.stdout).toContain("intake DLQ: 1 message");
    expect(all.stdout).toMatch(/code="schema_violation" path="records\.1" message="expected object"/);
    expect(all.stdout).not.toContain("hidden@example.com");
    expect(all.stdout).toContain("splitter DLQ: 0 messages");
    expect(all.stdout).toContain("split-failures queue: 1 waiting (failed splits not yet reported)");

    const moved = await cli(["redrive", "--queue", "intake", "--stack", STACK], env);
    expect(moved.code).toBe(0);
    expect(moved.stderr).toContain("intake DLQ: moved 1 of ~1");
    expect(await count(h.aws.sqs, h.aws.intakeDlqUrl)).toBe(0);
    expect(await count(h.aws.sqs, h.aws.intakeQueueUrl)).toBe(1);
    for (const url of [h.aws.intakeQueueUrl, splitFailuresUrl]) {
      await h.aws.sqs.send(new PurgeQueueCommand({ QueueUrl: url }));
    }
  }, 90_000);

  it("doctor: one line per check, ✗ with what to do, and exit 0 once everything is in order", async () => {
    const noSecret = await cli(["doctor", "--stack", STACK, "--secret", "missing/secret"], env);
    expect(noSecret.code).toBe(1);
    expect(noSecret.stdout).toMatch(/^✗ secret missing\/secret: .*create it/m);

    h.aws.secrets.putSecret("team/marketo", JSON.stringify(h.secret)); // the stack's output names it
    await h.aws.sqs.send(new SendMessageCommand({ QueueUrl: h.aws.bulkDlqUrl, MessageBody: "{}" }));
    const failing = await cli(["doctor", "--stack", STACK], env);
    expect(failing.code).toBe(1);
    expect(failing.stdout).toContain("✓ secret team/marketo is readable and well formed (munchkin 123-ABC-456)");
    expect(failing.stdout).toContain("✓ a Marketo access token can be had");
    expect(failing.stdout).toMatch(/^✓ Marketo answers \(REST at http:\/\/127\.0\.0\.1:\d+: \d+ lead fields\)$/m);
    expect(failing.stdout).toContain(`✗ 1 of 2 alarms have no action (${STACK}-BulkDlqAlarm)`);
    expect(failing.stdout).toContain("✗ bulk DLQ holds 1 messages — see why with: marketo-ingest dlq --queue bulk");
    expect(failing.stdout).toContain("✓ ingestion DLQ is empty");
    // Every DLQ of the stack is looked at, and every queue with a consumer, the split-failures queue included.
    for (const name of ["ingestion", "bulk", "report", "intake", "splitter"]) {
      expect(failing.stdout).toMatch(new RegExp(`^[✓✗] ${name} DLQ `, "m"));
    }
    expect(failing.stdout).toMatch(/^✓ split-failures queue: empty$/m);
    expect(failing.stdout).toMatch(/^✓ intake queue: empty$/m);

    const redriven = await cli(["redrive", "--queue", "bulk", "--stack", STACK], env);
    expect(redriven.stderr).toContain("bulk DLQ: moved 1 of ~1");
    // Nothing consumes the emulator's queues: empty them as the functions would have.
    for (const url of [h.aws.bulkQueueUrl, h.aws.ingestionQueueUrl]) {
      await h.aws.sqs.send(new PurgeQueueCommand({ QueueUrl: url }));
    }
    alarms[1]!.AlarmActions.push("arn:aws:sns:us-east-1:1:ops");
    for (const url of [h.aws.reportQueueUrl]) await h.aws.sqs.send(new PurgeQueueCommand({ QueueUrl: url }));
    const healthy = await cli(["doctor", "--stack", STACK, "--sample-seconds", "1"], env);
    expect(healthy.stdout).toContain("✓ 2 alarms, each with an action");
    expect(healthy.stdout).toContain("✓ bulk DLQ is empty");
    expect(healthy.stdout).toContain("✓ bulk queue: empty");
    expect(healthy.stdout.split("\n").filter((line) => line.startsWith("✗"))).toEqual([]);
    expect(healthy.code).toBe(0);
  }, 120_000);
});
