import { GetObjectCommand, PutObjectCommand } from "@aws-sdk/client-s3";
import { ReceiveMessageCommand } from "@aws-sdk/client-sqs";
import { createSplitterHandler } from "../../functions/splitter/handler.ts";
import { SPLIT_FAILED } from "../../functions/splitter/record-split-failure.ts";
import { S3ReportStore } from "../../shared/aws/s3-report-store.ts";
import { fileRefFor } from "../../shared/contracts/s3-event.ts";
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
      const checkpoint = await h().aws.s3.send(
        new GetObjectCommand({ Bucket: h().aws.workBucket, Key: `${resumed.file.reportPrefix}split-checkpoint.json` }),
      );
      // (The handler reads the clock a few times besides once per row.)
      expect(JSON.parse((await checkpoint.Body?.transformToString()) ?? "{}")).toMatchObject({ seq: 4 });
      expect(
        h()
          .sim.requests.map((r) => `${r.status} ${r.objectCount} ${r.bodyBytes}`)
          .sort(),
      ).toEqual(wholeRequests);
      expect(personsStored()).toEqual(wholePersons);
      const { file: _a, timings: _b, requestIds: _c, rowsWithIssues: issuesKey, ...report } = resumed.report ?? {};
      const { file: _d, timings: _e, requestIds: _f, rowsWithIssues: wholeKey, ...wholeReport } = whole.report ?? {};
      expect(report).toEqual(wholeReport);
      expect(issuesKey?.rows).toBe(wholeKey?.rows);
      expect(await readIssueRows(h(), resumed)).toEqual(wholeIssues);
      expect(wholeIssues.map((issue) => Number(issue.row))).toEqual([4, 641, 1_151]);
      expect(resumed.deadLetterMessages).toBe(0);
    }, 60_000);
  }

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
