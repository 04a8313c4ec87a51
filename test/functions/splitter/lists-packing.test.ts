import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { ItemTooLargeError, type PackedBatch } from "../../../shared/batching/batch-packer.ts";
import { validateListRequest } from "../../../local/marketo-simulator/request-rules.ts";
import { resolveFileOptions } from "../../../shared/options/file-options.ts";
import { routeForObjectName } from "../../../shared/options/object-route.ts";
import { planRequests } from "../../../functions/splitter/request-plan.ts";

type Row = Record<string, unknown>;
type ListBody = { listId: number; leads: { leadId: number }[] };

/** Packs rows as the splitter does (prepare, then pack in file order); rows are numbered from 1. */
function pack(
  rows: Row[],
  limits: { maxObjects: number; maxBytes: number },
  object = "lists",
  sidecar: Record<string, unknown> = {},
): PackedBatch<number>[] {
  const plan = planRequests(resolveFileOptions(routeForObjectName(object), { sidecar }), false);
  const packer = plan.createPacker(limits);
  const batches: PackedBatch<number>[] = [];
  rows.forEach((row, i) => {
    const prepared = plan.prepare(row);
    if (!prepared.ok) throw new Error(prepared.reason);
    const closed = packer.add(prepared, i + 1);
    if (closed) batches.push(closed);
  });
  const last = packer.flush();
  if (last) batches.push(last);
  return batches;
}

const bodyOf = (batch: PackedBatch<number>) => JSON.parse(batch.body) as ListBody;
const simulatorLimits = (maxObjects: number) => ({ maxObjects, customPersonDedupeFields: new Set<string>() });
const leadJsonBytes = (leadId: number) => Buffer.byteLength(JSON.stringify({ leadId }));

describe("lists packing: {listId, leads[]} with one list per request", () => {
  it("sends at most 1,000 leads per request, in file order, each body valid for the endpoint", () => {
    const rows = Array.from({ length: 2_500 }, (_, i) => ({ leadId: 10_000 + i }));
    const batches = pack(rows, { maxObjects: 1000, maxBytes: 1_000_000 }, "lists", { listId: 1001 });

    expect(batches.map((b) => b.items.length)).toEqual([1000, 1000, 500]);
    for (const batch of batches) {
      // The simulator's rules were written separately from the client's: each checks the other.
      expect(() => validateListRequest(bodyOf(batch), simulatorLimits(1000), false)).not.toThrow();
      expect(bodyOf(batch).listId).toBe(1001);
    }
    expect(batches.flatMap((b) => bodyOf(b).leads.map((lead) => lead.leadId))).toEqual(rows.map((r) => r.leadId));
    expect(batches.flatMap((b) => b.items)).toEqual(rows.map((_, i) => i + 1));
  });

  it("closes the open request when a row names another list, even with room left", () => {
    const rows = [
      { listId: 7, leadId: 1 },
      { listId: 7, leadId: 2 },
      { listId: 7, leadId: 3 },
      { listId: 8, leadId: 4 },
      { listId: 8, leadId: 5 },
      { listId: 7, leadId: 6 },
    ];
    const batches = pack(rows, { maxObjects: 1000, maxBytes: 1_000_000 });
    expect(batches.map((b) => b.body)).toEqual([
      '{"listId":7,"leads":[{"leadId":1},{"leadId":2},{"leadId":3}]}',
      '{"listId":8,"leads":[{"leadId":4},{"leadId":5}]}',
      '{"listId":7,"leads":[{"leadId":6}]}',
    ]);
    expect(batches.map((b) => b.items)).toEqual([[1, 2, 3], [4, 5], [6]]);
  });

  it("sends remove requests in the same shape, the file's listId filling rows without one", () => {
    const batches = pack(
      [{ id: 1 }, { leadId: 2 }, { listId: 9, leadId: 3 }],
      { maxObjects: 10, maxBytes: 1_000 },
      "lists/remove",
      {
        listId: 5,
      },
    );
    expect(batches.map((b) => bodyOf(b))).toEqual([
      { listId: 5, leads: [{ leadId: 1 }, { leadId: 2 }] },
      { listId: 9, leads: [{ leadId: 3 }] },
    ]);
    for (const batch of batches) {
      expect(() => validateListRequest(bodyOf(batch), simulatorLimits(10), true)).not.toThrow();
    }
  });

  it("fills a request up to the byte limit exactly, and not one byte over", () => {
    const frame = Buffer.byteLength('{"listId":1001,"leads":[]}');
    const lead = leadJsonBytes(100_000); // every lead id below has six digits: the same size
    // Room for exactly 4 leads and their 3 separating commas.
    const maxBytes = frame + 4 * lead + 3;
    const rows = Array.from({ length: 10 }, (_, i) => ({ listId: 1001, leadId: 100_000 + i }));
    const batches = pack(rows, { maxObjects: 1000, maxBytes });
    expect(batches.map((b) => b.items.length)).toEqual([4, 4, 2]);
    expect(batches[0]?.bytes).toBe(maxBytes);
    expect(pack(rows, { maxObjects: 1000, maxBytes: maxBytes - 1 }).map((b) => b.items.length)).toEqual([3, 3, 3, 1]);
  });

  it("a row of a new list too large for any request is refused without losing the open request", () => {
    const plan = planRequests(resolveFileOptions(routeForObjectName("lists"), {}), false);
    // {"listId":1,"leads":[{"leadId":1}]} is 36 bytes; {"listId":1000000,"leads":[{"leadId":10000000}]} is 49.
    const packer = plan.createPacker({ maxObjects: 1000, maxBytes: 40 });
    const prepare = (row: Row) => {
      const prepared = plan.prepare(row);
      if (!prepared.ok) throw new Error(prepared.reason);
      return prepared;
    };
    expect(packer.add(prepare({ listId: 1, leadId: 1 }), 1)).toBeUndefined();
    expect(() => packer.add(prepare({ listId: 1_000_000, leadId: 10_000_000 }), 2)).toThrow(ItemTooLargeError);
    expect(packer.flush()).toMatchObject({ body: '{"listId":1,"leads":[{"leadId":1}]}', items: [1] });
  });

  it("never exceeds the limits, keeps file order, one list per request, and closes only when it must", () => {
    // Files hold runs of rows of one list, as a file sorted (or mostly sorted) by list would.
    const rowsArb = fc
      .array(
        fc.record({
          listId: fc.constantFrom(1, 2, 1_000_000),
          leadIds: fc.array(fc.integer({ min: 1, max: 10_000_000 }), { minLength: 1, maxLength: 60 }),
        }),
        { minLength: 1, maxLength: 8 },
      )
      .map((runs) => runs.flatMap(({ listId, leadIds }) => leadIds.map((leadId) => ({ listId, leadId }))));
    const seen = { closedOnCount: 0, closedOnBytes: 0, closedOnList: 0 };
    fc.assert(
      fc.property(
        rowsArb,
        fc.integer({ min: 1, max: 50 }),
        fc.integer({ min: 60, max: 2_000 }),
        (rows, maxObjects, maxBytes) => {
          const batches = pack(rows, { maxObjects, maxBytes });
          // Every row, once, in file order.
          expect(batches.flatMap((b) => b.items)).toEqual(rows.map((_, i) => i + 1));
          batches.forEach((batch, i) => {
            const body = bodyOf(batch);
            expect(batch.bytes).toBe(Buffer.byteLength(batch.body));
            expect(batch.bytes).toBeLessThanOrEqual(maxBytes);
            expect(batch.items.length).toBeLessThanOrEqual(maxObjects);
            expect(() => validateListRequest(body, simulatorLimits(maxObjects), false)).not.toThrow();
            expect(batch.items.map((r) => rows[r - 1]?.listId)).toEqual(batch.items.map(() => body.listId));
            expect(body.leads.map((l) => l.leadId)).toEqual(batch.items.map((r) => rows[r - 1]?.leadId));
            const next = batches[i + 1];
            if (!next) return;
            // Greedy: the next row's lead would have broken a limit, or it belongs to another list.
            const nextRow = rows[(next.items[0] as number) - 1] as { listId: number; leadId: number };
            const full = batch.items.length === maxObjects;
            const overflows = batch.bytes + 1 + leadJsonBytes(nextRow.leadId) > maxBytes;
            const otherList = nextRow.listId !== body.listId;
            expect(full || overflows || otherList).toBe(true);
            if (otherList) seen.closedOnList++;
            else if (full) seen.closedOnCount++;
            else seen.closedOnBytes++;
          });
        },
      ),
      { seed: 20261124, numRuns: 200 },
    );
    // Each reason to close a request was exercised, not just possible.
    expect(seen.closedOnList).toBeGreaterThan(100);
    expect(seen.closedOnCount).toBeGreaterThan(100);
    expect(seen.closedOnBytes).toBeGreaterThan(100);
  });
});
