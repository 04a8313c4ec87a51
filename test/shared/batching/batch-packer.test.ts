import fc from "fast-check";
import { afterEach, describe, expect, it, vi } from "vitest";
import {
  BatchPacker,
  ItemTooLargeError,
  type PackableItem,
  type PackedBatch,
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

  it("decides and counts exactly as an item-by-item UTF-8 count would, whatever the characters and limits", () => {
    // The reference: every item measured, a batch closed only when the next item breaks a limit.
    const reference = (items: PackableItem<number>[], maxObjects: number, maxBytes: number) => {
      const frameBytes = Buffer.byteLength(frame.prefix + frame.suffix);
      const batches: number[][] = [];
      let open: number[] = [];
      let bytes = frameBytes;
      for (const { json, meta } of items) {
        const itemBytes = Buffer.byteLength(json);
        if (itemBytes > maxBytes - frameBytes) throw new ItemTooLargeError(itemBytes, maxBytes - frameBytes);
        if (open.length >= maxObjects || bytes + 1 + itemBytes > maxBytes) {
          if (open.length > 0) batches.push(open);
          open = [];
          bytes = frameBytes;
        }
        bytes += (open.length > 0 ? 1 : 0) + itemBytes;
        open.push(meta);
      }
      if (open.length > 0) batches.push(open);
      return batches;
    };
    // ASCII (1 byte a unit), accented (2), CJK (3) and emoji (4 bytes for 2 units), in any mix.
    const text = fc.string({ unit: fc.constantFrom("a", "é", "山", "山", "山", "🎉"), maxLength: 80 });
    fc.assert(
      fc.property(
        fc.array(text, { maxLength: 60 }),
        fc.integer({ min: 1, max: 12 }),
        fc.integer({ min: 20, max: 2_000 }),
        (texts, maxObjects, maxBytes) => {
          const items = texts.map((t, i) => item(JSON.stringify(t), i));
          let expected: number[][] | ItemTooLargeError;
          try {
            expected = reference(items, maxObjects, maxBytes);
          } catch (error) {
            expected = error as ItemTooLargeError;
          }
          let batches: PackedBatch<number>[];
          try {
            batches = [...packBatches(items, frame, { maxObjects, maxBytes })];
          } catch (error) {
            expect(error).toEqual(expected);
            return;
          }
          expect(batches.map((b) => b.items)).toEqual(expected);
          for (const batch of batches) expect(batch.bytes).toBe(Buffer.byteLength(batch.body));
        },
      ),
      { seed: 20_261_202, numRuns: 400 },
    );
  });

  describe("cost per row", () => {
    afterEach(() => vi.restoreAllMocks());

    it("counts a batch's UTF-8 bytes once when it closes on maxObjects far below maxBytes, not once per item", () => {
      const items = Array.from({ length: 3_000 }, (_, i) => person(i, 20));
      const byteLength = vi.spyOn(Buffer, "byteLength");
      const batches = [...packBatches(items, frame, { maxObjects: 1000, maxBytes: 1_000_000 })];
      expect(batches.map((b) => b.items.length)).toEqual([1000, 1000, 1000]);
      // The frame's two parts when the packer is made, then one count per closed batch.
      expect(byteLength.mock.calls.length).toBeLessThanOrEqual(2 + batches.length);
      byteLength.mockRestore();
      for (const batch of batches) expect(batch.bytes).toBe(Buffer.byteLength(batch.body));
    });
  });
});
