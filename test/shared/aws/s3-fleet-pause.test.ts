import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { S3FleetPause } from "../../../shared/aws/s3-fleet-pause.ts";
import { readVersionedJson } from "../../../shared/aws/s3-conditional.ts";
import { type LocalAws, startLocalAws } from "../../../local/local-aws.ts";
import { FakeClock } from "../../support/fake-clock.ts";

let aws: LocalAws;
let key: string;
let run = 0;
beforeAll(async () => {
  aws = await startLocalAws();
});
afterAll(async () => {
  await aws.close();
});
beforeEach(() => {
  key = `fleet/pause-${++run}.json`;
});

/** One sender process's view of the marker. */
const pauseFor = (clock: FakeClock, cacheMs = 1_000) =>
  new S3FleetPause(aws.s3, { bucket: aws.workBucket, key, cacheMs, clock });

describe("the fleet's pause marker in S3", () => {
  it("20 senders racing to pause with different ends: the marker keeps the latest, never a shorter one", async () => {
    const clock = new FakeClock();
    const ends = Array.from({ length: 20 }, (_, i) => clock.now() + 1_000 * ((i * 7) % 20) + 1_000);
    await Promise.all(ends.map((until) => pauseFor(clock).pauseUntil({ until, reason: "rate-limit", code: "429001" })));

    const stored = await readVersionedJson<{ until: number }>(aws.s3, aws.workBucket, key);
    expect(stored?.value.until).toBe(Math.max(...ends));
    expect(await pauseFor(clock).current()).toMatchObject({ until: Math.max(...ends), reason: "rate-limit" });
  });

  it("a shorter pause does not replace a longer one (the daily quota outlasts a later 429)", async () => {
    const clock = new FakeClock();
    const reset = clock.now() + 3_600_000;
    await pauseFor(clock).pauseUntil({ until: reset, reason: "daily-quota", code: "4290801" });
    await pauseFor(clock).pauseUntil({ until: clock.now() + 2_000, reason: "rate-limit", code: "429001" });

    expect(await pauseFor(clock).current()).toEqual({ until: reset, reason: "daily-quota", code: "4290801" });
  });

  it("another process sees a new pause once its cached read is older than cacheMs, and none once it ended", async () => {
    const clock = new FakeClock();
    const observer = pauseFor(clock, 1_000);
    expect(await observer.current()).toBeUndefined();
    await pauseFor(clock).pauseUntil({ until: clock.now() + 5_000, reason: "rate-limit", code: "429001" });

    expect(await observer.current()).toBeUndefined();
    clock.advance(1_000);
    expect(await observer.current()).toMatchObject({ reason: "rate-limit" });
    clock.advance(4_000);
    expect(await observer.current()).toBeUndefined();
  });
});
