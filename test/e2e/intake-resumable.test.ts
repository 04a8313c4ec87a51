import { CreateBucketCommand, GetObjectCommand, HeadObjectCommand, PutObjectCommand } from "@aws-sdk/client-s3";
import { type Message, ReceiveMessageCommand } from "@aws-sdk/client-sqs";
import { createIntakeHandler } from "../../functions/splitter/intake-handler.ts";
import { createSplitterHandler } from "../../functions/splitter/handler.ts";
import { SPLIT_FAILED } from "../../functions/splitter/record-split-failure.ts";
import { lambdaContext } from "../../local/lambda-context.ts";
import { localSplitterEnv } from "../../local/run-pipeline-locally.ts";
import { sqsRecordFor } from "../../local/sqs-event-source.ts";
import { systemClock } from "../../shared/time/clock.ts";
import { describe, expect, it } from "vitest";
import type { IntakeRunOptions, IntakeRunResult } from "../../local/run-intake-locally.ts";
import { S3ReportStore } from "../../shared/aws/s3-report-store.ts";
import type { FileRef } from "../../shared/contracts/batch-message.ts";
import { fileRefFor } from "../../shared/contracts/s3-event.ts";
import { SPLIT_CHECKPOINT_FILE } from "../../shared/contracts/split-checkpoint.ts";
import { SPLIT_CLAIM_FILE } from "../../shared/report/build-file-report.ts";
import { samplePersons, toCsv } from "../../scripts/make-sample-persons.ts";
import { useHarness } from "./harness.ts";

const h = useHarness();

const PAYLOADS = "producer-payloads";
/** Both functions pause with a second in hand, and requests are small: a 1,200-row file makes 24 of them. */
const SPLIT_ENV = { SPLIT_SAFETY_MARGIN_MS: "1000", MAX_REQUEST_OBJECTS: "50" };

/**
 * Each invocation's clock: after `reads` reads (one as each split would start, one after each row) less than the
 * safety margin is left. Counted, not timed: the same run pauses at the same rows on any machine.
 */
const invocationsOf = (reads: number) => () => {
  let read = 0;
  return () => (++read > reads ? 500 : 900_000);
};

const runIntake = (extra: Partial<IntakeRunOptions> = {}) =>
  h().runIntake({
    intakeEnv: SPLIT_ENV,
    splitterEnv: SPLIT_ENV,
    // One invocation takes every message sent before the run (one window per group, pointers after them).
    intakeEventSource: { batchingWindowMs: 1_000, maxConcurrency: 1 },
    ...extra,
  });
const send = (messages: unknown[]) => h().sendToIntake(messages);
const requestsSent = () =>
  h()
    .sim.requests.map((r) => `${r.endpoint} ${r.status} ${r.objectCount} ${r.bodyBytes}`)
    .sort();
const readJson = async (key: string) => {
  const object = await h().aws.s3.send(new GetObjectCommand({ Bucket: h().aws.workBucket, Key: key }));
  return JSON.parse((await object.Body?.transformToString()) ?? "null") as Record<string, unknown>;
};
/** report.json without what differs between two runs of the same records (keys, times, request ids). */
const comparable = async (file: FileRef) => {
  const report = await new S3ReportStore(h().aws.s3, h().aws.workBucket).getFileReport(file);
  const { file: _file, timings: _timings, requestIds: _ids, rowsWithIssues, intake, ...rest } = report ?? {};
  return { ...rest, rowsWithIssues: rowsWithIssues?.rows, hasIntakeListing: intake !== undefined };
};

/** Takes the intake queue's messages as one invocation of the intake handler with the given remaining time. */
async function intakeInvocation(remainingMs: () => number) {
  const { aws } = h();
  const { Messages: received = [] } = await aws.sqs.send(
    new ReceiveMessageCommand({ QueueUrl: aws.intakeQueueUrl, MaxNumberOfMessages: 10 }),
  );
  const intake = createIntakeHandler({
    ...localSplitterEnv(aws, SPLIT_ENV),
    INTAKE_QUEUE_URL: aws.intakeQueueUrl,
    INTAKE_DLQ_URL: aws.intakeDlqUrl,
  });
  await intake(
    { Records: received.map((message) => sqsRecordFor(message, { clock: systemClock })) },
    lambdaContext("intake", { remainingMs }),
  );
  return received;
}

/** The split-continuation queue's messages (split-start or split-continuation). */
async function splitQueueMessages() {
  const { aws } = h();
  const { Messages = [] } = await aws.sqs.send(
    new ReceiveMessageCommand({ QueueUrl: aws.splitContinuationQueueUrl, MessageSystemAttributeNames: ["All"] }),
  );
  return Messages;
}

/** The splitter takes `message` on its fourth receive: three invocations crashed or timed out on it. */
async function fourthReceive(message: Message | undefined) {
  const { aws } = h();
  const record = sqsRecordFor(message ?? {}, { clock: systemClock });
  await createSplitterHandler(localSplitterEnv(aws, SPLIT_ENV))(
    { Records: [{ ...record, attributes: { ...record.attributes, ApproximateReceiveCount: "4" } }] },
    lambdaContext("splitter"),
  );
}

describe("intake splits that outlast the intake function's invocation go on in the splitter", () => {
  it("an S3 pointer to a file that needs five invocations: paused by the intake function, finished by the splitter; a later pointer is not started late but deferred whole; Marketo gets the requests of one invocation, each once", async () => {
    await h()
      .aws.s3.send(new CreateBucketCommand({ Bucket: PAYLOADS }))
      .catch(() => undefined);
    const rows = samplePersons(1_200, 7);
    for (const at of [3, 640, 1_150]) rows[at] = { ...rows[at], email: "" } as Record<string, string>;
    const big = toCsv(rows);
    // Other people than the big file's (samplePersons numbers its emails from 0).
    const small = toCsv(samplePersons(30, 8).map((row, i) => ({ ...row, email: `small${i}@example.com` })));
    /** Puts both files under `prefix`, sends one pointer message each, and runs the intake to the end. */
    const pointerRun = async (prefix: string, extra: Partial<IntakeRunOptions>) => {
      const files: FileRef[] = [];
      for (const [name, body] of [
        ["big.csv", big],
        ["small.csv", small],
      ] as const) {
        const key = `${prefix}/${name}`;
        const put = await h().aws.s3.send(new PutObjectCommand({ Bucket: PAYLOADS, Key: key, Body: body }));
        files.push(fileRefFor({ bucket: PAYLOADS, key, eTag: (put.ETag ?? "").replace(/"/g, "") }));
      }
      const options = { priority: "high" };
      await send([
        { v: 1, objectType: "persons", options, s3: { bucket: PAYLOADS, key: `${prefix}/big.csv` } },
        { v: 1, objectType: "persons", options, s3: { bucket: PAYLOADS, key: `${prefix}/small.csv` } },
      ]);
      const result = await runIntake(extra);
      expect(result.intakeEventSource.invocations).toBe(1);
      expect(result.deadLetterMessages).toBe(0);
      expect(result.intakeDeadLetters).toBe(0);
      return files as [FileRef, FileRef];
    };

    const [wholeBig, wholeSmall] = await pointerRun("exports/whole", {});
    const wholeRequests = requestsSent();
    const wholeReports = [await comparable(wholeBig), await comparable(wholeSmall)];
    h().sim.reset();

    const [resumedBig, resumedSmall] = await pointerRun("exports/resumed", {
      intakeTime: invocationsOf(250),
      splitterTime: invocationsOf(250),
    });

    // 1,200 rows, about 250 an invocation: the intake function's and four of the splitter's.
    expect(await readJson(`${resumedBig.reportPrefix}${SPLIT_CHECKPOINT_FILE}`)).toMatchObject({
      seq: 4,
      owner: expect.stringMatching(/^intake:/),
      // The continuation has no key prefix or sidecar to find the target by: the checkpoint carries the message's.
      explicit: { objectType: "persons", options: { priority: "high" } },
    });
    // The second pointer came when the time was short: the intake function left it whole to the splitter.
    expect((await readJson(`${resumedSmall.reportPrefix}${SPLIT_CLAIM_FILE}`)).owner).not.toMatch(/^intake:/);
    expect((await readJson(`${wholeSmall.reportPrefix}${SPLIT_CLAIM_FILE}`)).owner).toMatch(/^intake:/);

    expect(requestsSent()).toEqual(wholeRequests);
    expect(h().sim.persons()).toHaveLength(1_197 + 30);
    expect(
      h()
        .sim.persons()
        .filter((person) => person.writes !== 1),
    ).toEqual([]);
    expect([await comparable(resumedBig), await comparable(resumedSmall)]).toEqual(wholeReports);
    expect(wholeReports[0]).toMatchObject({
      status: "complete with failures",
      rowsRead: 1_200,
      accepted: 1_197,
      rejected: 3,
      rowsWithIssues: 3,
    });
  }, 180_000);

  it("window splits the intake function has no time left to start are deferred whole to the splitter: the same requests, and the same producer messages and outcomes in each window's report.json", async () => {
    const person = (i: number, run: string) => ({ email: `${run}-${i}@example.com`, firstName: `P${i}` });
    /** Three windows (persons, persons with priority high, car_c); a record without email is rejected. */
    const windowRun = async (run: string, extra: Partial<IntakeRunOptions>) => {
      const ids = await send([
        { v: 1, objectType: "persons", records: [person(1, run), person(2, run)] },
        { v: 1, objectType: "persons", options: { priority: "high" }, records: [person(3, run)] },
        { v: 1, objectType: "customobjects/car_c", records: [{ vin: `${run}-V1`, year: 1999 }] },
        { v: 1, objectType: "persons", records: [person(4, run), { firstName: "NoEmail" }] },
        { v: 1, objectType: "persons", options: { priority: "high" }, records: [person(5, run)] },
      ]);
      const result: IntakeRunResult = await runIntake(extra);
      expect(result.intakeEventSource.invocations).toBe(1);
      expect(result.windows).toHaveLength(3);
      const position = new Map(ids.map((id, index) => [id, index]));
      const windows = [];
      for (const window of result.windows.sort((a, b) => a.key.localeCompare(b.key))) {
        const report = await comparable(window.file);
        const listing = (await new S3ReportStore(h().aws.s3, h().aws.workBucket).getFileReport(window.file))?.intake;
        // The producer messages by their place in what was sent (SQS message ids differ between the runs).
        const messages = listing?.messages.map(({ messageId, ...rest }) => ({
          sent: position.get(messageId),
          ...rest,
        }));
        const owner = (await readJson(`${window.file.reportPrefix}${SPLIT_CLAIM_FILE}`)).owner as string;
        windows.push({
          objectType: window.window.objectType,
          report,
          messages,
          startedByIntake: owner.startsWith("intake:"),
        });
      }
      return windows;
    };

    // Run names of one length: the two runs' requests have the same sizes.
    const whole = await windowRun("run-a", {});
    const wholeRequests = requestsSent();
    h().sim.reset();
    // Time for one split start: one window is split by the intake function, the other two are not started there.
    const deferred = await windowRun("run-b", { intakeTime: invocationsOf(1) });

    expect(whole.map((w) => w.startedByIntake)).toEqual([true, true, true]);
    // Claims finish in any order, so which window the intake function splits first is not fixed.
    expect(deferred.filter((w) => w.startedByIntake)).toHaveLength(1);
    expect(deferred.map(({ startedByIntake: _s, ...w }) => w)).toEqual(whole.map(({ startedByIntake: _s, ...w }) => w));
    expect(requestsSent()).toEqual(wholeRequests);
    expect(whole[0]?.messages).toEqual([
      { sent: 0, outcome: "accepted", records: { accepted: 2 } },
      { sent: 3, outcome: "mixed", records: { accepted: 1, rejected: 1 } },
    ]);
    expect(
      h()
        .sim.persons()
        .filter((p) => p.writes !== 1),
    ).toEqual([]);
    expect(h().sim.persons()).toHaveLength(5);
  }, 180_000);

  it("a deferred split whose start keeps failing ends as a failed split of the object type the message named, with nothing queued", async () => {
    const { aws } = h();
    await send([{ v: 1, id: "doomed-1", objectType: "customobjects/car_c", records: [{ vin: "D1", year: 2001 }] }]);
    // No time left at all: the window is written, its split handed to the splitter.
    expect(await intakeInvocation(() => 0)).toHaveLength(1);
    const handedOver = await splitQueueMessages();
    expect(handedOver.map((message) => JSON.parse(message.Body ?? "{}"))).toEqual([
      expect.objectContaining({ kind: "split-start", explicit: { objectType: "customobjects/car_c" } }),
    ]);
    await fourthReceive(handedOver[0]);

    const window = JSON.parse(handedOver[0]?.Body ?? "{}").dropped as { bucket: string; key: string; eTag: string };
    const manifest = await new S3ReportStore(aws.s3, aws.workBucket).getManifest(fileRefFor(window));
    expect(manifest).toMatchObject({
      status: "failed",
      objectType: "customobjects/car_c",
      rowsQueued: 0,
      error: { code: SPLIT_FAILED, message: expect.stringMatching(/deferred to a fresh invocation, failed 3 times/) },
    });
    const queued = await aws.sqs.send(new ReceiveMessageCommand({ QueueUrl: aws.ingestionQueueUrl }));
    expect(queued.Messages ?? []).toEqual([]);
    // The report writer was told: the window's report will say failed, not running.
    const announced = await aws.sqs.send(
      new ReceiveMessageCommand({ QueueUrl: aws.reportQueueUrl, MaxNumberOfMessages: 10 }),
    );
    expect(announced.Messages?.map((message) => JSON.parse(message.Body ?? "{}").file?.key)).toEqual([window.key]);
  });

  it("an intake split that paused and whose continuation keeps failing ends as a failed split of the object type the message named", async () => {
    const { aws } = h();
    await aws.s3.send(new CreateBucketCommand({ Bucket: PAYLOADS })).catch(() => undefined);
    const key = "exports/keeps-failing.csv";
    await aws.s3.send(new PutObjectCommand({ Bucket: PAYLOADS, Key: key, Body: toCsv(samplePersons(50, 3)) }));
    await send([{ v: 1, objectType: "persons", s3: { bucket: PAYLOADS, key } }]);
    // Time for the split to start and read a few rows: it pauses and asks for a continuation.
    await intakeInvocation(invocationsOf(4)());
    const continuations = await splitQueueMessages();
    expect(continuations.map((message) => JSON.parse(message.Body ?? "{}"))).toEqual([
      expect.objectContaining({ kind: "split-continuation", seq: 1 }),
    ]);
    await fourthReceive(continuations[0]);

    const manifests = new S3ReportStore(aws.s3, aws.workBucket);
    const { ETag } = await aws.s3.send(new HeadObjectCommand({ Bucket: PAYLOADS, Key: key }));
    const manifest = await manifests.getManifest(
      fileRefFor({ bucket: PAYLOADS, key, eTag: (ETag ?? "").replace(/"/g, "") }),
    );
    expect(manifest).toMatchObject({
      status: "failed",
      objectType: "persons",
      rowsQueued: 0,
      error: { code: SPLIT_FAILED, message: expect.stringMatching(/continuation 1 \(after row \d+\) failed 3 times/) },
    });
    const queued = await aws.sqs.send(new ReceiveMessageCommand({ QueueUrl: aws.ingestionQueueUrl }));
    expect(queued.Messages ?? []).toEqual([]);
  });
});
