import fc from "fast-check";
import { describe, expect, it } from "vitest";
import type { PackedBatch } from "../../../shared/batching/batch-packer.ts";
import { validateProgramMembers } from "../../../local/marketo-simulator/request-rules.ts";
import { resolveFileOptions } from "../../../shared/options/file-options.ts";
import { routeForObjectName } from "../../../shared/options/object-route.ts";
import { planRequests } from "../../../functions/splitter/request-plan.ts";

type Row = { programId: number; leadId: number; status: string; note?: string };

function pack(rows: Row[], limits: { maxObjects: number; maxBytes: number }, object = "programmembers") {
  const plan = planRequests(resolveFileOptions(routeForObjectName(object), {}), false);
  const packer = plan.createPacker(limits);
  const batches: PackedBatch<number>[] = [];
  rows.forEach((row, i) => {
    const prepared = plan.prepare(
      object === "programmembers" ? { ...row } : { programId: row.programId, leadId: row.leadId },
    );
    if (!prepared.ok) throw new Error(prepared.reason);
    const closed = packer.add(prepared, i + 1);
    if (closed) batches.push(closed);
  });
  const last = packer.flush();
  if (last) batches.push(last);
  return batches;
}

const simulatorLimits = (maxObjects: number) => ({ maxObjects, customPersonDedupeFields: new Set<string>() });

describe("program members packing", () => {
  it("groups members under programs[].members[] by program and status, counting leads across programs", () => {
    const rows: Row[] = Array.from({ length: 2500 }, (_, i) => ({
      programId: 1000 + (i % 3),
      leadId: i + 1,
      status: i % 2 ? "Member" : "Attended",
    }));
    const batches = pack(rows, { maxObjects: 1000, maxBytes: 1_000_000 });

    expect(batches.map((b) => b.items.length)).toEqual([1000, 1000, 500]);
    for (const batch of batches) {
      const body = JSON.parse(batch.body) as { programs: { programId: number; status: string; members: unknown[] }[] };
      // The simulator's rules were written separately from the client's: each checks the other.
      expect(() => validateProgramMembers(body, simulatorLimits(1000), false)).not.toThrow();
      expect(body.programs).toHaveLength(6);
      expect(body.programs.reduce((n, p) => n + p.members.length, 0)).toBe(batch.items.length);
    }
    const sent = batches.flatMap((b) =>
      (
        JSON.parse(b.body) as { programs: { programId: number; status: string; members: { leadId: number }[] }[] }
      ).programs.flatMap((p) => p.members.map((m) => `${p.programId}/${p.status}/${m.leadId}`)),
    );
    expect(sent.sort()).toEqual(rows.map((r) => `${r.programId}/${r.status}/${r.leadId}`).sort());
  });

  it("sends delete requests without a status", () => {
    const [batch] = pack(
      [
        { programId: 7, leadId: 1, status: "" },
        { programId: 7, leadId: 2, status: "" },
      ],
      {
        maxObjects: 1000,
        maxBytes: 1_000_000,
      },
      "programmembers/delete",
    );
    expect(JSON.parse(batch?.body ?? "")).toEqual({
      programs: [{ programId: 7, members: [{ leadId: 1 }, { leadId: 2 }] }],
    });
  });

  it("never exceeds the limits, counts bytes exactly, closes a batch only when the next member would not fit", () => {
    const row = fc.record({
      programId: fc.integer({ min: 1, max: 4 }),
      leadId: fc.integer({ min: 1, max: 1_000_000 }),
      status: fc.constantFrom("Member", "Attended", "Registered – Ω"),
      note: fc.string({ maxLength: 40 }),
    });
    fc.assert(
      fc.property(
        fc.array(row, { minLength: 1, maxLength: 300 }),
        fc.integer({ min: 1, max: 50 }),
        fc.integer({ min: 200, max: 4000 }),
        (rows, maxObjects, maxBytes) => {
          const batches = pack(rows, { maxObjects, maxBytes });
          let packed = 0;
          batches.forEach((batch, i) => {
            expect(batch.bytes).toBe(Buffer.byteLength(batch.body));
            expect(batch.bytes).toBeLessThanOrEqual(maxBytes);
            expect(batch.items.length).toBeLessThanOrEqual(maxObjects);
            expect(() =>
              validateProgramMembers(JSON.parse(batch.body), simulatorLimits(maxObjects), false),
            ).not.toThrow();
            packed += batch.items.length;
            const next = batches[i + 1];
            if (next && batch.items.length < maxObjects) {
              // Greedy: the first member of the next batch did not fit in this one.
              const withNext = pack(rows.slice((batch.items[0] as number) - 1, next.items[0] as number), {
                maxObjects,
                maxBytes,
              });
              expect(withNext.length).toBeGreaterThan(1);
            }
          });
          expect(packed).toBe(rows.length);
        },
      ),
      { seed: 20261123, numRuns: 150 },
    );
  });
});
