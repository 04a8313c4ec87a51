import { describe, expect, it } from "vitest";
import { arbitrateBatch, type BatchClaim, batchClaimKey, claimBatch } from "../../../shared/claims/batch-claim.ts";
import type { FileRef } from "../../../shared/contracts/batch-message.ts";
import type { BatchOutcome } from "../../../shared/report/file-report.ts";
import { MemoryClaims } from "../../support/memory-claims.ts";

const NOW = Date.parse("2026-11-23T12:00:00Z");
const TTL = 3_600_000;
const file: FileRef = { bucket: "drop", key: "persons/a.csv", reportPrefix: "reports/persons/a.csv/v1/" };
const claim = (messageId: string, idleMs = 0): BatchClaim => {
  const at = new Date(NOW - idleMs).toISOString();
  return { messageId, claimedAt: at, renewedAt: at };
};
const outcome = (status: BatchOutcome["status"]): BatchOutcome => ({
  v: 1,
  index: 0,
  rowCount: 1,
  rows: [[1, 1]],
  status,
  attempts: 1,
  finishedAt: new Date(NOW).toISOString(),
});
const decide = (messageId: string, current?: BatchClaim, final?: BatchOutcome) =>
  arbitrateBatch({
    messageId,
    receiveCount: 1,
    outcome: final,
    current,
    now: NOW,
    claimTtlMs: TTL,
    recheckMs: 60_000,
    maxWaitMs: 900_000,
  });

describe("arbitrateBatch: one message sends each batch", () => {
  it("the first copy to arrive claims the batch and sends", () => {
    expect(decide("m1")).toEqual({ action: "send", write: "create" });
  });

  it("the owner's redelivery renews its claim and sends again (the batch has no outcome yet)", () => {
    expect(decide("m1", claim("m1", 600_000))).toEqual({ action: "send", write: "renew" });
  });

  it("a copy of a batch another live message owns waits, longer each delivery, never past 15 min or the TTL", () => {
    const waitOn = (receiveCount: number, idleMs = 0) =>
      arbitrateBatch({
        messageId: "m2",
        receiveCount,
        outcome: undefined,
        current: claim("m1", idleMs),
        now: NOW,
        claimTtlMs: TTL,
        recheckMs: 60_000,
        maxWaitMs: 900_000,
      });
    expect([1, 2, 3, 4, 5, 6].map((n) => (waitOn(n) as { delayMs: number }).delayMs)).toEqual([
      60_000, 120_000, 240_000, 480_000, 900_000, 900_000,
    ]);
    expect(waitOn(1)).toMatchObject({ action: "wait", owner: "m1" });
    expect(waitOn(3, TTL - 5_000)).toMatchObject({ delayMs: 6_000 });
  });

  it("a copy takes over when the owner was not seen for longer than the TTL (its message left the queue)", () => {
    expect(decide("m2", claim("m1", TTL + 1))).toEqual({ action: "send", write: "take-over" });
  });

  it.each(["accepted", "failed"] as const)("nobody sends a batch whose outcome is %s", (status) => {
    expect(decide("m1", claim("m1"), outcome(status))).toEqual({ action: "skip", why: "final" });
    expect(decide("m2", claim("m1"), outcome(status))).toEqual({ action: "skip", why: "final" });
    expect(decide("m3", undefined, outcome(status))).toEqual({ action: "skip", why: "final" });
  });

  it("two redriven copies of a dead-lettered batch: the first takes over, the second waits for it", () => {
    const deadLettered = { ...outcome("dead-lettered"), deadLetteredBy: "m1" };
    expect(decide("copy-a", claim("m1"), deadLettered)).toEqual({ action: "send", write: "take-over" });
    // copy-a's claim is now in place: copy-b is a duplicate of a live owner, not a second redrive.
    expect(decide("copy-b", claim("copy-a"), deadLettered)).toMatchObject({ action: "wait", owner: "copy-a" });
    expect(decide("copy-a", claim("copy-a"), deadLettered)).toEqual({ action: "send", write: "renew" });
  });

  it("a dead-lettered batch is sent again by its redriven copy, never by the message that dead-lettered it", () => {
    expect(decide("m1", claim("m1"), outcome("dead-lettered"))).toEqual({ action: "skip", why: "dead-lettered-by-me" });
    expect(decide("redriven", claim("m1"), outcome("dead-lettered"))).toEqual({ action: "send", write: "take-over" });
  });
});

const KEY = batchClaimKey(file, 0);

describe("claimBatch: conditional writes settle races", () => {
  const input = (messageId: string) => ({
    messageId,
    receiveCount: 1,
    readOutcome: async () => undefined,
    now: NOW,
    claimTtlMs: TTL,
    recheckMs: 60_000,
    maxWaitMs: 900_000,
  });

  it("two copies racing for a new batch: exactly one sends, the other waits for it", async () => {
    const store = new MemoryClaims();
    store.interleave = () => {
      store.objects.set(KEY, { value: claim("m2"), etag: "other" });
    };
    const decision = await claimBatch(file, 0, input("m1"), store);
    expect(decision).toEqual({ action: "wait", owner: "m2", delayMs: 60_000 });
    expect(store.objects.get(KEY)?.value.messageId).toBe("m2");
  });

  it("two copies taking over a stale claim: the second write loses and waits", async () => {
    const store = new MemoryClaims();
    store.objects.set(KEY, { value: claim("gone", TTL + 60_000), etag: "old" });
    store.interleave = () => {
      store.objects.set(KEY, { value: claim("m2"), etag: "newer" });
    };
    expect(await claimBatch(file, 0, input("m1"), store)).toMatchObject({ action: "wait", owner: "m2" });
  });

  it("the owner's renewal keeps the first claim time and moves renewedAt", async () => {
    const store = new MemoryClaims();
    store.objects.set(KEY, { value: claim("m1", 600_000), etag: "e0" });
    expect(await claimBatch(file, 0, input("m1"), store)).toMatchObject({ action: "send", write: "renew" });
    expect(store.objects.get(KEY)?.value).toEqual({
      messageId: "m1",
      claimedAt: new Date(NOW - 600_000).toISOString(),
      renewedAt: new Date(NOW).toISOString(),
    });
  });
});
