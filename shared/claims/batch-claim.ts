import type { BatchOutcome } from "../report/file-report.ts";
import type { FileRef } from "../contracts/batch-message.ts";
import type { ClaimStore } from "../contracts/claim-store.ts";

/**
 * Which queue message owns a batch. Copies of one batch can reach the queue more than once (a splitter resumed
 * after a crash, a redrive from the DLQ); only the owner sends, so Marketo sees each batch once.
 */
export interface BatchClaim {
  messageId: string;
  claimedAt: string;
  /** Refreshed on every delivery of the owner, so a live owner is never taken over. */
  renewedAt: string;
  /** Deliveries of this batch that failed transiently (quota waits and duplicate copies do not count). */
  failures?: number;
  firstFailureAt?: string;
  lastFailureAt?: string;
}

/** The claim this message holds, and the ETag that lets it record a failure on it. */
export interface OwnedClaim {
  key: string;
  claim: BatchClaim;
  etag: string;
}

export type ClaimDecision =
  /** The batch has a final outcome (or this message already dead-lettered it): nothing to send. */
  | { action: "skip"; why: "final" | "dead-lettered-by-me" }
  /** This message owns the batch: write the claim as said, then send. */
  | { action: "send"; write: "create" | "renew" | "take-over" }
  /** Another live message owns the batch: look again later (it will be final, or its claim stale). */
  | { action: "wait"; owner: string; delayMs: number };

/** What `claimBatch` settled: a send comes with the claim as written. */
export type ClaimResult =
  Exclude<ClaimDecision, { action: "send" }> | (Extract<ClaimDecision, { action: "send" }> & { owned: OwnedClaim });

export interface ArbitrationInput {
  messageId: string;
  /** Deliveries of this message so far (1 on the first): a waiting copy waits longer each time. */
  receiveCount: number;
  outcome: BatchOutcome | undefined;
  current: BatchClaim | undefined;
  now: number;
  /** An owner not seen for this long is gone (its message went to the DLQ): another copy may take over. */
  claimTtlMs: number;
  /** First wait of a copy whose batch another message owns; it doubles per delivery, up to `maxWaitMs`. */
  recheckMs: number;
  /** Longest single wait the queue allows: 12 h for a visibility change, 15 min for a delayed message. */
  maxWaitMs: number;
}

/** Decides what one delivered message does with its batch, from the batch's outcome and current claim. */
export function arbitrateBatch(input: ArbitrationInput): ClaimDecision {
  const { messageId, outcome, current, now, claimTtlMs } = input;
  if (outcome && outcome.status !== "dead-lettered") return { action: "skip", why: "final" };
  const mine = current?.messageId === messageId;
  // The owner put its copy in the DLQ; another message is that copy redriven and may send it again, unless a
  // redriven copy already did take over (then the rules below decide between the copies).
  const claimedSinceDeadLetter =
    outcome?.status === "dead-lettered" &&
    current !== undefined &&
    outcome.deadLetteredBy !== undefined &&
    current.messageId !== outcome.deadLetteredBy;
  if (outcome?.status === "dead-lettered" && !claimedSinceDeadLetter) {
    return mine ? { action: "skip", why: "dead-lettered-by-me" } : { action: "send", write: "take-over" };
  }
  if (!current) return { action: "send", write: "create" };
  if (mine) return { action: "send", write: "renew" };
  const idleMs = now - Date.parse(current.renewedAt);
  if (idleMs > claimTtlMs) return { action: "send", write: "take-over" };
  const backoff = input.recheckMs * 2 ** Math.max(0, input.receiveCount - 1);
  const untilStale = claimTtlMs - idleMs + 1_000;
  return {
    action: "wait",
    owner: current.messageId,
    delayMs: Math.max(1_000, Math.min(input.maxWaitMs, backoff, untilStale)),
  };
}

/**
 * Reads, decides and records the claim; a lost race (another copy wrote first) is decided again on fresh state.
 * Returns the decision that stands.
 */
export async function claimBatch(
  file: FileRef,
  index: number,
  input: Omit<ArbitrationInput, "current" | "outcome"> & { readOutcome: () => Promise<BatchOutcome | undefined> },
  store: ClaimStore<BatchClaim>,
): Promise<ClaimResult> {
  const key = batchClaimKey(file, index);
  const { readOutcome, ...rest } = input;
  for (let round = 0; round < 3; round++) {
    const current = await store.read(key);
    // An outcome is only ever written by a claim's owner: an unclaimed batch has none, and needs no read.
    const outcome = current ? await readOutcome() : undefined;
    const decision = arbitrateBatch({ ...rest, outcome, current: current?.value });
    if (decision.action !== "send") return decision;
    const at = new Date(input.now).toISOString();
    // The owner keeps its history across deliveries; a new owner (a redriven copy) starts afresh.
    const claim: BatchClaim =
      decision.write === "renew" && current
        ? { ...current.value, renewedAt: at }
        : { messageId: input.messageId, claimedAt: at, renewedAt: at };
    const etag = await store.write(key, claim, current ? { IfMatch: current.etag } : { IfNoneMatch: "*" });
    if (etag !== undefined) return { ...decision, owned: { key, claim, etag } };
  }
  // Three lost races in a row: several copies are live at once; let the queue bring this one back.
  return { action: "wait", owner: "unknown", delayMs: input.recheckMs };
}

/** The owner's claim after one more failed delivery. */
export function withFailure(claim: BatchClaim, at: number): BatchClaim {
  const iso = new Date(at).toISOString();
  return {
    ...claim,
    failures: (claim.failures ?? 0) + 1,
    firstFailureAt: claim.firstFailureAt ?? iso,
    lastFailureAt: iso,
  };
}

/** `{reportPrefix}claims/{index}.json`: next to the batch's outcome. */
export const batchClaimKey = (file: FileRef, index: number): string =>
  `${file.reportPrefix}claims/${String(index).padStart(6, "0")}.json`;
