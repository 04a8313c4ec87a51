import { describe, expect, it } from "vitest";
import { samplePersons, toCsv } from "../../scripts/make-sample-persons.ts";
import { expectEveryRowAccountedFor, readIssueRows } from "./accounting.ts";
import { useHarness } from "./harness.ts";

const h = useHarness();

describe("the file report", () => {
  it("counts every row, and lists rejected and failed rows with their original columns, row number and reason", async () => {
    const rows = samplePersons(151, 21); // 150 valid rows: three requests of 50, whichever fails
    rows[4] = { ...rows[4], email: "" } as Record<string, string>; // row 5: no email → rejected
    const csv = `${toCsv(rows)}ragged@example.com\r\n`; // row 152: one field only → rejected by the parser
    // The second request Marketo receives is refused as invalid data: its 50 rows fail with Marketo's reason.
    h().sim.injectFault({ kind: "status", status: 400, errorCode: "4000802", message: "Invalid data", after: 1 });
    const result = await h().run("persons/report.csv", csv, { splitterEnv: { MAX_REQUEST_OBJECTS: "50" } });

    expectEveryRowAccountedFor(result);
    const failedBatch = result.outcomes.find((o) => o.status === "failed");
    expect(failedBatch?.rowCount).toBe(50);
    expect(result.report).toMatchObject({
      status: "complete with failures",
      rowsRead: 152,
      rejected: 2,
      failed: 50,
      accepted: 100,
      batches: { total: 3, final: 3 },
      failures: [{ outcome: "failed", code: "4000802", message: "Invalid data", rows: 50 }],
      rowsWithIssues: { key: `${result.file.reportPrefix}rows-with-issues.csv`, rows: 52 },
    });
    expect(result.report?.requestIds).toHaveLength(2);
    expect(result.report?.timings.lastBatchFinishedAt).toBeTruthy();

    const issues = await readIssueRows(h(), result);
    expect(issues).toHaveLength(52);
    const byRow = new Map(issues.map((issue) => [Number(issue.row), issue]));
    expect(byRow.get(5)).toMatchObject({ outcome: "rejected", field: "email", email: "", lastName: rows[4]?.lastName });
    expect(byRow.get(152)).toMatchObject({ outcome: "rejected", reason: "row has 1 fields but the header has 9" });
    const failedRows = (failedBatch?.rows ?? []).flatMap(([from, to]) =>
      Array.from({ length: to - from + 1 }, (_, i) => from + i),
    );
    expect(failedRows).toHaveLength(50);
    for (const row of failedRows) {
      expect(byRow.get(row)).toMatchObject({
        outcome: "failed",
        code: "4000802",
        reason: "Invalid data",
        email: rows[row - 1]?.email,
        notes: rows[row - 1]?.notes ?? "",
      });
    }
  });

  it("streams rejected rows to parts: the manifest keeps counts, groups and the first rows; the CSV lists them all", async () => {
    const rows = samplePersons(2_000, 31).map((row, i) => (i % 4 === 3 ? row : { ...row, email: "" }));
    const rejected = rows.flatMap((row, i) => (row.email === "" ? [i + 1] : []));
    const result = await h().run("persons/mostly-rejected.csv", toCsv(rows));

    expectEveryRowAccountedFor(result);
    const reason = "email is required: it is a dedupe field (email)";
    expect(result.manifest).toMatchObject({
      rowsRead: 2_000,
      rowsQueued: 500,
      rejectedRowCount: 1_500,
      rejectedRowParts: 1,
      rejectionGroups: [{ field: "email", reason, rows: 1_500 }],
    });
    expect(result.manifest?.rejectedRows).toHaveLength(100);
    // Sample notes span lines: the line is the file's own, past the row number.
    expect(result.manifest?.rejectedRows[99]).toMatchObject({ row: rejected[99], field: "email", reason });
    expect(result.report).toMatchObject({
      status: "complete with failures",
      accepted: 500,
      rejected: 1_500,
      rejections: [{ field: "email", reason, rows: 1_500 }],
      rowsWithIssues: { rows: 1_500 },
    });

    const issues = await readIssueRows(h(), result);
    expect(issues.map((issue) => Number(issue.row))).toEqual(rejected);
    for (const issue of issues) {
      expect(issue).toMatchObject({
        outcome: "rejected",
        field: "email",
        reason,
        lastName: rows[Number(issue.row) - 1]?.lastName,
      });
    }
  });
});
