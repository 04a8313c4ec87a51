import { describe, expect, it } from "vitest";
import {
  MAX_REJECTION_GROUPS,
  OTHER_REASONS,
  REJECTED_ROWS_IN_MANIFEST,
  RejectionRecorder,
} from "../../../functions/splitter/rejected-rows.ts";
import { RejectedRowSchema } from "../../../shared/report/file-report.ts";

const rejection = (row: number, reason = "email is required: it is a dedupe field (email)", field = "email") => ({
  kind: "rejection" as const,
  row,
  line: row + 1,
  field,
  reason,
});

describe("rejected rows of a split", () => {
  it("go to NDJSON parts as they fill, every row once and in order; memory keeps the count, groups and the first few", async () => {
    const parts: string[] = [];
    const recorder = new RejectionRecorder(async (index, ndjson) => void (parts[index] = ndjson), 10_000);
    for (let row = 1; row <= 5_000; row++) await recorder.add(rejection(row));
    const summary = await recorder.finish();

    expect(summary.rejected).toBe(5_000);
    expect(summary.rejections).toHaveLength(REJECTED_ROWS_IN_MANIFEST);
    expect(summary.rejections[0]).toEqual(rejection(1));
    expect(summary.rejectionGroups).toEqual([
      { reason: "email is required: it is a dedupe field (email)", field: "email", rows: 5_000 },
    ]);
    expect(summary.rejectedRowParts).toBe(parts.length);
    expect(parts.length).toBeGreaterThan(1);
    for (const part of parts) expect(Buffer.byteLength(part)).toBeLessThan(10_000 + 200);
    const rows = parts.flatMap((part) =>
      part
        .split("\n")
        .filter(Boolean)
        .map((line) => RejectedRowSchema.parse(JSON.parse(line))),
    );
    expect(rows.map((row) => row.row)).toEqual(Array.from({ length: 5_000 }, (_, i) => i + 1));
    expect(rows[41]).toEqual({
      row: 42,
      line: 43,
      field: "email",
      reason: "email is required: it is a dedupe field (email)",
    });
  });

  it("groups at most MAX_REJECTION_GROUPS distinct reasons; the rest count under one group", async () => {
    const recorder = new RejectionRecorder();
    const distinct = MAX_REJECTION_GROUPS + 50;
    for (let row = 1; row <= distinct; row++) await recorder.add(rejection(row, `row is ${row} bytes too large`, ""));
    await recorder.add(rejection(distinct + 1, "row is 1 bytes too large", ""));
    const summary = await recorder.finish();
    expect(summary.rejectionGroups).toHaveLength(MAX_REJECTION_GROUPS + 1);
    expect(summary.rejectionGroups[0]).toEqual({ reason: "row is 1 bytes too large", rows: 2 });
    expect(summary.rejectionGroups.at(-1)).toEqual({ reason: OTHER_REASONS, rows: 50 });
    expect(summary.rejectionGroups.reduce((sum, group) => sum + group.rows, 0)).toBe(distinct + 1);
  });

  it("without a store (the dry pass) only counts", async () => {
    const recorder = new RejectionRecorder();
    for (let row = 1; row <= 300; row++) await recorder.add(rejection(row));
    expect(await recorder.finish()).toMatchObject({ rejected: 300, rejectedRowParts: 0 });
  });
});
