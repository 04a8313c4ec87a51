import { describe, expect, it } from "vitest";
import { WindowFinishedDetailSchema } from "../../../shared/contracts/intake-window-event.ts";
import type { FileReport } from "../../../shared/report/build-file-report.ts";
import type { IntakeWindowListing } from "../../../shared/report/intake-outcomes.ts";
import { WINDOW_EVENT_DETAIL_MAX_BYTES, windowFinishedDetail } from "../../../shared/report/window-event.ts";

const report = (over: Partial<FileReport>): FileReport =>
  ({
    v: 1,
    file: { bucket: "work", key: "intake/2026-12-02/req-1/1-persons.ndjson" },
    objectType: "persons",
    mode: "ingestion",
    status: "complete with failures",
    rowsRead: 0,
    accepted: 0,
    rejected: 0,
    failed: 0,
    deadLettered: 0,
    warned: 0,
    pending: 0,
    requests: 0,
    requestIds: [],
    batches: { total: 0, final: 0 },
    rejections: [],
    failures: [],
    timings: {
      splitStartedAt: "2026-12-02T01:00:00.000Z",
      splitFinishedAt: "2026-12-02T01:00:01.000Z",
      reportedAt: "2026-12-02T01:00:09.000Z",
      elapsedMs: 9_000,
    },
    ...over,
  }) as FileReport;
const REPORT_KEY = "reports/intake/2026-12-02/req-1/1-persons.ndjson/e1/report.json";

describe("a finished window's event detail", () => {
  it("names each message by its producer id, else its SQS message id, under each state its records reached", () => {
    const listing: IntakeWindowListing = {
      windowId: "req-1",
      messages: [
        { messageId: "sqs-1", id: "order-1", outcome: "accepted", records: { accepted: 2 } },
        { messageId: "sqs-2", outcome: "mixed", records: { accepted: 1, rejected: 1, failed: 1 } },
        { messageId: "sqs-3", id: "order-3", outcome: "dead-lettered", records: { "dead-lettered": 1 } },
      ],
    };
    const detail = windowFinishedDetail(
      report({ rowsRead: 6, accepted: 3, rejected: 1, failed: 1, deadLettered: 1 }),
      listing,
      "work",
      REPORT_KEY,
    );
    expect(WindowFinishedDetailSchema.parse(detail)).toMatchObject({
      messages: 3,
      records: { read: 6, accepted: 3, rejected: 1, failed: 1, deadLettered: 1 },
      failedMessageIds: ["sqs-2"],
      rejectedMessageIds: ["sqs-2"],
      deadLetteredMessageIds: ["order-3"],
      messageIdsTruncated: false,
      reportKey: REPORT_KEY,
      finishedAt: "2026-12-02T01:00:09.000Z",
    });
  });

  it("10,000 failed messages with 256-character ids: lists cut to fit EventBridge's entry size, and says so", () => {
    const messages = Array.from({ length: 10_000 }, (_, i) => ({
      messageId: `sqs-${i}`,
      id: `${i}-`.padEnd(256, "x"),
      outcome: "failed" as const,
      records: { failed: 1 },
    }));
    const detail = windowFinishedDetail(
      report({ rowsRead: 10_000, failed: 10_000 }),
      { windowId: "w", messages },
      "work",
      REPORT_KEY,
    );
    expect(Buffer.byteLength(JSON.stringify(detail))).toBeLessThanOrEqual(WINDOW_EVENT_DETAIL_MAX_BYTES);
    expect(detail.messageIdsTruncated).toBe(true);
    expect(detail.failedMessageIds.length).toBeGreaterThan(900);
    expect(detail.failedMessageIds).toEqual(messages.slice(0, detail.failedMessageIds.length).map((m) => m.id));
    expect(detail.records.failed).toBe(10_000);
  });

  it("is never built for a window still running", () => {
    expect(() =>
      windowFinishedDetail(report({ status: "running" }), { windowId: "w", messages: [] }, "work", REPORT_KEY),
    ).toThrow(/final/);
  });
});
