import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ReceiveMessageCommand } from "@aws-sdk/client-sqs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type MarketoSimulator, startMarketoSimulator } from "../../local/marketo-simulator/index.ts";
import type { FileReport } from "../../shared/report/build-file-report.ts";
import { sendIntakeMessages } from "../../local/intake-producer.ts";
import { runIntakeLocally } from "../../local/run-intake-locally.ts";
import { startHarness } from "../e2e/harness.ts";
import { runCli, withoutMarketo } from "../support/cli-process.ts";

/** The CLI as a user runs it, without the test process's Marketo credentials. */
const cli = (args: string[], env: Record<string, string> = {}) => runCli(args, { ...withoutMarketo(), ...env });

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "marketo-ingest-cli-"));
});
afterAll(() => rm(dir, { recursive: true, force: true }));

describe("marketo-ingest CLI", () => {
  it("demo: runs the bundled sample end to end and exits 0 with the summary", async () => {
    const { code, stdout, stderr } = await cli(["demo"]);
    expect(code).toBe(0);
    expect(stdout).toMatch(
      /^rows read 5,000 · requests \d+ · accepted 5,000 · rejected 0 · failed 0 · dead-lettered 0 · elapsed [\d.]+ s · [\d,]+ rows\/s$/m,
    );
    expect(stderr).toContain("split: 5,000 rows read");
  });

  it("run: sends any file, writes the JSON report and the rows with issues, and exits 1 when a row was rejected", async () => {
    const file = join(dir, "people.csv");
    const report = join(dir, "report.json");
    const issues = join(dir, "issues.csv");
    await writeFile(file, 'email,firstName\na@example.com,Ann\nb@example.com,"Bo, Jr."\nc@example.com,Cy,extra\n');
    const { code, stdout } = await cli([
      "run",
      file,
      "--object",
      "persons",
      "--report",
      report,
      "--rows-with-issues",
      issues,
    ]);
    expect(code).toBe(1);
    expect(stdout).toMatch(/rows read 3 · requests 1 · accepted 2 · rejected 1 ·/);
    const written = JSON.parse(await readFile(report, "utf8")) as FileReport;
    expect(written).toMatchObject({
      status: "complete with failures",
      rowsRead: 3,
      accepted: 2,
      rejected: 1,
      rejections: [{ reason: "row has 3 fields but the header has 2", rows: 1 }],
      rowsWithIssues: { rows: 1 },
    });
    expect(await readFile(issues, "utf8")).toBe(
      "row,line,outcome,code,field,reason,email,firstName\r\n3,4,rejected,,,row has 3 fields but the header has 2,,\r\n",
    );
  });

  it("run --split-seconds: a split that pauses and goes on in fresh invocations says so, and ends the same", async () => {
    const file = join(dir, "paused.ndjson");
    const lines = Array.from({ length: 12 }, (_, i) =>
      JSON.stringify({ email: `p${i}@example.com`, lastName: `Zoë ${i}` }),
    );
    await writeFile(file, `${lines.join("\r\n")}\r\n{"email":""}\r\n`);
    const reports = [join(dir, "paused-whole.json"), join(dir, "paused-split.json")];
    const whole = await cli(["run", file, "--object", "persons", "--report", reports[0] as string]);
    // No time at all: every invocation pauses after its first row.
    const paused = await cli([
      "run",
      file,
      "--object",
      "persons",
      "--split-seconds",
      "0",
      "--report",
      reports[1] as string,
    ]);
    expect(whole.stderr).not.toContain("splitter invocations");
    const split =
      /split: 13 rows read, 1 rejected, 1 batches queued \(queued\), in (\d+) splitter invocations \(paused and went on\)/.exec(
        paused.stderr,
      );
    // The first invocation defers the start (no time for a row), then a row an invocation, and one to find the end.
    expect(Number(split?.[1])).toBe(1 + 13 + 1);
    expect(paused.code).toBe(whole.code);
    const withoutRunDetails = async (path: string) => {
      const {
        file: _f,
        timings: _t,
        requestIds: _r,
        rowsWithIssues: _i,
        ...report
      } = JSON.parse(await readFile(path, "utf8")) as FileReport;
      return report;
    };
    expect(await withoutRunDetails(reports[1] as string)).toEqual(await withoutRunDetails(reports[0] as string));
    expect(await withoutRunDetails(reports[1] as string)).toMatchObject({ rowsRead: 13, accepted: 12, rejected: 1 });
    const refused = await cli(["run", file, "--object", "persons", "--split-seconds", "soon"]);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toContain('--split-seconds: expected a number of seconds from 0 to 840, not "soon"');
  });

  it("status: reads a file's report from a work bucket (a deployed stack's, here the emulator's)", async () => {
    const h = await startHarness();
    try {
      await h.run("persons/status.csv", "email,firstName\r\na@example.com,Ann\r\n,NoEmail\r\n");
      const env = { ...h.aws.awsEnv, AWS_ENDPOINT_URL: h.aws.endpoint };
      const done = await cli(["status", "persons/status.csv", "--bucket", h.aws.workBucket], env);
      expect(done.code).toBe(1);
      expect(done.stdout).toContain("persons/status.csv: complete with failures");
      expect(done.stdout).toContain("rows read 2 = accepted 1 + rejected 1 + failed 0 + dead-lettered 0");
      expect(done.stdout).toMatch(/rows with issues: 1 in reports\/persons\/status\.csv\/.+\/rows-with-issues\.csv/);
      expect(done.stdout).not.toContain("a@example.com"); // counts and reasons, never row contents

      const json = await cli(["status", "persons/status.csv", "--bucket", h.aws.workBucket, "--json"], env);
      expect(JSON.parse(json.stdout)).toMatchObject({ rowsRead: 2, accepted: 1, rejected: 1 });

      const missing = await cli(["status", "persons/never.csv", "--bucket", h.aws.workBucket], env);
      expect(missing.code).toBe(4);
      expect((await cli(["status", "persons/status.csv"], env)).code).toBe(2);
    } finally {
      await h.close();
    }
  });

  it("run --object bulk/leads: imports as a Bulk Import job and names Marketo's failed row by its number", async () => {
    const file = join(dir, "bulk-leads.csv");
    await writeFile(file, "email,leadScore\na@example.com,10\nb@example.com,not-a-number\nc@example.com,30\n");
    const { code, stdout, stderr } = await cli(["run", file, "--object", "bulk/leads", "--lookup-field", "email"]);
    expect(code).toBe(1);
    expect(stdout).toMatch(/rows read 3 · requests 1 · accepted 2 · rejected 0 · failed 1 ·/);
    expect(stderr).toContain("row 2 failed in Marketo: Invalid data type in field leadScore");
    expect(stderr).not.toContain("b@example.com");
  });

  it("run: sends to the Marketo named by MARKETO_* variables instead of the simulator", async () => {
    const marketo: MarketoSimulator = await startMarketoSimulator({
      munchkinId: "999-XYZ-111",
      clientId: "real-id",
      clientSecret: "real-secret",
      maxLifetimeMs: 60_000,
    });
    try {
      const file = join(dir, "two.csv");
      await writeFile(file, "email\nx@example.com\ny@example.com\n");
      const { code, stderr } = await cli(["run", file, "--object", "persons"], {
        MARKETO_CLIENT_ID: "real-id",
        MARKETO_CLIENT_SECRET: "real-secret",
        MARKETO_MUNCHKIN_ID: "999-XYZ-111",
        MARKETO_IDENTITY_URL: marketo.identityUrl,
        MARKETO_INGESTION_URL: marketo.ingestionUrl,
        MARKETO_REST_URL: marketo.restUrl,
      });
      expect(code).toBe(0);
      expect(stderr).toContain("Marketo 999-XYZ-111");
      expect(stderr).not.toContain("real-secret");
      expect(
        marketo
          .persons()
          .map((p) => p.fields.email)
          .sort(),
      ).toEqual(["x@example.com", "y@example.com"]);
      expect(marketo.identityCalls).toBe(1);
    } finally {
      await marketo.close();
    }
  });

  it("run --object takes every type, with option flags sent as the object's S3 metadata", async () => {
    const companies = join(dir, "companies.csv");
    await writeFile(companies, "id,company\n42,Acme\n43,Globex\n");
    const updated = await cli([
      "run",
      companies,
      "--object",
      "companies",
      "--action",
      "updateOnly",
      "--dedupe-by",
      "idField",
    ]);
    expect(updated.code).toBe(0);
    expect(updated.stdout).toMatch(/rows read 2 · requests 1 · accepted 2 ·/);

    const members = join(dir, "members.tsv");
    await writeFile(members, "programId\tleadId\n1001\t7\n1001\t8\n");
    const synced = await cli(["run", members, "--object", "programmembers", "--status", "Registered"]);
    expect(synced.code).toBe(0);
    expect(synced.stdout).toMatch(/accepted 2 ·/);

    const cars = join(dir, "cars.ndjson");
    await writeFile(cars, '{"vin":"V1","year":2003}\n{"vin":"V2","year":1989}\n');
    const report = join(dir, "cars-report.json");
    const custom = await cli(["run", cars, "--object", "customobjects/car_c", "--report", report]);
    expect(custom.code).toBe(0);
    const written = JSON.parse(await readFile(report, "utf8")) as FileReport;
    expect(written).toMatchObject({ objectType: "customobjects/car_c", input: { format: "ndjson" }, accepted: 2 });

    const wrongAction = await cli(["run", companies, "--object", "companies", "--action", "CreateOnly"]);
    expect(wrongAction.code).toBe(1);
    expect(wrongAction.stderr).toMatch(/INVALID_OPTIONS.*case-sensitive/);
  });

  it("run --object lists and lists/remove: --list-id names the list of rows without a listId column", async () => {
    const leads = join(dir, "leads.csv");
    await writeFile(leads, "leadId\n7\n8\n9\n");
    const report = join(dir, "list-report.json");
    const added = await cli(["run", leads, "--object", "lists", "--list-id", "1001", "--report", report]);
    expect(added.code).toBe(0);
    expect(JSON.parse(await readFile(report, "utf8"))).toMatchObject({
      objectType: "lists",
      options: { listId: 1001 },
      accepted: 3,
    });
    const removed = await cli(["run", leads, "--object", "lists/remove", "--list-id", "1001"]);
    expect(removed.code).toBe(0);
    expect(removed.stdout).toMatch(/rows read 3 · requests 1 · accepted 3 ·/);
  });

  it("a handler's warning shows as a sentence, never as a JSON line; --log FILE gets the JSON lines, --verbose prints them", async () => {
    const marketo = await startMarketoSimulator({ maxLifetimeMs: 120_000 });
    // Retry-After 6 s is longer than the sender waits in place (5 s): the batch goes back to the queue with a warning.
    const slowDown = () => marketo.injectFault({ kind: "status", status: 429, retryAfterSeconds: 6, path: "/persons" });
    const env = {
      MARKETO_CLIENT_ID: marketo.clientId,
      MARKETO_CLIENT_SECRET: marketo.clientSecret,
      MARKETO_MUNCHKIN_ID: marketo.munchkinId,
      MARKETO_IDENTITY_URL: marketo.identityUrl,
      MARKETO_INGESTION_URL: marketo.ingestionUrl,
      MARKETO_REST_URL: marketo.restUrl,
    };
    const jsonLines = (text: string) => text.split("\n").filter((line) => line.trimStart().startsWith('{"level"'));
    try {
      const file = join(dir, "slow.csv");
      await writeFile(file, "email,firstName\nann@example.com,Ann\nbo@example.com,Bo\n");
      const log = join(dir, "slow.log.jsonl");

      slowDown();
      const quiet = await cli(["run", file, "--object", "persons", "--log", log], env);
      expect(quiet.code).toBe(0);
      expect(quiet.stdout).toMatch(/rows read 2 · requests 1 · accepted 2 ·/);
      expect(jsonLines(quiet.stdout)).toEqual([]);
      expect(jsonLines(quiet.stderr)).toEqual([]);
      expect(quiet.stderr).toMatch(/^ {2}batch 0 waits 6 s: Marketo asked to slow down \(429\)$/m);
      const logText = await readFile(log, "utf8");
      const logged = logText
        .trim()
        .split("\n")
        .map((line) => JSON.parse(line) as Record<string, unknown>);
      expect(logged).toContainEqual(
        expect.objectContaining({ level: "WARN", message: "batch will be retried", batch: 0, code: "429001" }),
      );
      expect(logged).toContainEqual(expect.objectContaining({ level: "INFO", message: "batch accepted", rows: 2 }));
      expect(logText).not.toContain("@example.com"); // ids and codes, never row contents

      slowDown();
      const verbose = await cli(["run", file, "--object", "persons", "--verbose"], env);
      expect(verbose.code).toBe(0);
      expect(jsonLines(verbose.stdout)).toEqual([]);
      expect(jsonLines(verbose.stderr).map((line) => JSON.parse(line) as Record<string, unknown>)).toContainEqual(
        expect.objectContaining({ level: "WARN", message: "batch will be retried", code: "429001" }),
      );
      expect(verbose.stderr).toContain("batch 0 waits 6 s: Marketo asked to slow down (429)");
    } finally {
      await marketo.close();
    }
  }, 60_000);

  it("every command answers --help with the usage, which documents --log and --verbose", async () => {
    const commands = [
      "run",
      "demo",
      "status",
      "check",
      "simulator",
      "drop",
      "ls",
      "rejects",
      "dlq",
      "redrive",
      "doctor",
    ];
    const cases = [["--help"], ["help"], ...commands.map((command) => [command, "--help"])];
    const answers = await Promise.all(cases.map((args) => cli(args)));
    for (const [i, args] of cases.entries()) {
      const { code, stdout } = answers[i] as Awaited<ReturnType<typeof cli>>;
      expect(code, args.join(" ")).toBe(0);
      expect(stdout).toContain("Usage:");
      expect(stdout).toMatch(/\[--log FILE\] +write the handlers' log items there, one JSON line each/);
      expect(stdout).toMatch(/\[--verbose\] +print those JSON lines on stderr too/);
      if (args[1] === "--help") expect(stdout).toContain(`marketo-ingest ${args[0]}`);
    }
  }, 180_000);

  it("send: each NDJSON line becomes an intake message, run locally to the end with the summary", async () => {
    const file = join(dir, "people.ndjson");
    await writeFile(
      file,
      '{"email":"a@example.com","firstName":"Ann"}\n{"email":"b@example.com"}\nnot json\n{"firstName":"NoEmail"}\n',
    );
    const { code, stdout, stderr } = await cli(["send", file, "--object", "persons", "--priority", "high"]);
    expect(stdout).toMatch(
      /^messages 4 · invalid 1 · windows 1 · rows read 3 · requests 1 · accepted 2 · rejected 1 · failed 0 · dead-lettered 0 · elapsed [\d.]+ s$/m,
    );
    expect(code).toBe(1);
    expect(stderr).toContain("1 invalid messages in the intake DLQ");
    expect(stderr).toMatch(/message \S+: complete with failures \(rejected: email is required/);
    expect(stderr).not.toContain("a@example.com"); // ids and reasons, never record contents
    // As for `run`, the handlers' JSON log lines stay out of a person's terminal unless --verbose.
    const jsonLines = `${stdout}\n${stderr}`.split("\n").filter((line) => line.trimStart().startsWith('{"level"'));
    expect(jsonLines).toEqual([]);
  });

  it("send --queue-url: puts the messages on a deployed intake queue (here the emulator's)", async () => {
    const h = await startHarness();
    try {
      const file = join(dir, "queued.ndjson");
      await writeFile(file, '{"leadId":1}\n{"leadId":2}\n');
      const env = { ...h.aws.awsEnv, AWS_ENDPOINT_URL: h.aws.endpoint };
      const sent = await cli(
        ["send", file, "--object", "lists", "--list-id", "501", "--queue-url", h.aws.intakeQueueUrl],
        env,
      );
      expect(sent.code).toBe(0);
      expect(sent.stdout).toMatch(/^messages sent 2 · /);
      const { Messages = [] } = await h.aws.sqs.send(
        new ReceiveMessageCommand({ QueueUrl: h.aws.intakeQueueUrl, MaxNumberOfMessages: 10 }),
      );
      expect(
        Messages.map((m) => JSON.parse(m.Body ?? "")).sort((a, b) => a.records[0].leadId - b.records[0].leadId),
      ).toEqual([
        { v: 1, objectType: "lists", options: { listId: "501" }, records: [{ leadId: 1 }] },
        { v: 1, objectType: "lists", options: { listId: "501" }, records: [{ leadId: 2 }] },
      ]);
    } finally {
      await h.close();
    }
  });

  it("status --message: an intake message's records by state, looked up by producer id or SQS message id", async () => {
    const h = await startHarness();
    try {
      const bodies = [
        { v: 1, id: "order-1", objectType: "persons", records: [{ email: "a@example.com" }, { firstName: "NoEmail" }] },
        { v: 1, objectType: "persons", records: [{ email: "b@example.com" }] },
      ].map((m) => JSON.stringify(m));
      const [, plainId] = await sendIntakeMessages(h.aws.sqs, h.aws.intakeQueueUrl, bodies);
      await runIntakeLocally({ aws: h.aws, marketo: h.secret });
      const env = { ...h.aws.awsEnv, AWS_ENDPOINT_URL: h.aws.endpoint };

      const byId = await cli(["status", "order-1", "--message", "--bucket", h.aws.workBucket], env);
      expect(byId.code).toBe(1);
      expect(byId.stdout).toMatch(/^message \S+ \(id order-1\): complete with failures$/m);
      expect(byId.stdout).toContain("records accepted 1 · rejected 1 · failed 0 · dead-lettered 0 · pending 0");
      expect(byId.stdout).toMatch(/record 2 rejected: email is required/);
      expect(byId.stdout).not.toContain("a@example.com");

      const bySqsId = await cli(
        ["status", plainId as string, "--message", "--bucket", h.aws.workBucket, "--json"],
        env,
      );
      expect(bySqsId.code).toBe(0);
      expect(JSON.parse(bySqsId.stdout)).toMatchObject({
        messageId: plainId,
        status: "complete",
        records: { accepted: 1 },
      });

      const unknown = await cli(["status", "order-404", "--message", "--bucket", h.aws.workBucket], env);
      expect(unknown.code).toBe(4);
    } finally {
      await h.close();
    }
  });

  it("usage errors exit 2 with the usage text", async () => {
    const unknownObject = await cli(["run", "x.csv", "--object", "widgets"]);
    expect(unknownObject.code).toBe(2);
    expect(unknownObject.stderr).toContain('--object: unknown object type "widgets"');
    const unknownFlag = await cli(["run", "x.csv", "--objet", "persons"]);
    expect(unknownFlag.code).toBe(2);
    expect(unknownFlag.stderr).toContain("Usage:");
  });
});
