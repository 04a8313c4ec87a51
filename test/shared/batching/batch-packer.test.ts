import { describe, expect, it } from "vitest";
import {
  BatchPacker,
  ItemTooLargeError,
  type PackableItem,
  packBatches,
} from "../../../shared/batching/batch-packer.ts";

const frame = { prefix: '{"persons":[', suffix: "]}" };
const item = (json: string, meta = 0): PackableItem<number> => ({ json, meta });
const person = (i: number, pad = 0) => item(JSON.stringify({ email: `p${i}@x.io`, note: "x".repeat(pad) }), i);

describe("packBatches", () => {
  it("closes a batch at exactly maxObjects", () => {
    const batches = [
      ...packBatches(
        Array.from({ length: 2_001 }, (_, i) => person(i)),
        frame,
        { maxObjects: 1000, maxBytes: 1_000_000 },
      ),
    ];
    expect(batches.map((b) => b.items.length)).toEqual([1000, 1000, 1]);
  });

  it("fills a batch to exactly maxBytes and never beyond, counting the exact UTF-8 body", () => {
    // Each item is 10 bytes; frame is 14 bytes; 3 items + 2 commas = 32 → 46 bytes exactly.
    const items = Array.from({ length: 7 }, (_, i) => item(`"${"é".repeat(4)}"`, i));
    const batches = [...packBatches(items, frame, { maxObjects: 1000, maxBytes: 46 })];
    expect(batches.map((b) => b.items.length)).toEqual([3, 3, 1]);
    for (const batch of batches) {
      expect(Buffer.byteLength(batch.body)).toBe(batch.bytes);
      expect(batch.bytes).toBeLessThanOrEqual(46);
      expect(JSON.parse(batch.body).persons).toHaveLength(batch.items.length);
    }
    expect(batches[0]?.bytes).toBe(46);
  });

  it("uses the fewest requests an order-preserving split allows", () => {
    const items = Array.from({ length: 5_000 }, (_, i) => person(i, i % 50));
    const limits = { maxObjects: 1000, maxBytes: 60_000 };
    const batches = [...packBatches(items, frame, limits)];
    // Greedy: every batch but the last could not take the next item.
    for (let b = 0; b < batches.length - 1; b++) {
      const batch = batches[b];
      const next = items[batches.slice(0, b + 1).reduce((n, x) => n + x.items.length, 0)];
      if (!batch || !next) throw new Error("unreachable");
      const full =
        batch.items.length === limits.maxObjects || batch.bytes + 1 + Buffer.byteLength(next.json) > limits.maxBytes;
      expect(full).toBe(true);
    }
    expect(batches.flatMap((b) => b.items)).toEqual(items.map((i) => i.meta));
  });

  it("rejects an item that could never fit, and says how large it is", () => {
    const packer = new BatchPacker<number>(frame, { maxObjects: 10, maxBytes: 30 });
    expect(packer.maxItemBytes).toBe(16);
    expect(() => packer.add(item(`"${"x".repeat(15)}"`))).toThrow(ItemTooLargeError);
    expect(packer.add(item(`"${"x".repeat(14)}"`))).toBeUndefined();
  });

  it("produces nothing for no items", () => {
    expect([...packBatches([], frame, { maxObjects: 1, maxBytes: 100 })]).toEqual([]);
  });
});
