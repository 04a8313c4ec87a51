import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import {
  WINDOW_EVENT_DETAIL_TYPE,
  WINDOW_EVENT_SOURCE,
  WindowFinishedDetailSchema,
} from "../../../shared/contracts/intake-window-event.ts";
import { WINDOW_EVENT_SCHEMA_PATH, windowEventSchemaText } from "../../../scripts/generate-intake-schema.ts";

const detail = {
  v: 1,
  windowKey: "intake/2026-12-02/req-1/1-persons.ndjson",
  windowId: "req-1",
  objectType: "persons",
  status: "complete with failures",
  bucket: "work",
  reportKey: "reports/intake/2026-12-02/req-1/1-persons.ndjson/etag/report.json",
  messages: 3,
  records: { read: 4, accepted: 2, rejected: 1, failed: 1, deadLettered: 0 },
  failedMessageIds: ["order-2"],
  rejectedMessageIds: ["5b0c3c9e-sqs-id"],
  deadLetteredMessageIds: [],
  messageIdsTruncated: false,
  finishedAt: "2026-12-02T01:00:00.000Z",
};

describe("intake window event contract", () => {
  it("the committed JSON Schema of the detail is the one generated from the zod schema (regenerate on change)", async () => {
    expect(readFileSync(WINDOW_EVENT_SCHEMA_PATH, "utf8")).toBe(await windowEventSchemaText());
  });

  it("is versioned in its detail-type and its detail, from its own source", () => {
    expect(WINDOW_EVENT_DETAIL_TYPE).toBe("Intake Window Finished v1");
    expect(WINDOW_EVENT_SOURCE).toBe("marketo-ingest.intake");
    expect(WindowFinishedDetailSchema.parse(detail)).toEqual(detail);
    expect(WindowFinishedDetailSchema.safeParse({ ...detail, v: 2 }).success).toBe(false);
  });

  it("never describes a window still running, and has no room for unknown fields", () => {
    expect(WindowFinishedDetailSchema.safeParse({ ...detail, status: "running" }).success).toBe(false);
    expect(WindowFinishedDetailSchema.safeParse({ ...detail, extra: 1 }).success).toBe(false);
  });
});
