import { GetObjectCommand } from "@aws-sdk/client-s3";
import { parse } from "csv-parse/sync";
import { expect } from "vitest";
import type { LocalRunResult } from "../../local/run-pipeline-locally.ts";
import type { Harness } from "./harness.ts";

/**
 * The promise of the pipeline, asserted on one run: the file's report is final and every row read is accepted,
 * rejected, failed or dead-lettered (none pending), and report.json says the same as the parts it was built from.
 */
export function expectEveryRowAccountedFor(result: LocalRunResult): void {
  const { summary, report } = result;
  expect(summary.pending).toBe(0);
  expect(summary.status).not.toBe("running");
  expect(summary.accepted + summary.rejected + summary.failed + summary.deadLettered).toBe(summary.rowsRead);
  expect(report).toMatchObject({
    status: summary.status,
    rowsRead: summary.rowsRead,
    accepted: summary.accepted,
    rejected: summary.rejected,
    failed: summary.failed,
    deadLettered: summary.deadLettered,
    pending: 0,
  });
}

/** Every person the simulator holds was written by exactly one accepted request, and they are `emails`. */
export function expectPersonsWrittenOnce(h: Harness, emails: Iterable<string>): void {
  const expected = new Set([...emails].map((email) => email.toLowerCase()));
  const stored = h.sim.persons();
  const storedEmails = stored.map((person) => String(person.fields.email).toLowerCase());
  expect(new Set(storedEmails)).toEqual(expected);
  expect(storedEmails).toHaveLength(expected.size);
  const twice = stored.filter((person) => person.writes !== 1);
  expect(twice.map((person) => `${String(person.fields.email)} written ${person.writes}×`)).toEqual([]);
}

/** The rows-with-issues CSV the report points at, parsed into records (header → value). */
export async function readIssueRows(h: Harness, result: LocalRunResult): Promise<Array<Record<string, string>>> {
  const key = result.report?.rowsWithIssues?.key;
  if (!key) return [];
  const object = await h.aws.s3.send(new GetObjectCommand({ Bucket: h.aws.workBucket, Key: key }));
  const text = (await object.Body?.transformToString("utf8")) ?? "";
  return parse(text, { columns: true }) as Array<Record<string, string>>;
}
