import type { PackLimits } from "../batching/batch-packer.ts";
import { readCsvRows } from "../parsing/csv-rows.ts";
import { InputFileError } from "../parsing/input-file-error.ts";
import type { ReportStore, SplitManifest } from "../report/file-report.ts";
import type { Clock } from "../time/clock.ts";
import type { FileRef } from "./batch-message.ts";
import { type PersonsOptions, personsRequestHeader } from "./ingestion-options.ts";
import { routeForObjectKey } from "./object-route.ts";
import type { DroppedFile } from "./s3-event.ts";
import { reportPrefixFor } from "./s3-event.ts";
import { type BatchPublisher, splitFile } from "./split-file.ts";

export interface DroppedFileDeps {
  /** Opens the file's bytes from the start. */
  open: (file: DroppedFile) => AsyncIterable<Uint8Array>;
  publisher: BatchPublisher;
  reports: ReportStore;
  clock: Clock;
  limits: PackLimits;
  defaults: PersonsOptions;
  onProgress?: (rowsRead: number) => void;
}

/**
 * Splitter core: one dropped file → queued batches plus a manifest. A file that cannot be processed as a whole
 * (unknown type, bad encoding, broken CSV, no rows) gets a `rejected` manifest and nothing is sent; infrastructure
 * errors propagate so the invocation is retried.
 */
export async function processDroppedFile(dropped: DroppedFile, deps: DroppedFileDeps): Promise<SplitManifest> {
  const startedAt = new Date(deps.clock.now()).toISOString();
  const file: FileRef = {
    bucket: dropped.bucket,
    key: dropped.key,
    ...(dropped.versionId ? { versionId: dropped.versionId } : {}),
    reportPrefix: reportPrefixFor(dropped),
  };
  const base = { v: 1 as const, file, startedAt };
  let manifest: SplitManifest;
  try {
    const route = routeForObjectKey(dropped.key);
    const summary = await splitFile(
      {
        file,
        route,
        requestHeader: personsRequestHeader(deps.defaults),
        openRows: () => readCsvRows(deps.open(dropped)),
        limits: deps.limits,
        ...(deps.onProgress ? { onProgress: deps.onProgress } : {}),
      },
      deps.publisher,
    );
    manifest = {
      ...base,
      objectType: route.objectType,
      status: "queued",
      rowsRead: summary.rowsRead,
      rowsQueued: summary.rowsQueued,
      batches: summary.batches,
      rejectedRows: summary.rejections.map(({ kind: _kind, ...rest }) => rest),
      finishedAt: new Date(deps.clock.now()).toISOString(),
    };
  } catch (error) {
    if (!(error instanceof InputFileError)) throw error;
    manifest = {
      ...base,
      objectType: dropped.key.split("/")[0] ?? "",
      status: "rejected",
      rowsRead: 0,
      rowsQueued: 0,
      batches: 0,
      rejectedRows: [],
      error: {
        code: error.code,
        message: error.message,
        ...(error.location?.line ? { line: error.location.line } : {}),
      },
      finishedAt: new Date(deps.clock.now()).toISOString(),
    };
  }
  await deps.reports.putManifest(file, manifest);
  return manifest;
}
