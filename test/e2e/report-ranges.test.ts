import type { SQSRecord } from "aws-lambda";
import { describe, expect, it } from "vitest";
import { processReportMessages } from "../../functions/report-writer/process-report-messages.ts";
import { streamS3Object } from "../../shared/aws/s3-object-source.ts";
import { S3ReportStore } from "../../shared/aws/s3-report-store.ts";
import type { ReportMessage } from "../../shared/contracts/report-message.ts";
import { ROW_MARK_EVERY } from "../../shared/contracts/split-checkpoint.ts";
import { createLogger } from "../../shared/lambda/logger.ts";
import { systemClock } from "../../shared/time/clock.ts";
import { readIssueRows } from "./accounting.ts";
import { useHarness } from "./harness.ts";

const h = useHarness();

describe("rows-with-issues: the report writer reads only the stretches of the file it needs", () => {
  /** A 200,000-row persons file whose rows in `rejectedAt` have no email, and the line each row starts on. */
  const farApart = {
    csv: (rows: string[][]) => ({
      text: `email,notes,company\n${rows.map(([e, n, c]) => `${e},"${(n as string).replace(/"/g, '""')}",${c}`).join("\n")}\n`,
      lineOf: (row: number) => 2 * row,
    }),
    ndjson: (rows: string[][]) => ({
      text: `${rows.map(([email, notes, company]) => JSON.stringify({ email, notes, company })).join("\n")}\n`,
      lineOf: (row: number) => row,
    }),
    json: (rows: string[][]) => ({
      text: `[\n${rows.map(([email, notes, company]) => JSON.stringify({ email, notes, company })).join(",\n")}\n]\n`,
      lineOf: (row: number) => row + 1,
    }),
  };

  for (const format of ["csv", "ndjson", "json"] as const) {
    it(`copies rejected rows far apart from a 200,000-row ${format} file reading a small part of it, with ranged GETs`, async () => {
      const rejectedAt = new Set([5, 100_000, 199_990]);
      const rows = Array.from({ length: 200_000 }, (_, i) => {
        const row = i + 1;
        return [rejectedAt.has(row) ? "" : `p${row}@example.com`, `Zoë ${row}, "Q"\nsecond line`, `Acme ${row % 13}`];
      });
      const { text, lineOf } = farApart[format](rows);
      const result = await h().run(`persons/far-apart.${format}`, text);
      const issues = await readIssueRows(h(), result);
      expect(issues.map((issue) => [issue.row, issue.line, issue.email ?? "", issue.notes, issue.company])).toEqual(
        [...rejectedAt].map((row) => [
          String(row),
          String(lineOf(row)),
          "",
          `Zoë ${row}, "Q"\nsecond line`,
          `Acme ${row % 13}`,
        ]),
      );

      // The same report again, counting the bytes the writer fetches from the dropped file.
      const { aws } = h();
      const reports = new S3ReportStore(aws.s3, aws.workBucket);
      let fetched = 0;
      const written: string[] = [];
      const message: ReportMessage = { v: 1, kind: "file-report", file: result.file, checks: 0 };
      await processReportMessages([{ messageId: "m", body: JSON.stringify(message) } as SQSRecord], {
        reports,
        rejectedRows: reports,
        readRowMarks: (file) => reports.getRowMarks(file),
        openSource: async function* (file, fromByte) {
          for await (const chunk of streamS3Object(aws.s3, file, fromByte)) {
            fetched += chunk.length;
            yield chunk;
          }
        },
        putIssueRows: async (file, chunks) => {
          for await (const chunk of chunks) written.push(chunk);
          return `${file.reportPrefix}rows-with-issues.csv`;
        },
        queue: { requeue: async () => {}, deadLetter: async () => {} },
        clock: systemClock,
        logger: createLogger("test"),
        policy: { recheckFirstSeconds: 1, recheckMaxSeconds: 1, giveUpAfterMs: 60_000 },
      });
      expect(written.join("").split("\r\n").length).toBe(issues.length + 2);
      // Two passes (columns, then lines), each over three stretches of at most ROW_MARK_EVERY rows (from the mark
      // before each row) and a chunk past each: under a quarter of this file, and the same for a file of any size.
      const size = Buffer.byteLength(text);
      const stretch = (ROW_MARK_EVERY / 200_000) * size + 64 * 1024;
      expect(fetched).toBeLessThanOrEqual(2 * 3 * stretch);
      expect(fetched).toBeLessThan(0.25 * size);
    }, 120_000);
  }

  it("reads the file under the reader limits the split used, not the defaults", async () => {
    // A 1.5-million-character field: over the default MAX_FIELD_CHARS, within this deployment's. Its row is too
    // large for any request, so it is rejected, and the report writer must read it back.
    const csv = `email,notes\na@example.com,short\nb@example.com,${"x".repeat(1_500_000)}\nc@example.com,short\n`;
    const result = await h().run("persons/long-field.csv", csv, {
      splitterEnv: { MAX_FIELD_CHARS: "2000000", MAX_LINE_CHARS: "3000000" },
    });
    expect(result.report).toMatchObject({ status: "complete with failures", rejected: 1, accepted: 2 });
    const issues = await readIssueRows(h(), result);
    expect(issues.map((issue) => [issue.row, issue.notes?.length])).toEqual([["2", 1_500_000]]);
  }, 60_000);
});
