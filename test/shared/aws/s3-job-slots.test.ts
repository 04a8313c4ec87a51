import { ListObjectsV2Command } from "@aws-sdk/client-s3";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { S3JobSlots, SlotLostError } from "../../../shared/aws/s3-job-slots.ts";
import { type LocalAws, startLocalAws } from "../../../local/local-aws.ts";
import { FakeClock } from "../../support/fake-clock.ts";

let aws: LocalAws;
let prefix: string;
let run = 0;
beforeAll(async () => {
  aws = await startLocalAws();
});
afterAll(async () => {
  await aws.close();
});
beforeEach(() => {
  prefix = `slots-${++run}/`;
});

const slotsFor = (clock = new FakeClock(), capacity = 10) =>
  new S3JobSlots(aws.s3, { bucket: aws.workBucket, prefix, capacity, leaseTtlMs: 60_000, clock });

describe("job slots in S3, claimed with conditional writes", () => {
  it("25 importers racing for 10 slots: exactly 10 win, each a different slot", async () => {
    // Separate instances, as separate Lambda containers would be.
    const clock = new FakeClock();
    const leases = await Promise.all(Array.from({ length: 25 }, (_, i) => slotsFor(clock).acquire(`part-${i}`)));
    const won = leases.filter((lease) => lease !== undefined);
    expect(won).toHaveLength(10);
    expect(new Set(won.map((lease) => lease?.slot)).size).toBe(10);
    const listed = await aws.s3.send(new ListObjectsV2Command({ Bucket: aws.workBucket, Prefix: prefix }));
    expect(listed.KeyCount).toBe(10);
  });

  it("a holder that comes back (a redelivery) finds its own slot and the job it recorded", async () => {
    const slots = slotsFor();
    const first = await slots.acquire("part-a");
    await slots.attach(first?.slot as number, "part-a", 4242);
    expect(await slots.acquire("part-a")).toEqual({ slot: first?.slot, batchId: 4242 });
  });

  it("a released slot is free again; releasing someone else's slot does nothing", async () => {
    const slots = slotsFor(new FakeClock(), 1);
    const lease = await slots.acquire("part-a");
    expect(await slots.acquire("part-b")).toBeUndefined();
    await slots.release(lease?.slot as number, "part-b");
    expect(await slots.acquire("part-b")).toBeUndefined();
    await slots.release(lease?.slot as number, "part-a");
    expect(await slots.acquire("part-b")).toEqual({ slot: 0 });
  });

  it("a lease not renewed within its TTL (crashed importer) is taken over; a renewed one is not", async () => {
    const clock = new FakeClock();
    const slots = slotsFor(clock, 2);
    const crashed = await slots.acquire("crashed");
    const alive = await slots.acquire("alive");
    clock.advance(45_000);
    await slots.renew(alive?.slot as number, "alive");
    clock.advance(30_000);

    const taken = await slots.acquire("newcomer");
    expect(taken).toEqual({ slot: crashed?.slot });
    expect(await slots.acquire("another")).toBeUndefined();
    // The crashed holder learns it lost the slot rather than overwriting the newcomer's lease.
    await expect(slots.renew(crashed?.slot as number, "crashed")).rejects.toBeInstanceOf(SlotLostError);
  });
});
