import { CreateBucketCommand, PutObjectCommand } from "@aws-sdk/client-s3";
import {
  ChangeMessageVisibilityCommand,
  DeleteMessageCommand,
  type Message,
  ReceiveMessageCommand,
} from "@aws-sdk/client-sqs";
import type { SQSEvent } from "aws-lambda";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { createIntakeHandler } from "../../functions/splitter/intake-handler.ts";
import { lambdaContext } from "../../local/lambda-context.ts";
import type { IntakeRunOptions } from "../../local/run-intake-locally.ts";
import { localSplitterEnv } from "../../local/run-pipeline-locally.ts";
import { S3ReportStore } from "../../shared/aws/s3-report-store.ts";
import { fileRefFor } from "../../shared/contracts/s3-event.ts";
import { summarizeReport } from "../../shared/report/file-report.ts";
import { type EmfDocument, setMetricsSink } from "../../shared/lambda/metrics.ts";
import { samplePersons, toCsv } from "../../scripts/make-sample-persons.ts";
import { useHarness } from "./harness.ts";

const h = useHarness();

const send = (messages: unknown[]) => h().sendToIntake(messages);
const runIntake = (extra: Partial<IntakeRunOptions> = {}) => h().runIntake(extra);
/** Every message on a queue, removed from it (the intake DLQ, read by a test). */
async function drain(queueUrl: string): Promise<Message[]> {
  const all: Message[] = [];
  for (;;) {
    const { Messages = [] } = await h().aws.sqs.send(
      new ReceiveMessageCommand({ QueueUrl: queueUrl, MaxNumberOfMessages: 10, MessageAttributeNames: ["All"] }),
    );
    if (Messages.length === 0) return all;
    for (const message of Messages) {
      all.push(message);
      await h().aws.sqs.send(new DeleteMessageCommand({ QueueUrl: queueUrl, ReceiptHandle: message.ReceiptHandle }));
    }
  }
}
const attributes = (message: Message) =>
  Object.fromEntries(Object.entries(message.MessageAttributes ?? {}).map(([k, v]) => [k, v.StringValue]));

beforeEach(async () => {
  await drain(h().aws.intakeDlqUrl);
});
afterEach(() => setMetricsSink(undefined));

const accepted = () => h().sim.requests.filter((r) => r.status === 202);
const person = (i: number) => ({ email: `p${i}@example.com`, firstName: `P${i}` });

describe("intake: producers put records on the intake queue", () => {
  it("10,000 single-record persons messages reach Marketo in ≤ 11 requests, each within 1,000 objects and 1 MB", async () => {
    const messages = Array.from({ length: 10_000 }, (_, i) => ({ v: 1, objectType: "persons", records: [person(i)] }));
    const ids = await send(messages);
    // One poller: its batches close on size (10,000 messages or the 6 MB invoke payload), never on timing.
    const result = await runIntake({ intakeEventSource: { maxConcurrency: 1 } });

    const requests = accepted();
    expect(requests.length).toBeLessThanOrEqual(11);
    expect(result.intakeEventSource.invocations).toBeLessThanOrEqual(2);
    for (const request of requests) {
      expect(request.objectCount).toBeLessThanOrEqual(1_000);
      expect(request.bodyBytes).toBeLessThanOrEqual(1_000_000);
    }
    expect(requests.reduce((sum, r) => sum + r.objectCount, 0)).toBe(10_000);
    const stored = h().sim.persons();
    expect(stored).toHaveLength(10_000);
    expect(stored.every((p) => p.writes === 1)).toBe(true);
    expect(result.summary).toMatchObject({ rowsRead: 10_000, accepted: 10_000, rejected: 0, failed: 0, pending: 0 });
    const outcomes = result.windows.flatMap((w) => w.messages);
    expect(new Set(outcomes.map((m) => m.messageId))).toEqual(new Set(ids));
    expect(outcomes.every((m) => m.status === "complete" && m.records.accepted === 1)).toBe(true);
    // A burst of 10,000 through one poller takes minutes on a loaded 2-core machine.
  }, 300_000);

  it("bad messages go to the intake DLQ at once with code, path and message; the rest of the batch goes on", async () => {
    const good = [0, 1, 2].map((i) => ({ v: 1, objectType: "persons", records: [person(i)] }));
    const bad = [
      ["{not json", "invalid_json", undefined],
      [{ v: 1, objectType: "leads", records: [person(9)] }, "unknown_object_type", "objectType"],
      [{ v: 1, objectType: "persons", records: [person(9), "x"] }, "schema_violation", "records.1"],
      [
        { v: 1, objectType: "persons", options: { priority: "urgent" }, records: [person(9)] },
        "invalid_options",
        "options",
      ],
      [
        { v: 1, objectType: "persons", records: [person(8), { ...person(9), notes: "a".repeat(999_500) }] },
        "record_too_large",
        "records.1",
      ],
    ] as const;
    const sentIds = await send([good[0], ...bad.map(([body]) => body), good[1], good[2]]);
    const result = await runIntake();

    expect(result.intakeEventSource.invocations).toBe(1);
    expect(result.summary).toMatchObject({ rowsRead: 3, accepted: 3 });
    expect(
      h()
        .sim.persons()
        .map((p) => p.fields.email)
        .sort(),
    ).toEqual([0, 1, 2].map((i) => person(i).email));
    const dead = await drain(h().aws.intakeDlqUrl);
    expect(dead).toHaveLength(bad.length);
    for (const [body, code, path] of bad) {
      const text = typeof body === "string" ? body : JSON.stringify(body);
      const message = dead.find((m) => m.Body === text);
      expect(message, code).toBeDefined();
      expect(attributes(message as Message)).toMatchObject({ code, attempts: "1", ...(path ? { path } : {}) });
      expect(attributes(message as Message).message?.length).toBeGreaterThan(0);
    }
    // Never retried: each bad message was received once and is not on the intake queue any more.
    expect(result.intakeEventSource.messagesReturned).toBe(0);
    expect(result.windows.flatMap((w) => w.messages.map((m) => m.messageId)).sort()).toEqual(
      [sentIds[0], sentIds[6], sentIds[7]].sort(),
    );
  });

  it("a record breaking a row rule is rejected with its reason, as in files; its message's other records arrive", async () => {
    const [ids] = [
      await send([
        { v: 1, objectType: "programmembers", records: [{ programId: 7, leadId: 1, status: "Member" }] },
        {
          v: 1,
          objectType: "programmembers",
          records: [
            { programId: 7, leadId: 2, status: "Member" },
            { programId: 7, status: "Member" },
          ],
        },
      ]),
    ];
    const result = await runIntake();

    expect(
      h()
        .sim.programMembers()
        .map((m) => m.key)
        .sort(),
    ).toEqual(["7:1", "7:2"]);
    const outcomes = result.windows.flatMap((w) => w.messages);
    expect(outcomes.find((m) => m.messageId === ids[0])).toMatchObject({
      status: "complete",
      records: { accepted: 1 },
    });
    const mixed = outcomes.find((m) => m.messageId === ids[1]);
    expect(mixed).toMatchObject({ status: "complete with failures", records: { accepted: 1, rejected: 1 } });
    expect(mixed?.issues).toEqual([{ record: 2, state: "rejected", reason: expect.stringMatching(/leadId/) }]);
  });

  it("a producer retry with the same id is not sent twice, in the same window or a later one", async () => {
    const first = { v: 1, id: "order-1", objectType: "persons", records: [person(1)] };
    const retry = { ...first, records: [{ ...person(1), firstName: "Retried" }] };
    const other = { v: 1, id: "order-2", objectType: "persons", records: [person(2)] };
    const [firstId, retryId] = await send([first, retry, other]);
    await runIntake();
    const [laterRetryId] = await send([retry]);
    const later = await runIntake();

    expect(
      h()
        .sim.persons()
        .map((p) => [p.fields.email, p.fields.firstName, p.writes]),
    ).toEqual(
      expect.arrayContaining([
        ["p1@example.com", "P1", 1],
        ["p2@example.com", "P2", 1],
      ]),
    );
    expect(accepted().reduce((sum, r) => sum + r.objectCount, 0)).toBe(2);
    expect(later.windows).toEqual([]);
    expect([firstId, retryId, laterRetryId].every(Boolean)).toBe(true);
  });

  it("an SQS redelivery of a message already split (its first invocation timed out) is not sent twice", async () => {
    await send([{ v: 1, objectType: "persons", records: [person(5)] }]);
    const { Messages = [] } = await h().aws.sqs.send(
      new ReceiveMessageCommand({ QueueUrl: h().aws.intakeQueueUrl, MaxNumberOfMessages: 10 }),
    );
    expect(Messages).toHaveLength(1);
    const message = Messages[0] as Message;
    const event: SQSEvent = {
      Records: [
        {
          messageId: message.MessageId as string,
          receiptHandle: message.ReceiptHandle as string,
          body: message.Body as string,
          attributes: {
            ApproximateReceiveCount: "1",
            SentTimestamp: "0",
            SenderId: "local",
            ApproximateFirstReceiveTimestamp: "0",
          },
          messageAttributes: {},
          md5OfBody: "",
          eventSource: "aws:sqs",
          eventSourceARN: "arn:aws:sqs:us-east-1:000000000000:marketo-ingest-intake",
          awsRegion: "us-east-1",
        },
      ],
    };
    // The first invocation does its work, but the message is not deleted (as when Lambda timed out after it).
    const intake = createIntakeHandler({
      ...localSplitterEnv(h().aws),
      INTAKE_QUEUE_URL: h().aws.intakeQueueUrl,
      INTAKE_DLQ_URL: h().aws.intakeDlqUrl,
    });
    await intake(event, lambdaContext("intake"));
    await h().aws.sqs.send(
      new ChangeMessageVisibilityCommand({
        QueueUrl: h().aws.intakeQueueUrl,
        ReceiptHandle: message.ReceiptHandle,
        VisibilityTimeout: 0,
      }),
    );
    const redelivered = await runIntake();

    expect(redelivered.intakeEventSource.messagesReceived).toBe(1);
    expect(redelivered.windows).toEqual([]);
    expect(h().sim.persons()).toEqual([expect.objectContaining({ writes: 1 })]);
    expect(accepted()).toHaveLength(1);
  });

  it("every object type a file can name, each with its options, in one window", async () => {
    await send([
      { v: 1, objectType: "persons", options: { priority: "high" }, records: [person(1)] },
      { v: 1, objectType: "customobjects/car_c", options: { priority: "high" }, records: [{ vin: "V1", year: 1999 }] },
      { v: 1, objectType: "companies", records: [{ externalCompanyId: "ext-1", company: "Acme" }] },
      {
        v: 1,
        objectType: "programmembers",
        records: [
          { programId: 7, leadId: 1, status: "Member" },
          { programId: 8, leadId: 1, status: "Member" },
        ],
      },
      { v: 1, objectType: "lists", options: { listId: 501 }, records: [{ leadId: 1 }, { leadId: 2 }] },
    ]);
    const adds = await runIntake();
    await send([
      { v: 1, objectType: "programmembers/delete", records: [{ programId: 8, leadId: 1 }] },
      { v: 1, objectType: "lists/remove", options: { listId: 501 }, records: [{ leadId: 2 }] },
    ]);
    const removals = await runIntake();

    expect(adds.windows.map((w) => w.window.objectType).sort()).toEqual(
      ["companies", "customobjects/car_c", "lists", "persons", "programmembers"].sort(),
    );
    expect(removals.windows.map((w) => w.window.objectType).sort()).toEqual(["lists/remove", "programmembers/delete"]);
    for (const window of [...adds.windows, ...removals.windows]) expect(window.summary.status).toBe("complete");
    expect(accepted().find((r) => r.endpoint === "persons")).toBeDefined();
    expect(
      h()
        .sim.customObjects("car_c")
        .map((c) => c.fields),
    ).toEqual([{ vin: "V1", year: 1999 }]);
    expect(h().sim.companies()).toHaveLength(1);
    expect(
      h()
        .sim.programMembers()
        .map((m) => m.key),
    ).toEqual(["7:1"]);
    expect(
      h()
        .sim.listMembers()
        .map((m) => m.key),
    ).toEqual(["501:1"]);
  });

  it("an S3 pointer is split like a dropped file; a pointer to nothing is dead-lettered", async () => {
    const bucket = "producer-payloads";
    await h()
      .aws.s3.send(new CreateBucketCommand({ Bucket: bucket }))
      .catch(() => undefined);
    const rows = samplePersons(2_500, 21);
    const put = await h().aws.s3.send(
      new PutObjectCommand({ Bucket: bucket, Key: "exports/big.csv", Body: toCsv(rows) }),
    );
    await send([
      { v: 1, objectType: "persons", options: { priority: "high" }, s3: { bucket, key: "exports/big.csv" } },
      { v: 1, objectType: "persons", s3: { bucket, key: "exports/missing.csv" } },
    ]);
    await runIntake();

    expect(h().sim.persons()).toHaveLength(2_500);
    const file = fileRefFor({ bucket, key: "exports/big.csv", eTag: (put.ETag ?? "").replace(/"/g, "") });
    const reports = new S3ReportStore(h().aws.s3, h().aws.workBucket);
    const manifest = await reports.getManifest(file);
    expect(manifest?.options).toMatchObject({ priority: "high" });
    expect(summarizeReport(manifest, await reports.listBatchOutcomes(file))).toMatchObject({
      status: "complete",
      accepted: 2_500,
    });
    const dead = await drain(h().aws.intakeDlqUrl);
    expect(dead.map(attributes)).toEqual([expect.objectContaining({ code: "s3_object_not_found", path: "s3" })]);
  });

  it("the intake function has the splitter's file guards and metrics: a pointed object over MAX_FILE_BYTES is rejected whole", async () => {
    const documents: EmfDocument[] = [];
    setMetricsSink((emf) => documents.push(emf));
    const bucket = "producer-payloads";
    await h()
      .aws.s3.send(new CreateBucketCommand({ Bucket: bucket }))
      .catch(() => undefined);
    const put = await h().aws.s3.send(
      new PutObjectCommand({ Bucket: bucket, Key: "exports/too-big.csv", Body: toCsv(samplePersons(100, 5)) }),
    );
    await send([
      { v: 1, objectType: "persons", s3: { bucket, key: "exports/too-big.csv" } },
      { v: 1, objectType: "persons", records: [person(1), person(2), { firstName: "NoEmail" }] },
    ]);
    await runIntake({ intakeEnv: { MAX_FILE_BYTES: "2048" } });

    const reports = new S3ReportStore(h().aws.s3, h().aws.workBucket);
    const pointed = await reports.getManifest(
      fileRefFor({ bucket, key: "exports/too-big.csv", eTag: (put.ETag ?? "").replace(/"/g, "") }),
    );
    expect(pointed).toMatchObject({ status: "rejected", rowsQueued: 0, error: { code: "FILE_TOO_LARGE" } });
    // The window of inline records is far under the limit: sent, its row-rule rejection counted.
    expect(
      h()
        .sim.persons()
        .map((p) => p.fields.email)
        .sort(),
    ).toEqual(["p1@example.com", "p2@example.com"]);
    // A metric added twice in one invocation (two splits) is one document with an array of values.
    const intakeTotal = (name: string) =>
      (documents as unknown as Array<Record<string, unknown>>)
        .filter((doc) => doc.service === "marketo-ingest-intake")
        .flatMap((doc) => [doc[name] ?? []].flat() as number[])
        .reduce((sum, value) => sum + value, 0);
    expect([intakeTotal("RowsRead"), intakeTotal("RowsQueued"), intakeTotal("RowsRejected")]).toEqual([3, 2, 1]);
  });

  it("SNS notifications (no raw delivery) and EventBridge events are unwrapped", async () => {
    const inner = (i: number) => ({ v: 1, objectType: "persons", records: [person(i)] });
    await send([
      {
        Type: "Notification",
        MessageId: "n1",
        TopicArn: "arn:aws:sns:us-east-1:1:t",
        Message: JSON.stringify(inner(1)),
      },
      { version: "0", id: "e1", "detail-type": "records", source: "shop", detail: inner(2) },
    ]);
    const result = await runIntake();

    expect(result.summary).toMatchObject({ accepted: 2 });
    expect(
      h()
        .sim.persons()
        .map((p) => p.fields.email)
        .sort(),
    ).toEqual(["p1@example.com", "p2@example.com"]);
  });

  it("a Marketo 400 on a packed request: that request's producer messages end failed with the code, the others accepted", async () => {
    h().sim.injectFault({ kind: "status", status: 400, errorCode: "4000802", message: "Invalid data", times: 1 });
    const ids = await send(
      Array.from({ length: 1_500 }, (_, i) => ({ v: 1, objectType: "persons", records: [person(i)] })),
    );
    const result = await runIntake({ intakeEventSource: { batchingWindowMs: 1_000, maxConcurrency: 1 } });

    expect(h().sim.requests.filter((r) => r.status === 400)).toHaveLength(1);
    // The refused request held whatever the accepted ones did not (one window: 1,000 + 500).
    const failedCount = 1_500 - accepted().reduce((sum, r) => sum + r.objectCount, 0);
    expect([500, 1_000]).toContain(failedCount);
    const outcomes = result.windows.flatMap((w) => w.messages);
    expect(new Set(outcomes.map((m) => m.messageId))).toEqual(new Set(ids));
    const failed = outcomes.filter((m) => m.records.failed === 1);
    expect(failed).toHaveLength(failedCount);
    for (const message of failed) {
      expect(message.status).toBe("complete with failures");
      expect(message.issues[0]?.reason).toMatch(/4000802/);
    }
    expect(outcomes.filter((m) => m.status === "complete")).toHaveLength(1_500 - failedCount);
    expect(h().sim.persons()).toHaveLength(1_500 - failedCount);
  });
});
