import { GetObjectCommand, ListObjectsV2Command, PutObjectCommand } from "@aws-sdk/client-s3";
import { ReceiveMessageCommand } from "@aws-sdk/client-sqs";
import { createSplitterHandler } from "../../functions/splitter/handler.ts";
import { SPLIT_FAILED } from "../../functions/splitter/record-split-failure.ts";
import { S3ReportStore } from "../../shared/aws/s3-report-store.ts";
import { fileRefFor } from "../../shared/contracts/s3-event.ts";
import type { FileRef } from "../../shared/contracts/batch-message.ts";
import type { LocalRunResult } from "../../local/run-pipeline-locally.ts";
import { lambdaContext } from "../../local/lambda-context.ts";
import { localSplitterEnv } from "../../local/run-pipeline-locally.ts";
import { objectCreatedEvent } from "../../local/s3-notification.ts";
import { sqsRecordFor } from "../../local/sqs-event-source.ts";
import { systemClock } from "../../shared/time/clock.ts";
import { describe, expect, it } from "vitest";
import { samplePersons, toCsv } from "../../scripts/make-sample-persons.ts";
import { expectEveryRowAccountedFor, readIssueRows } from "./accounting.ts";
import { useHarness } from "./harness.ts";

const h = useHarness();

/** Each splitter invocation's clock: after about `rows` reads (one per row) less than the safety margin is left. */
const invocationsOf = (rows: number) => () => {
  let reads = 0;
  return () => (++reads > rows ? 500 : 900_000);
};

/** The same persons as each input format writes them (BOM and CRLF included). */
const fileText = {
  csv: (rows: Array<Record<string, string>>) => `\uFEFF${toCsv(rows)}`,
  ndjson: (rows: Array<Record<string, string>>) => `\uFEFF${rows.map((row) => JSON.stringify(row)).join("\r\n")}\r\n`,
  json: (rows: Array<Record<string, string>>) =>
    `[\r\n${rows.map((row) => `  ${JSON.stringify(row)}`).join(",\r\n")}\r\n]`,
};

/** The seq of the file's last checkpoint (the continuations its split went through). */
async function checkpointSeq(file: FileRef): Promise<number> {
  const checkpoint = await h().aws.s3.send(
    new GetObjectCommand({ Bucket: h().aws.workBucket, Key: `${file.reportPrefix}split-checkpoint.json` }),
  );
  return JSON.parse((await checkpoint.Body?.transformToString()) ?? "{}").seq;
}

/** The bulk parts stored for a file, in part order. */
async function partTexts(file: FileRef): Promise<string[]> {
  const { aws } = h();
  const listed = await aws.s3.send(
    new ListObjectsV2Command({ Bucket: aws.workBucket, Prefix: `${file.reportPrefix}bulk-parts/` }),
  );
  const keys = (listed.Contents ?? []).map((object) => object.Key as string).sort();
  return Promise.all(
    keys.map(async (key) => {
      const object = await aws.s3.send(new GetObjectCommand({ Bucket: aws.workBucket, Key: key }));
      return (await object.Body?.transformToString("utf-8")) ?? "";
    }),
  );
}

/** report.json without what differs from run to run: the file, timings, request ids, the issue file's key. */
const withoutRunDetails = (result: LocalRunResult) => {
  const { file: _file, timings: _timings, requestIds: _ids, rowsWithIssues: _issues, ...report } = result.report ?? {};
  return report;
};

describe("a split that outlasts its invocation goes on in fresh ones (split-continuation queue)", () => {
  for (const format of ["csv", "ndjson", "json"] as const) {
    it(`sends Marketo the same requests and writes the same report as one invocation would (${format})`, async () => {
      const rows = samplePersons(1_200, 7);
      // Rejected rows far apart, multi-line quoted fields, non-ASCII, CRLF and a BOM.
      for (const at of [3, 640, 1_150]) rows[at] = { ...rows[at], email: "" } as Record<string, string>;
      for (let i = 0; i < rows.length; i += 97)
        rows[i] = { ...rows[i], lastName: `Zoë "Ló"\r\nÅngström ${i}` } as never;
      const csv = fileText[format](rows);
      const env = { splitterEnv: { MAX_REQUEST_OBJECTS: "50", SPLIT_SAFETY_MARGIN_MS: "1000" } };

      const whole = await h().run(`persons/whole.${format}`, csv, env);
      const wholeRequests = h()
        .sim.requests.map((r) => `${r.status} ${r.objectCount} ${r.bodyBytes}`)
        .sort();
      const personsStored = () =>
        h()
          .sim.persons()
          .map((p) => JSON.stringify(p.fields))
          .sort();
      const wholePersons = personsStored();
      const wholeIssues = await readIssueRows(h(), whole);
      h().sim.reset();

      const resumed = await h().run(`persons/resumed.${format}`, csv, { ...env, splitterTime: invocationsOf(250) });
      expectEveryRowAccountedFor(resumed);
      // 1,200 rows, 250 an invocation: the split went through five invocations (four continuations).
      expect(resumed.manifest).toMatchObject({ status: "queued", rowsRead: 1_200, rowsQueued: 1_197, batches: 24 });
      // (The handler reads the clock a few times besides once per row.)
      expect(await checkpointSeq(resumed.file)).toBe(4);
      expect(
        h()
          .sim.requests.map((r) => `${r.status} ${r.objectCount} ${r.bodyBytes}`)
          .sort(),
      ).toEqual(wholeRequests);
      expect(personsStored()).toEqual(wholePersons);
      expect(withoutRunDetails(resumed)).toEqual(withoutRunDetails(whole));
      expect(resumed.report?.rowsWithIssues?.rows).toBe(whole.report?.rowsWithIssues?.rows);
      expect(await readIssueRows(h(), resumed)).toEqual(wholeIssues);
      expect(wholeIssues.map((issue) => Number(issue.row))).toEqual([4, 641, 1_151]);
      expect(resumed.deadLetterMessages).toBe(0);
    }, 60_000);
  }

  it("a Bulk Import file: Marketo imports the same parts and the report is the same as one invocation's", async () => {
    // 12,000 leads (row marks every 10,000 rows): refused rows (blank email), a row Marketo fails (leadScore is an
    // integer) and one it warns about, far apart; multi-line quoted fields and non-ASCII text.
    const lines = Array.from({ length: 12_000 }, (_, i) => {
      const row = i + 1;
      if (row === 3 || row === 6_400 || row === 11_500) return `,"No Email ${row}",1`;
      if (row === 10_500) return `lead${row}@example.com,Bad Score,oops`;
      if (row === 11_900) return `not-an-email,Warned,5`;
      const name = row % 97 === 0 ? `"Zoë ""Ló""\r\nÅngström ${row}"` : `First ${row}`;
      return `lead${row}@example.com,${name},${row % 100}`;
    });
    const csv = `\uFEFFemail,firstName,leadScore\r\n${lines.join("\r\n")}\r\n`;
    // Parts of at most 100,000 bytes: five, the split pausing about every 3,000 rows, mid-part.
    const env = { splitterEnv: { BULK_MAX_PART_BYTES: "100000", SPLIT_SAFETY_MARGIN_MS: "1000" } };

    const whole = await h().run("bulk/leads/whole.csv", csv, env);
    const jobsOf = () =>
      h()
        .sim.bulkJobs.filter((job) => !job.foreign)
        .map(({ fileName, rowCount, bytes, format, options, status, processed, failed, warnings }) =>
          JSON.stringify({ fileName, rowCount, bytes, format, options, status, processed, failed, warnings }),
        )
        .sort();
    const leadsStored = () =>
      h()
        .sim.persons()
        .map((p) => JSON.stringify(p.fields))
        .sort();
    const wholeJobs = jobsOf();
    const wholeLeads = leadsStored();
    const wholeIssues = await readIssueRows(h(), whole);
    h().sim.reset();

    const resumed = await h().run("bulk/leads/resumed.csv", csv, { ...env, splitterTime: invocationsOf(3_000) });
    expectEveryRowAccountedFor(resumed);
    expect(resumed.manifest).toMatchObject({ mode: "bulk", status: "queued", rowsRead: 12_000, rowsQueued: 11_997 });
    expect(whole.manifest?.batches).toBe(5);
    expect(resumed.manifest?.batches).toBe(5);
    // Three pauses: the split went through four invocations.
    expect(await checkpointSeq(resumed.file)).toBe(3);
    expect(await partTexts(resumed.file)).toEqual(await partTexts(whole.file));
    expect(jobsOf()).toEqual(wholeJobs);
    expect(leadsStored()).toEqual(wholeLeads);
    expect(
      h()
        .sim.persons()
        .every((lead) => lead.writes === 1),
    ).toBe(true);
    expect(withoutRunDetails(resumed)).toEqual(withoutRunDetails(whole));
    expect(resumed.report?.rowsWithIssues?.rows).toBe(whole.report?.rowsWithIssues?.rows);
    expect(await readIssueRows(h(), resumed)).toEqual(wholeIssues);
    expect(wholeIssues.map((issue) => [issue.row, issue.outcome])).toEqual([
      ["3", "rejected"],
      ["6400", "rejected"],
      ["10500", "failed"],
      ["11500", "rejected"],
      ["11900", "warned"],
    ]);
    // The report writer read those rows from the stretches after the row marks the paused split left.
    const marks = await h().aws.s3.send(
      new GetObjectCommand({ Bucket: h().aws.workBucket, Key: `${resumed.file.reportPrefix}row-marks.json` }),
    );
    expect(JSON.parse((await marks.Body?.transformToString()) ?? "{}")).toMatchObject({
      source: { kind: "dropped" },
      marks: [{ row: 10_000 }],
    });
    expect(resumed.deadLetterMessages).toBe(0);
  }, 120_000);

  it("a continuation that keeps failing ends as a failed split, with nothing queued for Marketo", async () => {
    const { aws } = h();
    const csv = `email,firstName\n${Array.from({ length: 50 }, (_, i) => `p${i}@example.com,P${i}`).join("\n")}\n`;
    const key = "persons/keeps-failing.csv";
    const put = await aws.s3.send(new PutObjectCommand({ Bucket: aws.dropBucket, Key: key, Body: csv }));
    const dropped = { bucket: aws.dropBucket, key, size: Buffer.byteLength(csv), eTag: put.ETag as string };
    const splitter = createSplitterHandler(localSplitterEnv(aws, { SPLIT_SAFETY_MARGIN_MS: "1000" }));
    // The first invocation has too little time for more than a row: it pauses and asks for a continuation.
    let reads = 0;
    await splitter(
      objectCreatedEvent(dropped),
      lambdaContext("splitter", { remainingMs: () => (++reads > 3 ? 500 : 900_000) }),
    );
    const { Messages } = await aws.sqs.send(
      new ReceiveMessageCommand({ QueueUrl: aws.splitContinuationQueueUrl, MessageSystemAttributeNames: ["All"] }),
    );
    expect(Messages).toHaveLength(1);
    // Its fourth receive: three invocations crashed or timed out on it (as the queue's receive count says).
    const record = sqsRecordFor(Messages?.[0] ?? {}, { clock: systemClock });
    await splitter(
      { Records: [{ ...record, attributes: { ...record.attributes, ApproximateReceiveCount: "4" } }] },
      lambdaContext("splitter"),
    );
    const manifest = await new S3ReportStore(aws.s3, aws.workBucket).getManifest(fileRefFor(dropped));
    expect(manifest).toMatchObject({ status: "failed", rowsQueued: 0, batches: 0, error: { code: SPLIT_FAILED } });
    expect(manifest?.error?.message).toMatch(/continuation 1 \(after row \d+\) failed 3 times/);
    const queued = await aws.sqs.send(new ReceiveMessageCommand({ QueueUrl: aws.ingestionQueueUrl }));
    expect(queued.Messages ?? []).toEqual([]);
    // The report writer was told: its report will say failed, not running.
    const announced = await aws.sqs.send(new ReceiveMessageCommand({ QueueUrl: aws.reportQueueUrl }));
    expect(announced.Messages?.map((message) => JSON.parse(message.Body ?? "{}").file?.key)).toEqual([key]);
  }, 60_000);
});
