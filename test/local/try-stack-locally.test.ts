import { type ChildProcess, execFile, spawn } from "node:child_process";
import { once } from "node:events";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, describe, expect, it } from "vitest";

const ROOT = fileURLToPath(new URL("../..", import.meta.url));
const TOOL = join(ROOT, "local/try-stack-locally.ts");
const BIN = join(ROOT, "bin/marketo-ingest.mjs");

/** The environment without any real AWS or Marketo configuration, so nothing but the tool's variables apply. */
const cleanEnv = () => ({
  ...Object.fromEntries(
    Object.entries(process.env).filter(([key]) => !key.startsWith("MARKETO_") && !key.startsWith("AWS_")),
  ),
  AWS_EC2_METADATA_DISABLED: "true",
  AWS_CONFIG_FILE: "/nonexistent",
  AWS_SHARED_CREDENTIALS_FILE: "/nonexistent",
});

function cli(args: string[], env: Record<string, string>) {
  return new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
    execFile(
      process.execPath,
      [BIN, ...args],
      { env: { ...cleanEnv(), ...env }, timeout: 60_000 },
      (error, stdout, stderr) =>
        resolve({ code: error ? (typeof error.code === "number" ? error.code : -1) : 0, stdout, stderr }),
    );
  });
}

/** Starts the tool as a user would and reads its export lines, once all of them are out. */
async function startTool(): Promise<{ child: ChildProcess; env: Record<string, string>; stderr: () => string }> {
  const child = spawn(process.execPath, ["--import", "tsx", TOOL], { cwd: ROOT, env: cleanEnv() });
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
      execFile(process.execPath, ["--import", "tsx", TOOL, "--help"], { cwd: ROOT, env: cleanEnv() }, (e, out) =>
        e ? reject(e) : resolve(out),
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
