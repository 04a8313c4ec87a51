import { describe, expect, it } from "vitest";
import { readIssueRows } from "./accounting.ts";
import { useHarness } from "./harness.ts";

// Jobs import for 400 ms, two at a time: long enough that a many-part file fills Marketo's queue.
const h = useHarness({ bulkImportMs: 400, customObjectDedupeFields: { car_c: ["vin"] } });

const csv = (header: string[], rows: (string | number)[][], delimiter = ",") =>
  `${[header, ...rows].map((row) => row.join(delimiter)).join("\n")}\n`;

const leadRows = (count: number, from = 0) =>
  Array.from({ length: count }, (_, i) => [`lead${from + i}@example.com`, `First ${from + i}`, String(i % 100)]);

describe("Bulk Import, from a drop under bulk/ to Marketo's job queue", () => {
  it("leads: every row ends imported, failed with Marketo's reason, or warned, at its original row number", async () => {
    const rows = leadRows(30);
    rows[4] = ["not-an-email", "Warned", "5"]; // row 5: imported with a warning (lookup by id below keeps it)
    rows[9] = ["lead9@example.com", "Bad Score", "oops"]; // row 10: Marketo fails it (leadScore is an integer)
    rows[19] = ["", "No Email", "1"]; // row 20: refused before sending (blank lookup field)
    const file = csv(["email", "firstName", "leadScore"], rows);

    const result = await h().run("bulk/leads/2026/leads.csv", file, { metadata: { "partition-name": "EMEA" } });

    expect(result.summary).toMatchObject({
      status: "complete with failures",
      rowsRead: 30,
      accepted: 28,
      failed: 1,
      rejected: 1,
      warned: 1,
      deadLettered: 0,
      pending: 0,
    });
    expect(result.manifest).toMatchObject({ mode: "bulk", objectType: "bulk/leads", batches: 1 });
    expect(result.manifest?.rejectedRows).toEqual([
      { row: 20, line: 21, field: "email", reason: "the lookup field email is blank" },
    ]);
    const [outcome] = result.outcomes;
    expect(outcome?.rowFailures).toEqual([{ row: 10, reason: "Invalid data type in field leadScore" }]);
    expect(outcome?.rowWarnings).toEqual([{ row: 5, reason: "Invalid email address" }]);
    expect(outcome?.job).toMatchObject({ status: "Complete", processed: 28, failed: 1, warnings: 1 });

    // rows-with-issues.csv: the refused, the failed and the warned row, each at its row and line, with the code
    // report.json groups the failure under.
    expect(await readIssueRows(h(), result)).toEqual([
      {
        row: "5",
        line: "6",
        outcome: "warned",
        code: "",
        field: "",
        reason: "Invalid email address",
        email: "not-an-email",
        firstName: "Warned",
        leadScore: "5",
      },
      {
        row: "10",
        line: "11",
        outcome: "failed",
        code: "import_row_failed",
        field: "",
        reason: "Invalid data type in field leadScore",
        email: "lead9@example.com",
        firstName: "Bad Score",
        leadScore: "oops",
      },
      {
        row: "20",
        line: "21",
        outcome: "rejected",
        code: "",
        field: "email",
        reason: "the lookup field email is blank",
        email: "",
        firstName: "No Email",
        leadScore: "1",
      },
    ]);
    expect(result.report?.failures).toEqual([
      { outcome: "failed", code: "import_row_failed", message: "Invalid data type in field leadScore", rows: 1 },
    ]);
    expect(result.report?.rowsWithIssues?.rows).toBe(3);

    const job = h().sim.bulkJobs.at(-1);
    expect(job).toMatchObject({ objectType: "leads", rowCount: 29, options: { partitionName: "EMEA" } });
    const persons = h().sim.persons();
    expect(persons).toHaveLength(28);
    expect(persons.every((p) => p.writes === 1)).toBe(true);
    expect(persons.find((p) => p.fields.email === "lead7@example.com")?.fields).toEqual({
      email: "lead7@example.com",
      firstName: "First 7",
      leadScore: "7",
    });
  });

  it("when other integrations fill Marketo's queue (1016), parts wait and are imported later, never dropped", async () => {
    h().sim.occupyBulkQueue(10);
    const release = setTimeout(() => h().sim.releaseBulkQueue(), 2_500);
    try {
      const result = await h().run("bulk/leads/busy.csv", csv(["email", "firstName", "leadScore"], leadRows(40)));
      expect(result.summary).toMatchObject({ status: "complete", accepted: 40, deadLettered: 0 });
    } finally {
      clearTimeout(release);
    }
    expect(h().sim.bulkStats().tooManyImports).toBeGreaterThanOrEqual(1);
    expect(h().sim.persons()).toHaveLength(40);
  });

  it("a Failed job is reported with Marketo's message, its rows failed, and not retried", async () => {
    h().sim.injectFault({
      kind: "failJob",
      message: "Import failed: file could not be read",
      path: "/bulk/v1/leads.json",
    });
    const result = await h().run("bulk/leads/doomed.csv", csv(["email", "firstName", "leadScore"], leadRows(12)));

    expect(result.summary).toMatchObject({ status: "complete with failures", accepted: 0, failed: 12, pending: 0 });
    expect(result.outcomes[0]).toMatchObject({
      status: "failed",
      failure: { code: "job_failed", message: "Import failed: file could not be read" },
      job: { status: "Failed" },
    });
    expect(h().sim.bulkJobs.filter((j) => !j.foreign)).toHaveLength(1);
  });

  it("transient errors on submit and poll (606, 615, 5xx, 1029, reset) are retried and every row arrives once", async () => {
    const sim = h().sim;
    sim.injectFault({ kind: "restError", code: "606", path: "/bulk/v1/leads.json" });
    sim.injectFault({ kind: "restError", code: "1029", path: "/bulk/v1/leads.json" });
    sim.injectFault({ kind: "status", status: 503, path: "/bulk/v1/leads.json" });
    sim.injectFault({ kind: "restError", code: "615", path: "/bulk/v1/leads/batch/" });
    sim.injectFault({ kind: "reset", path: "/bulk/v1/leads/batch/" });
    sim.expireTokens();

    const result = await h().run("bulk/leads/flaky.csv", csv(["email", "firstName", "leadScore"], leadRows(25)));

    expect(result.summary).toMatchObject({ status: "complete", accepted: 25, deadLettered: 0 });
    expect(sim.bulkJobs.filter((j) => !j.foreign)).toHaveLength(1);
    expect(sim.persons().every((p) => p.writes === 1)).toBe(true);
  });

  it("custom objects: bulk/customobjects/{apiName}/ imports into that object; a missing dedupe value fails its row", async () => {
    const file = csv(
      ["vin", "make", "model"],
      [
        ["V1", "BMW", "320i"],
        ["", "Audi", "A4"],
        ["V3", "VW", '"Golf; GTI"'],
      ],
      ";",
    );
    const result = await h().run("bulk/customobjects/car_c/cars.ssv", file);

    expect(result.summary).toMatchObject({ status: "complete with failures", accepted: 2, failed: 1 });
    expect(result.outcomes[0]?.rowFailures).toEqual([{ row: 2, reason: "Missing value for dedupe field vin" }]);
    expect(h().sim.bulkJobs.at(-1)).toMatchObject({ objectType: "customobjects", apiName: "car_c", format: "ssv" });
    expect(
      h()
        .sim.customObjects("car_c")
        .map((c) => c.fields)
        .sort((a, b) => String(a.vin).localeCompare(String(b.vin))),
    ).toEqual([
      { vin: "V1", make: "BMW", model: "320i" },
      { vin: "V3", make: "VW", model: "Golf; GTI" },
    ]);
  });

  it("program members: bulk/programmembers/{programId}/ with the status from the sidecar", async () => {
    const file = csv(
      ["email", "firstName"],
      [
        ["a@example.com", "A"],
        ["b@example.com", "B"],
      ],
    );
    const result = await h().run("bulk/programmembers/1044/webinar.csv", file, {
      sidecar: JSON.stringify({ programMemberStatus: "Registered" }),
    });

    expect(result.summary).toMatchObject({ status: "complete", accepted: 2 });
    expect(result.manifest?.objectType).toBe("bulk/programmembers/1044");
    expect(
      h()
        .sim.bulkProgramMembers()
        .map(({ key, status }) => ({ key, status })),
    ).toEqual(
      expect.arrayContaining([
        { key: "1044:a@example.com", status: "Registered" },
        { key: "1044:b@example.com", status: "Registered" },
      ]),
    );
  });

  it("mode=bulk sends a persons/ file as a lead import with its lookup field and list", async () => {
    const file = csv(
      ["id", "firstName"],
      [
        ["101", "A"],
        ["102", "B"],
      ],
    );
    const result = await h().run("persons/by-id.csv", file, {
      metadata: { mode: "bulk", "lookup-field": "id", "list-id": "5001" },
    });

    expect(result.summary).toMatchObject({ status: "complete", accepted: 2 });
    expect(h().sim.requests).toHaveLength(0);
    expect(h().sim.bulkJobs.at(-1)).toMatchObject({
      objectType: "leads",
      options: { lookupField: "id", listId: "5001" },
    });
  });

  it("a bulk file with an option its type does not take is rejected whole, and nothing is stored or sent", async () => {
    const result = await h().run("bulk/programmembers/1044/no-status.csv", csv(["email"], [["a@example.com"]]));
    expect(result.summary.status).toBe("rejected");
    expect(result.manifest?.error).toMatchObject({ code: "INVALID_OPTIONS" });
    expect(h().sim.bulkJobs).toHaveLength(0);
  });
});
