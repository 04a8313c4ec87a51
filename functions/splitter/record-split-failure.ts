import { isSidecarKey } from "./process-dropped-file.ts";
import { type DroppedFile, droppedFiles, fileRefFor } from "../../shared/contracts/s3-event.ts";
import type { SplitFailureRecord } from "../../shared/contracts/split-failure.ts";
import type { ReportStore } from "../../shared/contracts/report-store.ts";
import type { SplitManifest } from "../../shared/report/file-report.ts";
import type { Clock } from "../../shared/time/clock.ts";

/** The error code of a file whose split failed for good (the report's status is `failed`). */
export const SPLIT_FAILED = "SPLIT_FAILED";

export interface SplitFailureDeps {
  reports: ReportStore;
  clock: Clock;
  /** Tells the report writer the file's manifest exists (as after a split). */
  announce: (manifest: SplitManifest) => Promise<void>;
}

/** Lambda's error text can be long (a stack in the message); the report keeps its head. */
const MAX_ERROR_CHARS = 500;

/**
 * Consumer of the splitter's failures: every data file the failed event announced gets a `failed` manifest, and the
 * report writer is told, so its report says the split failed and why instead of "running" for ever. A file that
 * has a manifest after all (the split finished, then the invocation died) keeps it and is announced again.
 */
export async function recordSplitFailure(record: SplitFailureRecord, deps: SplitFailureDeps): Promise<SplitManifest[]> {
  const written: SplitManifest[] = [];
  for (const dropped of droppedFiles(record.requestPayload)) {
    if (isSidecarKey(dropped.key)) continue;
    const startedAt = record.timestamp && !Number.isNaN(Date.parse(record.timestamp)) ? record.timestamp : undefined;
    const manifest = await recordFailedSplit(dropped, describeFailure(record), startedAt, deps);
    if (manifest) written.push(manifest);
  }
  return written;
}

/**
 * Gives one file a `failed` manifest and announces it (a file that has a manifest after all keeps it and is
 * announced again). Returns the manifest written, if one was. `objectType`: what an intake message named (a
 * dropped file's comes from its key prefix).
 */
export async function recordFailedSplit(
  dropped: DroppedFile,
  message: string,
  startedAt: string | undefined,
  deps: SplitFailureDeps,
  objectType?: string,
): Promise<SplitManifest | undefined> {
  const file = fileRefFor(dropped);
  const existing = await deps.reports.getManifest(file);
  if (existing) {
    await deps.announce(existing);
    return undefined;
  }
  const now = new Date(deps.clock.now()).toISOString();
  const manifest: SplitManifest = {
    v: 1,
    file,
    objectType: objectType ?? dropped.key.split("/")[0] ?? "",
    status: "failed",
    rowsRead: 0,
    rowsQueued: 0,
    batches: 0,
    rejectedRows: [],
    error: { code: SPLIT_FAILED, message },
    startedAt: startedAt ?? now,
    finishedAt: now,
  };
  await deps.reports.putManifest(file, manifest);
  await deps.announce(manifest);
  return manifest;
}

function describeFailure(record: SplitFailureRecord): string {
  const { condition, approximateInvokeCount } = record.requestContext;
  const attempts = approximateInvokeCount !== undefined ? ` after ${approximateInvokeCount} attempts` : "";
  const error = record.responsePayload;
  const cause = [error?.errorType, error?.errorMessage].filter(Boolean).join(": ") || "no error reported";
  const text = `the split failed for good (${condition}${attempts}): ${cause}. Batches it queued before failing are still sent and counted; drop the file again to split it anew`;
  return text.length > MAX_ERROR_CHARS + 200 ? `${text.slice(0, MAX_ERROR_CHARS)}…` : text;
}
