import type { FileRef } from "../contracts/batch-message.ts";
import { buildFileReport, type FileReport } from "./build-file-report.ts";
import type { ReportStore } from "../contracts/report-store.ts";
import type { SplitManifest } from "./file-report.ts";

export interface FileReportLookup {
  reports: Pick<ReportStore, "getManifest" | "getFileReport" | "listBatchOutcomes" | "lastOutcomeWrittenAt">;
  /** The report prefixes of every version of `key` dropped so far (`reports/{key}/{version}/`). */
  listReportPrefixes: (key: string) => Promise<string[]>;
  now: () => number;
}

export type FoundReport =
  /** `stored`: the report writer's final report.json; `live`: folded now from the manifest and batch outcomes. */
  | { found: "report"; report: FileReport; source: "stored" | "live"; versions: number }
  /** The splitter has claimed the file but not finished it yet. */
  | { found: "none"; versions: number };

/**
 * The report of the newest split of `key` (or of the version whose prefix ends in `version`). A final report.json
 * is returned as stored unless a batch ended after it (a DLQ redrive); otherwise the report is built from its
 * parts, so it is never stale.
 */
export async function findFileReport(
  key: string,
  version: string | undefined,
  deps: FileReportLookup,
): Promise<FoundReport> {
  const prefixes = (await deps.listReportPrefixes(key)).filter((prefix) => !version || prefix.endsWith(`/${version}/`));
  const manifests = (
    await Promise.all(prefixes.map((reportPrefix) => deps.reports.getManifest(refOf(key, reportPrefix))))
  ).filter((manifest): manifest is SplitManifest => manifest !== undefined);
  const newest = manifests.sort((a, b) => b.startedAt.localeCompare(a.startedAt))[0];
  if (!newest) return { found: "none", versions: prefixes.length };
  const stored = await deps.reports.getFileReport(newest.file);
  if (stored && stored.status !== "running") {
    // A batch redriven from the DLQ after the report was written ends later: then the stored report is stale.
    const lastWrite = await deps.reports.lastOutcomeWrittenAt(newest.file);
    if (lastWrite === undefined || lastWrite <= Date.parse(stored.timings.reportedAt)) {
      return { found: "report", report: stored, source: "stored", versions: prefixes.length };
    }
  }
  const outcomes = await deps.reports.listBatchOutcomes(newest.file);
  return {
    found: "report",
    report: buildFileReport(newest, outcomes, deps.now()),
    source: "live",
    versions: prefixes.length,
  };
}

// Only the prefix matters for reading a file's report objects.
const refOf = (key: string, reportPrefix: string): FileRef => ({ bucket: "-", key, reportPrefix });
