import { type ChildProcess, execFile, spawn } from "node:child_process";
import { once } from "node:events";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { CreateBucketCommand, PutObjectCommand, S3Client } from "@aws-sdk/client-s3";
import { GetQueueUrlCommand, SendMessageCommand, SQSClient } from "@aws-sdk/client-sqs";
import { afterAll, describe, expect, it } from "vitest";
import { startLocalStack } from "../../local/try-stack-locally.ts";
import { runCli, withoutMarketoOrAws } from "../support/cli-process.ts";

const ROOT = fileURLToPath(new URL("../..", import.meta.url));
const TOOL = join(ROOT, "local/try-stack-locally.ts");

const cli = (args: string[], env: Record<string, string>) => runCli(args, { ...withoutMarketoOrAws(), ...env });

/** Starts the tool as a user would and reads its export lines, once all of them are out. */
async function startTool(): Promise<{ child: ChildProcess; env: Record<string, string>; stderr: () => string }> {
  const child = spawn(process.execPath, ["--import", "tsx", TOOL], { cwd: ROOT, env: withoutMarketoOrAws() });
  let stdout = "";
  let stderr = "";
  child.stderr!.on("data", (chunk: Buffer) => (stderr += chunk.toString("utf8")));
  const env: Record<string, string> = {};
  await new Promise<void>((resolve, reject) => {
    child.once("exit", (code) => reject(new Error(`the tool exited (${code}) before it was ready: ${stderr}`)));
    child.stdout!.on("data", (chunk: Buffer) => {
      stdout += chunk.toString("utf8");
      for (const match of stdout.matchAll(/^export ([A-Z0-9_]+)=(.*)$/gm)) env[match[1]!] = match[2]!;
      // The Marketo variables come last: once MARKETO_REST_URL is out, every line is.
      if (env.MARKETO_REST_URL) resolve();
    });
  });
  return { child, env, stderr: () => stderr };
}

let dir: string | undefined;
let running: ChildProcess | undefined;
afterAll(async () => {
  if (running && running.exitCode === null) running.kill("SIGKILL");
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe("local/try-stack-locally.ts: a deployed stack on 127.0.0.1 for the operator commands", () => {
  it("--help says what it starts and how to stop it", async () => {
    const help = await new Promise<string>((resolve, reject) =>
      execFile(
        process.execPath,
        ["--import", "tsx", TOOL, "--help"],
        { cwd: ROOT, env: withoutMarketoOrAws() },
        (e, out) => (e ? reject(e) : resolve(out)),
      ),
    );
    expect(help).toContain("npx tsx local/try-stack-locally.ts [--stack NAME]");
    expect(help).toContain("runs until Ctrl-C");
  }, 30_000);

  it("prints loopback-only variables; drop and status --watch through the CLI see the file to its end; SIGINT stops it", async () => {
    const tool = await startTool();
    running = tool.child;
    const { env } = tool;
    for (const name of ["AWS_ENDPOINT_URL_S3", "AWS_ENDPOINT_URL_SQS", "AWS_ENDPOINT_URL_CLOUDFORMATION"]) {
      expect(env[name]).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    }
    expect(env.MARKETO_REST_URL).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(env).toMatchObject({ AWS_REGION: "us-east-1", AWS_DEFAULT_REGION: "us-east-1" });
    expect(env.MARKETO_INGEST_STACK).toBe("MarketoIngest");

    dir = await mkdtemp(join(tmpdir(), "try-stack-"));
    const file = join(dir, "leads.csv");
    await writeFile(file, "email,firstName\nann@example.com,Ann\n,NoEmail\n");
    const dropped = await cli(["drop", file, "--object", "persons", "--stack", "MarketoIngest"], env);
    expect(dropped.code).toBe(0);
    expect(dropped.stdout.trim()).toBe("persons/leads.csv");

    // Nobody runs the pipeline here but the tool: the file gets split, sent and reported by its functions.
    const watched = await cli(["status", "persons/leads.csv", "--watch", "--interval", "1"], env);
    expect(watched.stdout).toContain("rows read 2 = accepted 1 + rejected 1 + failed 0 + dead-lettered 0");
    expect(watched.code).toBe(1); // complete with failures: the row without an email

    const doctor = await cli(["doctor", "--sample-seconds", "1"], env);
    expect(doctor.stdout).toContain("✓ a Marketo access token can be had");
    expect(doctor.code).toBe(0);

    tool.child.kill("SIGINT");
    const [code] = (await once(tool.child, "exit")) as [number | null];
    expect(code).toBe(0);
    expect(tool.stderr()).toContain("stack MarketoIngest stopped (SIGINT)");
  }, 120_000);
});

describe("the local stack's splitter goes on with the intake function's splits", () => {
  it("a window the intake function has no time to split is split by the splitter from the split-continuation queue", async () => {
    // A margin above the intake function's 5 minutes: no split can start there, each is handed to the splitter.
    const stack = await startLocalStack({ intakeEnv: { SPLIT_SAFETY_MARGIN_MS: "600000" } });
    const { env } = stack;
    const local = { region: env.AWS_REGION, credentials: { accessKeyId: "local", secretAccessKey: "local" } };
    const sqs = new SQSClient({ ...local, endpoint: env.AWS_ENDPOINT_URL_SQS });
    try {
      const intakeQueueUrl = (await sqs.send(new GetQueueUrlCommand({ QueueName: "marketo-ingest-intake" }))).QueueUrl;
      await sqs.send(
        new SendMessageCommand({
          QueueUrl: intakeQueueUrl,
          MessageBody: JSON.stringify({
            v: 1,
            id: "late-1",
            objectType: "persons",
            records: [{ email: "fay@example.com", firstName: "Fay" }],
          }),
        }),
      );
      const followed = await cliUntil(["status", "late-1", "--message"], env, (r) => r.code !== 3 && r.code !== 4);
      expect(followed.stdout).toContain("(id late-1): complete");
      expect(followed.stdout).toContain("records accepted 1 · rejected 0 · failed 0 · dead-lettered 0 · pending 0");
      expect(followed.code).toBe(0);
    } finally {
      sqs.destroy();
      await stack.stop();
    }
  }, 120_000);
});

/** Runs `args` until `done` holds for its result, a second apart, at most `tries` times; the last result. */
async function cliUntil(
  args: string[],
  env: Record<string, string>,
  done: (result: { code: number; stdout: string }) => boolean,
  tries = 30,
) {
  let result = await cli(args, env);
  for (let i = 1; i < tries && !done(result); i++) {
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    result = await cli(args, env);
  }
  return result;
}

describe("the walkthrough's DLQ session against the local stack", () => {
  it("an S3 pointer sent before its object exists is dead-lettered; once written, redrive sends it and status --message follows it to its file's end", async () => {
    const stack = await startLocalStack();
    const { env } = stack;
    const local = { region: env.AWS_REGION, credentials: { accessKeyId: "local", secretAccessKey: "local" } };
    const s3 = new S3Client({ ...local, endpoint: env.AWS_ENDPOINT_URL_S3, forcePathStyle: true });
    const sqs = new SQSClient({ ...local, endpoint: env.AWS_ENDPOINT_URL_SQS });
    try {
      await s3.send(new CreateBucketCommand({ Bucket: "crm-exports" }));
      const outputs = await cli(["dlq", "--queue", "intake"], env);
      expect(outputs.stdout).toContain("intake DLQ: 0 messages");
      const intakeQueueUrl = (await sqs.send(new GetQueueUrlCommand({ QueueName: "marketo-ingest-intake" }))).QueueUrl;
      await sqs.send(
        new SendMessageCommand({
          QueueUrl: intakeQueueUrl,
          MessageBody: JSON.stringify({
            v: 1,
            id: "crm-7",
            objectType: "persons",
            s3: { bucket: "crm-exports", key: "crm-7.csv" },
          }),
        }),
      );
      const dead = await cliUntil(["dlq", "--queue", "intake"], env, (r) => r.stdout.includes("1 message"));
      expect(dead.stdout).toMatch(/code="s3_object_not_found".*path="s3"/);

      await s3.send(
        new PutObjectCommand({
          Bucket: "crm-exports",
          Key: "crm-7.csv",
          Body: "email,firstName\ndee@example.com,Dee\neve@example.com,Eve\n",
        }),
      );
      const redriven = await cli(["redrive", "--queue", "intake"], env);
      expect(redriven.code).toBe(0);
      const followed = await cliUntil(["status", "crm-7", "--message"], env, (r) => r.code !== 3 && r.code !== 4);
      expect(followed.stdout).toContain("its records are s3://crm-exports/crm-7.csv");
      expect(followed.stdout).toContain("rows read 2 = accepted 2 + rejected 0 + failed 0 + dead-lettered 0");
      expect(followed.code).toBe(0);
      expect((await cli(["dlq", "--queue", "intake"], env)).stdout).toContain("intake DLQ: 0 messages");
    } finally {
      s3.destroy();
      sqs.destroy();
      await stack.stop();
    }
  }, 120_000);
});
