import type { FileRef } from "../../shared/contracts/batch-message.ts";
import type { ClaimStore } from "../../shared/contracts/claim-store.ts";
import { SPLIT_CLAIM_FILE } from "../../shared/report/build-file-report.ts";

/** Which invocation splits a file version. Written before the first batch is queued. */
export interface FileClaim {
  /** The invocation's request id: Lambda keeps it across its own retries of one event. */
  owner: string;
  claimedAt: string;
}

export type FileClaimDecision =
  | { action: "split"; as: "first" | "retry" | "take-over" }
  /** `done`: the file has a manifest; `in-progress`: another invocation holds a live claim. */
  | { action: "skip"; why: "done" | "in-progress"; owner?: string };

export interface FileClaimInput {
  invocationId: string;
  manifestExists: boolean;
  now: number;
  /** A claim older than this cannot belong to a running invocation (the splitter's timeout plus a margin). */
  leaseMs: number;
}

/**
 * Decides whether this invocation splits the file. A duplicate S3 event finds the manifest or a live claim and
 * stops; Lambda's retry of a crashed invocation (same request id) resumes; a claim outliving any invocation is
 * taken over.
 */
export function arbitrateFile(input: FileClaimInput, current: FileClaim | undefined): FileClaimDecision {
  if (input.manifestExists) return { action: "skip", why: "done", ...(current ? { owner: current.owner } : {}) };
  if (!current) return { action: "split", as: "first" };
  if (current.owner === input.invocationId) return { action: "split", as: "retry" };
  if (input.now - Date.parse(current.claimedAt) > input.leaseMs) return { action: "split", as: "take-over" };
  return { action: "skip", why: "in-progress", owner: current.owner };
}

/** Reads, decides and writes the claim with a conditional write; a lost race is decided again on fresh state. */
export async function claimFile(
  file: FileRef,
  input: FileClaimInput,
  store: ClaimStore<FileClaim>,
): Promise<FileClaimDecision> {
  const key = `${file.reportPrefix}${SPLIT_CLAIM_FILE}`;
  for (let round = 0; round < 3; round++) {
    const current = await store.read(key);
    const decision = arbitrateFile(input, current?.value);
    // A retry rewrites the claim too: its lease then runs from this attempt, not from the first one.
    if (decision.action === "skip") return decision;
    const claim: FileClaim = { owner: input.invocationId, claimedAt: new Date(input.now).toISOString() };
    const written = await store.write(key, claim, current ? { IfMatch: current.etag } : { IfNoneMatch: "*" });
    if (written !== undefined) return decision;
  }
  return { action: "skip", why: "in-progress" };
}
