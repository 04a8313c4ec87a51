import { describe, expect, it } from "vitest";
import { useHarness } from "./harness.ts";

// Each job imports for 3 s, two at a time: 12 parts cannot finish before the 11th wants to start, even when a
// loaded machine takes a few seconds to split and submit them (at 1.5 s the queue sometimes peaked at 7–9 jobs).
const h = useHarness({ bulkImportMs: 3_000 });

const leadsCsv = (count: number, prefix: string) =>
  `email,firstName\n${Array.from({ length: count }, (_, i) => `${prefix}${i}@example.com,First ${i}`).join("\n")}\n`;

describe("Bulk Import job limits, however many importers run", () => {
  it("12 parts through 8 concurrent importers: never more than 10 jobs open or 2 importing, none refused, every row once", async () => {
    const result = await h().run("bulk/leads/many-parts.csv", leadsCsv(840, "m"), {
      splitterEnv: { BULK_MAX_PART_BYTES: "2048" },
      bulkEventSource: { maxConcurrency: 8, batchSize: 2 },
    });

    const parts = result.manifest?.batches ?? 0;
    expect(parts).toBeGreaterThanOrEqual(12);
    expect(result.summary).toMatchObject({ status: "complete", rowsRead: 840, accepted: 840, pending: 0 });
    const { sim } = h();
    const stats = sim.bulkStats();
    // The queue filled to exactly the limit (so the job slots are what held the rest back), and Marketo never
    // had to refuse a job: the coordination, not Marketo's 1016, kept the limit.
    expect(stats).toEqual({ maxOpen: 10, maxImporting: 2, tooManyImports: 0 });
    expect(sim.bulkLog.every((entry) => entry.open <= 10 && entry.importing <= 2)).toBe(true);
    expect(sim.bulkJobs).toHaveLength(parts);
    expect(sim.bulkJobs.every((job) => job.status === "Complete" && job.bytes <= 2048)).toBe(true);
    expect(sim.persons()).toHaveLength(840);
    expect(sim.persons().every((person) => person.writes === 1)).toBe(true);
  });

  it("two files at once share the same 10 slots", async () => {
    const [a, b] = await Promise.all([
      h().run("bulk/leads/first.csv", leadsCsv(420, "a"), {
        splitterEnv: { BULK_MAX_PART_BYTES: "2048" },
        bulkEventSource: { maxConcurrency: 4 },
      }),
      h().run("bulk/leads/second.csv", leadsCsv(420, "b"), {
        splitterEnv: { BULK_MAX_PART_BYTES: "2048" },
        bulkEventSource: { maxConcurrency: 4 },
      }),
    ]);

    expect(a.summary).toMatchObject({ status: "complete", accepted: 420 });
    expect(b.summary).toMatchObject({ status: "complete", accepted: 420 });
    expect((a.manifest?.batches ?? 0) + (b.manifest?.batches ?? 0)).toBeGreaterThanOrEqual(12);
    expect(h().sim.bulkStats()).toMatchObject({ maxOpen: 10, tooManyImports: 0 });
    expect(h().sim.persons()).toHaveLength(840);
  });
});
