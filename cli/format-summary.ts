import type { LocalRunResult } from "../local/run-pipeline-locally.ts";
import type { FileReport } from "../shared/report/build-file-report.ts";
import { rejectedCountOf } from "../shared/report/file-report.ts";

const n = (value: number): string => value.toLocaleString("en-US");

/** One line a person can read at a glance, and paste into a ticket. */
export function formatSummaryLine(result: LocalRunResult): string {
  const { summary } = result;
  const seconds = result.elapsedMs / 1000;
  const rate = seconds > 0 ? Math.round(summary.rowsRead / seconds) : summary.rowsRead;
  return [
    `rows read ${n(summary.rowsRead)}`,
    `requests ${n(summary.requests)}`,
    `accepted ${n(summary.accepted)}`,
    `rejected ${n(summary.rejected)}`,
    `failed ${n(summary.failed)}`,
    ...(summary.warned > 0 ? [`warned ${n(summary.warned)}`] : []),
    `dead-lettered ${n(summary.deadLettered)}`,
    `elapsed ${seconds.toFixed(1)} s`,
    `${n(rate)} rows/s`,
  ].join(" · ");
}

/** Details worth seeing when not everything was accepted: never row contents, only positions and reasons. */
export function formatProblems(result: LocalRunResult, limit = 10): string[] {
  const lines: string[] = [];
  const manifest = result.manifest;
  if (manifest?.error) {
    const what = manifest.status === "failed" ? "split failed" : "file rejected";
    lines.push(`${what}: ${manifest.error.code}: ${manifest.error.message}`);
  }
  for (const row of manifest?.rejectedRows.slice(0, limit) ?? []) {
    lines.push(`row ${row.row} (line ${row.line})${row.field ? ` field ${row.field}` : ""}: ${row.reason}`);
  }
  const rejected = manifest ? rejectedCountOf(manifest) : 0;
  if (rejected > limit) lines.push(`… ${rejected} rejected rows in all`);
  for (const outcome of result.outcomes.filter((o) => o.status !== "accepted").slice(0, limit)) {
    const rows = outcome.rows.map(([a, b]) => (a === b ? `${a}` : `${a}-${b}`)).join(",");
    lines.push(
      `batch ${outcome.index} (rows ${rows}) ${outcome.status}: ${outcome.failure?.status ?? ""} ${outcome.failure?.code} ${outcome.failure?.message}`,
    );
  }
  // Rows Marketo failed or warned about inside an import job, at their original row numbers.
  const issues = result.outcomes.flatMap((o) => [
    ...(o.rowFailures ?? []).map((issue) => ({ ...issue, kind: "failed" })),
    ...(o.rowWarnings ?? []).map((issue) => ({ ...issue, kind: "warning" })),
  ]);
  for (const issue of issues.slice(0, limit)) {
    lines.push(`row ${issue.row ?? "?"} ${issue.kind} in Marketo: ${issue.reason}`);
  }
  if (issues.length > limit) lines.push(`… ${issues.length} rows failed or warned in Marketo in all`);
  return lines;
}

/** A stored or live file report as a few lines: status, the identity, where the failures went, timings. */
export function formatReportLines(report: FileReport, source: "stored" | "live"): string[] {
  const version = report.file.versionId ? ` (version ${report.file.versionId})` : "";
  const lines = [
    `${report.file.key}${version}: ${report.status}${source === "live" ? " (live, from the batch outcomes)" : ""}`,
    `rows read ${n(report.rowsRead)} = accepted ${n(report.accepted)} + rejected ${n(report.rejected)} + failed ${n(report.failed)} + dead-lettered ${n(report.deadLettered)}${report.pending ? ` + pending ${n(report.pending)}` : ""}`,
    `batches ${n(report.batches.final)}/${n(report.batches.total)} final · requests ${n(report.requests)} · ${report.objectType} (${report.mode})`,
  ];
  if (report.error) {
    const what = report.status === "failed" ? "split failed" : "file rejected";
    lines.push(`${what}: ${report.error.code}: ${report.error.message}`);
  }
  if (report.fieldCheck?.result === "skipped") lines.push(`field check skipped: ${report.fieldCheck.reason}`);
  for (const rejection of report.rejections.slice(0, 10)) {
    lines.push(
      `  rejected ${n(rejection.rows)}${rejection.field ? ` (field ${rejection.field})` : ""}: ${rejection.reason}`,
    );
  }
  for (const failure of report.failures.slice(0, 10)) {
    lines.push(`  ${failure.outcome} ${n(failure.rows)}: ${failure.code} ${failure.message}`);
  }
  if (report.rowsWithIssues) {
    lines.push(`rows with issues: ${n(report.rowsWithIssues.rows)} in ${report.rowsWithIssues.key}`);
  }
  lines.push(`elapsed ${(report.timings.elapsedMs / 1000).toFixed(1)} s · reported ${report.timings.reportedAt}`);
  return lines;
}
