import { DeleteObjectCommand, type S3Client } from "@aws-sdk/client-s3";
import type { WriteCondition } from "../contracts/claim-store.ts";
import { isConditionConflict, putJsonIf, readVersionedJson } from "./s3-conditional.ts";
import type { JobSlots, SlotLease } from "../contracts/job-slots.ts";
import type { Clock } from "../time/clock.ts";

export interface S3JobSlotsOptions {
  bucket: string;
  /** Key prefix of the slot objects, ending in "/". */
  prefix: string;
  /** Jobs this deployment may have open at Marketo (1–10). */
  capacity: number;
  /** A lease not renewed for this long belongs to a crashed importer and may be taken over. */
  leaseTtlMs: number;
  clock: Clock;
  random?: () => number;
}

interface SlotRecord {
  holder: string;
  batchId?: number;
  acquiredAt: string;
  renewedAt: string;
}

/**
 * Slots as objects `{prefix}{n}.json` in S3, claimed with conditional writes: `If-None-Match: *` creates a free
 * slot for exactly one claimant, `If-Match: <etag>` changes or deletes it only if nobody else did in between.
 * No table, no lock service; a crashed holder's lease expires after `leaseTtlMs`.
 */
export class S3JobSlots implements JobSlots {
  constructor(
    private readonly s3: S3Client,
    private readonly options: S3JobSlotsOptions,
  ) {}

  async acquire(holder: string): Promise<SlotLease | undefined> {
    const slots = await Promise.all(this.indexes().map(async (slot) => ({ slot, current: await this.read(slot) })));
    const own = slots.find((s) => s.current?.record.holder === holder);
    if (own?.current) {
      return { slot: own.slot, ...(own.current.record.batchId ? { batchId: own.current.record.batchId } : {}) };
    }
    const now = this.options.clock.now();
    // Start at a random slot so concurrent importers do not all race for slot 0.
    const offset = Math.floor((this.options.random ?? Math.random)() * this.options.capacity);
    const order = slots.map((_, i) => slots[(i + offset) % slots.length] as (typeof slots)[number]);
    for (const { slot, current } of order) {
      const abandoned = current && now - Date.parse(current.record.renewedAt) > this.options.leaseTtlMs;
      if (current && !abandoned) continue;
      const record: SlotRecord = { holder, acquiredAt: iso(now), renewedAt: iso(now) };
      if (await this.write(slot, record, current ? { IfMatch: current.etag } : { IfNoneMatch: "*" })) return { slot };
    }
    return undefined;
  }

  async attach(slot: number, holder: string, batchId: number): Promise<void> {
    await this.update(slot, holder, (record) => ({ ...record, batchId }));
  }

  async renew(slot: number, holder: string): Promise<void> {
    await this.update(slot, holder, (record) => record);
  }

  async release(slot: number, holder: string): Promise<void> {
    const current = await this.read(slot);
    if (current?.record.holder !== holder) return;
    try {
      await this.s3.send(
        new DeleteObjectCommand({ Bucket: this.options.bucket, Key: this.key(slot), IfMatch: current.etag }),
      );
    } catch (error) {
      // Someone took the slot over in between: it is theirs now.
      if (!isConditionConflict(error)) throw error;
    }
  }

  private async update(slot: number, holder: string, change: (record: SlotRecord) => SlotRecord): Promise<void> {
    const current = await this.read(slot);
    if (current?.record.holder !== holder) throw new SlotLostError(slot);
    const next = { ...change(current.record), renewedAt: iso(this.options.clock.now()) };
    if (!(await this.write(slot, next, { IfMatch: current.etag }))) throw new SlotLostError(slot);
  }

  private indexes(): number[] {
    return Array.from({ length: this.options.capacity }, (_, i) => i);
  }

  private key(slot: number): string {
    return `${this.options.prefix}${slot}.json`;
  }

  private async read(slot: number): Promise<{ record: SlotRecord; etag: string } | undefined> {
    const current = await readVersionedJson<SlotRecord>(this.s3, this.options.bucket, this.key(slot));
    return current && { record: current.value, etag: current.etag };
  }

  /** True when the conditional write won; false when the condition failed (another writer got there first). */
  private async write(slot: number, record: SlotRecord, condition: WriteCondition): Promise<boolean> {
    return (await putJsonIf(this.s3, this.options.bucket, this.key(slot), record, condition)) !== undefined;
  }
}

/** The lease was taken over (it expired) or released: the caller no longer holds the slot. */
export class SlotLostError extends Error {
  override readonly name = "SlotLostError";
  constructor(readonly slot: number) {
    super(`job slot ${slot} is no longer held by this part`);
  }
}

const iso = (ms: number): string => new Date(ms).toISOString();
