/**
 * Job slots: this deployment keeps at most `capacity` import jobs open (Queued or Importing) at Marketo, however
 * many importers run at once and across restarts. A part holds one slot from before its submission until its job
 * ends; Marketo itself imports at most 2 of them at a time (its FIFO), so ≤ 10 open means ≤ 2 importing too.
 */
export interface SlotLease {
  slot: number;
  /** The job that holds the slot, once submitted. */
  batchId?: number;
}

export interface JobSlots {
  /** The slot `holder` already holds (after a redelivery), a free one, or an abandoned one; undefined when none. */
  acquire(holder: string): Promise<SlotLease | undefined>;
  /** Records the submitted job on the slot (and renews the lease). */
  attach(slot: number, holder: string, batchId: number): Promise<void>;
  /** Renews the lease while the job runs, so the slot is not taken as abandoned. */
  renew(slot: number, holder: string): Promise<void>;
  /** Frees the slot if `holder` still holds it. */
  release(slot: number, holder: string): Promise<void>;
}

/** Where the slot objects live in the work bucket. */
export const JOB_SLOT_PREFIX = "bulk-slots/";
