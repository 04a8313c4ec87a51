import { GetObjectCommand } from "@aws-sdk/client-s3";
import { describe, expect, it } from "vitest";
import { lookUpIntakeMessage } from "../../cli/intake-status.ts";
import type { IntakeRunOptions } from "../../local/run-intake-locally.ts";
import {
  WINDOW_EVENT_DETAIL_TYPE,
  WINDOW_EVENT_SOURCE,
  WindowFinishedDetailSchema,
} from "../../shared/contracts/intake-window-event.ts";
import type { FileReport } from "../../shared/report/build-file-report.ts";
import { useHarness } from "./harness.ts";

const h = useHarness();
const BUS = "producers";

const send = (messages: unknown[]) => h().sendToIntake(messages);
const runIntake = (extra: Partial<IntakeRunOptions> = {}) => h().runIntake(extra);
const windowEvents = () =>
  h()
    .aws.events.events()
    .filter((e) => e.bus === BUS);
const person = (i: number) => ({ email: `w${i}@example.com`, firstName: `W${i}` });
async function readReport(key: string): Promise<FileReport> {
  const object = await h().aws.s3.send(new GetObjectCommand({ Bucket: h().aws.workBucket, Key: key }));
  return JSON.parse((await object.Body?.transformToString()) ?? "") as FileReport;
}

describe("intake windows announced on the window event bus, listed in their report", () => {
  it("one event per finished window: counts, failed and rejected message ids and the report key agree with report.json and status --message", async () => {
    h().aws.events.createEventBus(BUS);
    const before = windowEvents().length;
    // Requests of 3 objects: the 6 valid records make 2 requests, and Marketo refuses one of them (400).
    h().sim.injectFault({ kind: "status", status: 400, errorCode: "4000802", message: "Invalid data", times: 1 });
    // The bus fails the first two tries of the entry (retryable): the report writer retries it.
    h().aws.events.failNextEntries(2, "ThrottlingException");
    const withIds = Array.from({ length: 6 }, (_, i) => ({
      v: 1,
      id: `order-${i}`,
      objectType: "persons",
      records: [person(i)],
    }));
    const [, , , , , , noEmailSqsId] = await send([
      ...withIds,
      { v: 1, objectType: "persons", records: [{ firstName: "NoEmail" }] },
    ]);
    const result = await runIntake({
      intakeEnv: { MAX_REQUEST_OBJECTS: "3" },
      reportEnv: { WINDOW_EVENT_BUS: BUS, WINDOW_EVENT_RETRY_BASE_MS: "10" },
    });

    expect(result.windows).toHaveLength(1);
    const events = windowEvents().slice(before);
    expect(events).toHaveLength(1);
    const event = events[0];
    expect(event).toMatchObject({ source: WINDOW_EVENT_SOURCE, detailType: WINDOW_EVENT_DETAIL_TYPE });
    const detail = WindowFinishedDetailSchema.parse(event?.detail);

    // Which messages failed, told by Marketo's side: the records it never stored.
    const stored = new Set(
      h()
        .sim.persons()
        .map((p) => p.fields.email),
    );
    const failedIds = withIds.filter((m) => !stored.has(m.records[0]?.email)).map((m) => m.id);
    expect(failedIds).toHaveLength(3);
    expect(detail).toMatchObject({
      status: "complete with failures",
      windowKey: result.windows[0]?.key,
      objectType: "persons",
      bucket: h().aws.workBucket,
      messages: 7,
      records: { read: 7, accepted: 3, rejected: 1, failed: 3, deadLettered: 0 },
      rejectedMessageIds: [noEmailSqsId],
      deadLetteredMessageIds: [],
      messageIdsTruncated: false,
    });
    expect([...detail.failedMessageIds].sort()).toEqual(failedIds.sort());

    // report.json (where the event points) lists every message it holds with its outcome.
    const report = await readReport(detail.reportKey);
    expect(report).toMatchObject({ status: detail.status, failed: 3, rejected: 1, accepted: 3 });
    const listed = new Map((report.intake?.messages ?? []).map((m) => [m.id ?? m.messageId, m]));
    expect([...listed.keys()].sort()).toEqual([...withIds.map((m) => m.id), noEmailSqsId].sort());
    for (const { id } of withIds) {
      const outcome = failedIds.includes(id) ? "failed" : "accepted";
      expect(listed.get(id)).toMatchObject({ outcome, records: { [outcome]: 1 } });
    }
    expect(listed.get(noEmailSqsId as string)).toMatchObject({ outcome: "rejected", records: { rejected: 1 } });

    // status ID --message says the same of each message.
    for (const name of [...withIds.map((m) => m.id), noEmailSqsId as string]) {
      const found = await lookUpIntakeMessage(h().aws.s3, h().aws.workBucket, name);
      expect(found.found).toBe("window");
      if (found.found !== "window") continue;
      const state = listed.get(name)?.outcome as "accepted" | "failed" | "rejected";
      expect(found.outcome.records[state]).toBe(1);
      expect(found.windowKey).toBe(detail.windowKey);
    }
  });

  it("a window whose rejected records outnumber those a manifest keeps inline still lists every one as rejected", async () => {
    h().aws.events.createEventBus(BUS);
    const before = windowEvents().length;
    const messages = Array.from({ length: 150 }, (_, i) => ({
      v: 1,
      id: `bad-${i}`,
      objectType: "persons",
      records: [{ firstName: `NoEmail${i}` }],
    }));
    await send([...messages, { v: 1, id: "good-0", objectType: "persons", records: [person(0)] }]);
    // One poller: the window closes on size or an empty queue, so it holds all 151 (each window gets its event).
    const result = await runIntake({
      intakeEventSource: { batchingWindowMs: 1_000, maxConcurrency: 1 },
      reportEnv: { WINDOW_EVENT_BUS: BUS },
    });

    const details = windowEvents()
      .slice(before)
      .map((e) => WindowFinishedDetailSchema.parse(e.detail));
    expect(details.map((d) => d.windowKey).sort()).toEqual(result.windows.map((w) => w.key).sort());
    const sum = (pick: (d: (typeof details)[number]) => number) => details.reduce((n, d) => n + pick(d), 0);
    expect([sum((d) => d.records.read), sum((d) => d.records.rejected), sum((d) => d.records.accepted)]).toEqual([
      151, 150, 1,
    ]);
    expect(details.flatMap((d) => d.rejectedMessageIds).sort()).toEqual(messages.map((m) => m.id).sort());
    // The case under test: a window rejecting more records than its manifest lists inline (100).
    expect(Math.max(...details.map((d) => d.records.rejected))).toBeGreaterThan(100);
    const listed = [];
    for (const detail of details) listed.push(...((await readReport(detail.reportKey)).intake?.messages ?? []));
    const outcomes = listed.map((m) => m.outcome);
    expect(outcomes.filter((o) => o === "rejected")).toHaveLength(150);
    expect(outcomes.filter((o) => o === "accepted")).toHaveLength(1);
    const last = await lookUpIntakeMessage(h().aws.s3, h().aws.workBucket, "bad-149");
    expect(last).toMatchObject({ found: "window", outcome: { records: { rejected: 1, pending: 0 } } });
  });

  it("without a window event bus configured, windows still get their listing and no event is put anywhere", async () => {
    const before = h().aws.events.events().length;
    const [sqsId] = await send([{ v: 1, objectType: "persons", records: [person(1)] }]);
    const result = await runIntake();

    expect(h().aws.events.events().length).toBe(before);
    expect(result.windows[0]?.report?.intake?.messages).toEqual([
      { messageId: sqsId, outcome: "accepted", records: { accepted: 1 } },
    ]);
  });
});
