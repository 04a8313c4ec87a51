import type { SplitManifest } from "../../shared/report/file-report.ts";
import type { FileRef } from "../../shared/contracts/batch-message.ts";
import type { ClaimStore } from "../../shared/contracts/claim-store.ts";
import { claimFile, type FileClaim } from "./file-claim.ts";
import { type DroppedFileDeps, type ExplicitTarget, processDroppedFile } from "./process-dropped-file.ts";
import { type DroppedFile, fileRefFor } from "../../shared/contracts/s3-event.ts";

export interface SplitOnceDeps extends DroppedFileDeps {
  claims: ClaimStore<FileClaim>;
  /** The splitter's timeout plus a margin: no invocation holds a claim longer. */
  leaseMs: number;
  /** Tells the report writer a file's manifest exists (it then reports the file once every batch is final). */
  announce: (manifest: SplitManifest) => Promise<void>;
}

export type SplitOnceResult =
  | { status: "split"; manifest: SplitManifest; as: "first" | "retry" | "take-over" }
  | { status: "skipped"; why: "done" | "in-progress"; owner?: string };

/**
 * Splits a dropped file once per object version, however many events announce it. A retry of a crashed
 * invocation splits again from the start; the batches it queues a second time are dropped by the senders'
 * batch claims, so Marketo still receives each batch once.
 */
export async function splitDroppedFileOnce(
  dropped: DroppedFile,
  invocationId: string,
  deps: SplitOnceDeps,
  explicit?: ExplicitTarget,
): Promise<SplitOnceResult> {
  const file = fileRefFor(dropped);
  const existing = await deps.reports.getManifest(file);
  const decision = await claimFile(
    file,
    { invocationId, manifestExists: existing !== undefined, now: deps.clock.now(), leaseMs: deps.leaseMs },
    deps.claims,
  );
  if (decision.action === "skip") {
    // The manifest exists but the announcement may have been lost (this invocation died right after writing it,
    // or every retry did): announce again. A repeat is harmless; a report chain is idempotent.
    if (existing && (decision.owner === invocationId || (await reportOverdue(file, existing, deps)))) {
      await deps.announce(existing);
    }
    return { status: "skipped", why: decision.why, ...(decision.owner ? { owner: decision.owner } : {}) };
  }
  const manifest = await processDroppedFile(dropped, deps, explicit);
  await deps.announce(manifest);
  return { status: "split", manifest, as: decision.as };
}

/** Long enough for any announced file to have a report.json (the first check comes within minutes). */
const REPORT_OVERDUE_MS = 15 * 60_000;

async function reportOverdue(file: FileRef, manifest: SplitManifest, deps: SplitOnceDeps): Promise<boolean> {
  if (deps.clock.now() - Date.parse(manifest.finishedAt) < REPORT_OVERDUE_MS) return false;
  return (await deps.reports.getFileReport(file)) === undefined;
}
