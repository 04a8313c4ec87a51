import { describe, expect, it } from "vitest";
import { BoundedWrites } from "../../../shared/async/bounded-writes.ts";

/** A write that ends when told to. */
function deferredWrite() {
  let end: (error?: Error) => void = () => {};
  const done = new Promise<void>((resolve, reject) => {
    end = (error) => (error ? reject(error) : resolve());
  });
  return { write: () => done, end };
}

describe("BoundedWrites", () => {
  it("keeps at most `limit` writes in flight: start waits for room, settle for all", async () => {
    const writes = new BoundedWrites(2);
    const [a, b, c] = [deferredWrite(), deferredWrite(), deferredWrite()];
    await writes.start(a.write);
    await writes.start(b.write);
    let thirdStarted = false;
    const third = writes.start(c.write).then(() => (thirdStarted = true));
    await Promise.resolve();
    expect(thirdStarted).toBe(false);
    a.end();
    await third;
    expect(thirdStarted).toBe(true);
    let settled = false;
    const settling = writes.settle().then(() => (settled = true));
    b.end();
    await Promise.resolve();
    expect(settled).toBe(false);
    c.end();
    await settling;
    expect(settled).toBe(true);
  });

  it("records a failure without an unhandled rejection, and throws it at the next start, check or settle", async () => {
    const writes = new BoundedWrites(4);
    const failing = deferredWrite();
    await writes.start(failing.write);
    failing.end(new Error("S3 is down"));
    await writes.drain();
    expect(() => writes.throwIfFailed()).toThrow("S3 is down");
    await expect(writes.start(async () => {})).rejects.toThrow("S3 is down");
    await expect(writes.settle()).rejects.toThrow("S3 is down");
  });
});
