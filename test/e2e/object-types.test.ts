import { lambdaContext } from "../../local/lambda-context.ts";
import { gzipSync } from "node:zlib";
import { ListObjectsV2Command } from "@aws-sdk/client-s3";
import { describe, expect, it } from "vitest";
import { createSplitterHandler } from "../../functions/splitter/handler.ts";
import { objectCreatedEvent } from "../../local/s3-notification.ts";
import { expectEveryRowAccountedFor, readIssueRows } from "./accounting.ts";
import { useHarness } from "./harness.ts";

const h = useHarness();

const accepted = () => h().sim.requests.filter((r) => r.status === 202);
const csv = (header: string[], rows: (string | number)[][], delimiter = ",") =>
  `${[header, ...rows].map((row) => row.join(delimiter)).join("\n")}\n`;

describe("each object type, from a drop under its prefix to Marketo", () => {
  it("custom objects: customobjects/{apiName}/ goes to that object, with declared types applied", async () => {
    const rows = Array.from({ length: 1_200 }, (_, i) => [
      `a${i}@example.com`,
      `VIN${String(i).padStart(6, "0")}`,
      "BMW",
      1990 + (i % 30),
    ]);
    const result = await h().run("customobjects/car_c/2026/cars.csv", csv(["email", "vin", "make", "year"], rows), {
      metadata: { "field-types": "year:integer", priority: "high" },
    });

    expect(result.summary).toMatchObject({ status: "complete", rowsRead: 1_200, accepted: 1_200, requests: 2 });
    expect(accepted().map((r) => r.path)).toEqual(
      Array(2).fill(`/subscriptions/${h().sim.munchkinId}/customobjects/car_c`),
    );
    const cars = h().sim.customObjects("car_c");
    expect(cars).toHaveLength(1_200);
    expect(cars.find((c) => c.fields.vin === "VIN000007")?.fields).toEqual({
      email: "a7@example.com",
      vin: "VIN000007",
      make: "BMW",
      year: 1997,
    });
    expect(result.manifest?.options).toEqual({
      apiName: "car_c",
      priority: "high",
      dedupeBy: "dedupeFields",
      fieldTypes: { year: "integer" },
    });
  });

  it("companies: rows breaking the dedupe rule are rejected alone; the rest arrive", async () => {
    const file = csv(
      ["externalCompanyId", "company", "numberOfEmployees"],
      [
        ["ext-1", "Acme", "5000"],
        ["", "No Key Ltd", "10"],
        ["ext-3", "Globex", "1200"],
      ],
    );
    const result = await h().run("companies/accounts.csv", file, {
      sidecar: JSON.stringify({ action: "createOrUpdate", fieldTypes: { numberOfEmployees: "integer" } }),
    });

    expect(result.summary).toMatchObject({ status: "complete with failures", rowsRead: 3, accepted: 2, rejected: 1 });
    expect(result.manifest?.rejectedRows).toEqual([
      {
        row: 2,
        line: 3,
        field: "externalCompanyId",
        reason: "externalCompanyId is required when dedupeBy is dedupeFields",
      },
    ]);
    expect(
      h()
        .sim.companies()
        .map((c) => c.fields)
        .sort((a, b) => String(a.company).localeCompare(String(b.company))),
    ).toEqual([
      { externalCompanyId: "ext-1", company: "Acme", numberOfEmployees: 5000 },
      { externalCompanyId: "ext-3", company: "Globex", numberOfEmployees: 1200 },
    ]);
  });

  it("companies: updateOnly by idField sends integer ids", async () => {
    const result = await h().run("companies/renames.csv", csv(["id", "company"], [["12345", "Acme (Renamed)"]]), {
      metadata: { action: "updateOnly", "dedupe-by": "idField" },
    });
    expect(result.summary).toMatchObject({ status: "complete", accepted: 1 });
    expect(accepted()).toEqual([expect.objectContaining({ endpoint: "companies", objectCount: 1 })]);
  });

  it("program members: rows are grouped per program and status, ≤ 1,000 leads per request across programs", async () => {
    const rows = Array.from({ length: 1_500 }, (_, i) => [1001 + (i % 2), 10_000 + i, i % 3 ? "Member" : "Influenced"]);
    rows.push([1001, 99_999, "Not in Program"]);
    const result = await h().run("programmembers/webinar.csv", csv(["programId", "leadId", "status"], rows));

    expect(result.summary).toMatchObject({
      status: "complete with failures",
      rowsRead: 1_501,
      accepted: 1_500,
      rejected: 1,
    });
    expect(result.manifest?.rejectedRows[0]).toMatchObject({ row: 1_501, field: "status" });
    expect(result.manifest?.rejectedRows[0]?.reason).toMatch(/programmembers\/delete/);
    // Requests run concurrently: their order at Marketo is not the file's order.
    expect(
      accepted()
        .map((r) => r.objectCount)
        .sort((a, b) => b - a),
    ).toEqual([1000, 500]);
    const members = h().sim.programMembers();
    expect(members).toHaveLength(1_500);
    expect(members.find((m) => m.leadId === 10_003)).toMatchObject({
      programId: 1002,
      status: "Influenced",
      writes: 1,
    });
  });

  it("program members delete: programmembers/delete/ removes exactly the listed members", async () => {
    await h().run(
      "programmembers/seed.csv",
      csv(
        ["programId", "leadId", "statusName"],
        [
          [7, 1, "Member"],
          [7, 2, "Member"],
          [8, 1, "Member"],
        ],
      ),
    );
    expect(h().sim.programMembers()).toHaveLength(3);
    const result = await h().run(
      "programmembers/delete/cleanup.csv",
      csv(
        ["programId", "leadId"],
        [
          [7, 2],
          [8, 1],
        ],
      ),
    );

    expect(result.summary).toMatchObject({ status: "complete", accepted: 2 });
    expect(
      h()
        .sim.programMembers()
        .map((m) => m.key),
    ).toEqual(["7:1"]);
    expect(accepted().at(-1)).toMatchObject({ endpoint: "programmembers/delete", objectCount: 2 });
  });
});

describe("static lists: lists/ adds leads, lists/remove/ removes them", () => {
  const membersOf = (listId: number) =>
    h()
      .sim.listMembers()
      .filter((m) => m.listId === listId)
      .map((m) => m.leadId)
      .sort((a, b) => a - b);
  const range = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => from + i);

  it("a listId column spanning two lists: one list per request, ≤ 1,000 leads each, every lead added once", async () => {
    // 1,200 leads for list 501 then 300 for list 502; some rows name the lead by its alias `id`.
    const rows = [
      ...range(1, 1_200).map((leadId) => [501, leadId % 7 ? leadId : "", leadId % 7 ? "" : leadId]),
      ...range(5_001, 5_300).map((leadId) => [502, leadId, ""]),
    ];
    const result = await h().run("lists/2026/newsletter.csv", csv(["listId", "leadId", "id"], rows));

    expectEveryRowAccountedFor(result);
    expect(result.summary).toMatchObject({ status: "complete", rowsRead: 1_500, accepted: 1_500, requests: 3 });
    expect(accepted().map((r) => r.path)).toEqual(Array(3).fill(`/subscriptions/${h().sim.munchkinId}/lists`));
    expect(
      accepted()
        .map((r) => r.objectCount)
        .sort((a, b) => b - a),
    ).toEqual([1000, 300, 200]);
    expect(membersOf(501)).toEqual(range(1, 1_200));
    expect(membersOf(502)).toEqual(range(5_001, 5_300));
    expect(
      h()
        .sim.listMembers()
        .filter((m) => m.writes !== 1),
    ).toEqual([]);
  });

  it("lists/remove/ with the file's listId option removes exactly the listed leads from that list", async () => {
    const seed = [...range(1, 20).map((leadId) => [501, leadId]), ...range(1, 5).map((leadId) => [502, leadId])];
    await h().run("lists/seed.csv", csv(["listId", "leadId"], seed));
    expect(h().sim.listMembers()).toHaveLength(25);

    const result = await h().run(
      "lists/remove/unsubscribed.csv",
      csv(
        ["leadId"],
        range(1, 10).map((id) => [id]),
      ),
      {
        metadata: { "list-id": "501" },
      },
    );

    expectEveryRowAccountedFor(result);
    expect(result.summary).toMatchObject({ status: "complete", rowsRead: 10, accepted: 10, requests: 1 });
    expect(result.manifest?.options).toEqual({ listId: 501 });
    expect(result.report).toMatchObject({ objectType: "lists/remove", accepted: 10 });
    expect(accepted().at(-1)).toMatchObject({ endpoint: "lists/remove", objectCount: 10 });
    expect(membersOf(501)).toEqual(range(11, 20));
    expect(membersOf(502)).toEqual(range(1, 5));
  });

  it("rows breaking a rule are rejected alone with row, field and reason; the rest reach the list", async () => {
    const file = csv(
      ["listId", "leadId", "id", "email"],
      [
        [601, 1, "", ""],
        ["", 2, "", ""],
        [0, 3, "", ""],
        [601, "abc", "", ""],
        [601, 5, 6, ""],
        [601, 7, "", "x@example.com"],
        [601, "", 8, ""],
      ],
    );
    const result = await h().run("lists/mixed.csv", file);

    expectEveryRowAccountedFor(result);
    expect(result.summary).toMatchObject({ status: "complete with failures", rowsRead: 7, accepted: 2, rejected: 5 });
    expect(result.manifest?.rejectedRows).toEqual([
      {
        row: 2,
        line: 3,
        field: "listId",
        reason: "listId is required (a listId column, or the file's listId option)",
      },
      { row: 3, line: 4, field: "listId", reason: "listId must be a positive integer" },
      { row: 4, line: 5, field: "leadId", reason: "leadId must be a positive integer" },
      { row: 5, line: 6, field: "leadId", reason: "leadId and id disagree (id is an alias of leadId)" },
      {
        row: 6,
        line: 7,
        field: "email",
        reason: "email is not accepted in a list row (only listId, and leadId or its alias id)",
      },
    ]);
    const issues = await readIssueRows(h(), result);
    expect(issues.map((issue) => [issue.row, issue.outcome, issue.field])).toEqual([
      ["2", "rejected", "listId"],
      ["3", "rejected", "listId"],
      ["4", "rejected", "leadId"],
      ["5", "rejected", "leadId"],
      ["6", "rejected", "email"],
    ]);
    expect(membersOf(601)).toEqual([1, 8]);
    expect(h().sim.listMembers()).toHaveLength(2);
  });
});

describe("formats and encodings", () => {
  const people = (n: number) => Array.from({ length: n }, (_, i) => [`p${i}@example.com`, `Name ${i}`, "04906"]);
  const header = ["email", "firstName", "postalCode"];
  const expectAllPersons = (n: number) => {
    const stored = h().sim.persons();
    expect(stored).toHaveLength(n);
    expect(stored.find((p) => p.fields.email === "p1@example.com")?.fields).toEqual({
      email: "p1@example.com",
      firstName: "Name 1",
      postalCode: "04906",
    });
  };

  it.each([
    ["TSV by extension", "persons/a.tsv", csv(header, people(30), "\t"), {}],
    ["SSV by option", "persons/a.txt", csv(header, people(30), ";"), { metadata: { format: "ssv" } }],
    ["CSV with a UTF-8 BOM", "persons/bom.csv", `\uFEFF${csv(header, people(30))}`, {}],
    [
      "JSON array",
      "persons/a.json",
      JSON.stringify(people(30).map(([email, firstName, postalCode]) => ({ email, firstName, postalCode }))),
      {},
    ],
    [
      "NDJSON",
      "persons/a.ndjson",
      people(30)
        .map(([email, firstName, postalCode]) => JSON.stringify({ email, firstName, postalCode }))
        .join("\n"),
      {},
    ],
  ])("%s", async (_name, key, content, extra) => {
    const result = await h().run(key, content, extra);
    expect(result.summary).toMatchObject({ status: "complete", rowsRead: 30, accepted: 30 });
    expectAllPersons(30);
  });

  // Content-Encoding itself is covered by a unit test: the local emulator does not store it.
  it("gzip, by .gz name or by its content when nothing declares it", async () => {
    const zipped = gzipSync(Buffer.from(csv(header, people(20))));
    const byName = await h().run("persons/a.csv.gz", zipped);
    expect(byName.manifest?.error).toBeUndefined();
    expect(byName.summary).toMatchObject({ accepted: 20 });
    h().sim.reset();
    const byEncoding = await h().run("persons/b.csv", zipped);
    expect(byEncoding.manifest?.error).toBeUndefined();
    expect(byEncoding.summary).toMatchObject({ accepted: 20 });
    expectAllPersons(20);
  });

  it("JSON inputs keep their types; CSV ids are converted to integers", async () => {
    const members = [{ programId: 5, leadId: 6, status: "Member", attended: true, score: 7.5 }];
    const result = await h().run("programmembers/a.json", JSON.stringify(members));
    expect(result.summary).toMatchObject({ accepted: 1 });
    expect(h().sim.programMembers()[0]?.fields).toEqual({ leadId: 6, attended: true, score: 7.5 });
  });

  it.each([
    [
      "a Latin-1 file",
      "persons/latin1.csv",
      Buffer.from("email,firstName\nz@example.com,Zo\xeb\n", "latin1"),
      {},
      "NOT_UTF8",
    ],
    ["a .gz that is not gzip", "persons/a.csv.gz", Buffer.from("email\na@example.com\n"), {}, "NOT_GZIP"],
    [
      "invalid options",
      "companies/a.csv",
      Buffer.from("externalCompanyId\ne1\n"),
      { metadata: { action: "CreateOnly" } },
      "INVALID_OPTIONS",
    ],
    [
      "a sidecar that is not JSON",
      "persons/a.csv",
      Buffer.from("email\na@example.com\n"),
      { sidecar: "{priority:" },
      "INVALID_OPTIONS",
    ],
    [
      "an option the type does not take",
      "persons/a.csv",
      Buffer.from("email\na@example.com\n"),
      { metadata: { "dedupe-by": "idField" } },
      "INVALID_OPTIONS",
    ],
    ["an unknown custom object path", "customobjects/a.csv", Buffer.from("vin\n1\n"), {}, "UNKNOWN_OBJECT_TYPE"],
  ])("%s is rejected whole with a report, and nothing is sent", async (_name, key, bytes, extra, code) => {
    const result = await h().run(key, bytes, extra);
    expect(result.manifest).toMatchObject({ status: "rejected", error: { code } });
    expect(result.summary).toMatchObject({ status: "rejected", accepted: 0 });
    expect(h().sim.requests).toHaveLength(0);
  });
});

describe("per-file options", () => {
  it("metadata wins over the sidecar, which wins over stack defaults", async () => {
    const result = await h().run("persons/partitioned.csv", "email\na@example.com\n", {
      splitterEnv: { DEFAULT_FILE_OPTIONS: JSON.stringify({ persons: { partitionName: "Stack", priority: "high" } }) },
      sidecar: JSON.stringify({ partitionName: "Sidecar", dedupeFields: ["email"] }),
      metadata: { "partition-name": "Metadata" },
    });
    expect(result.manifest?.options).toEqual({ priority: "high", partitionName: "Metadata", dedupeFields: ["email"] });
    expect(
      h()
        .sim.persons()
        .map((p) => p.key),
    ).toEqual(["Metadata|a@example.com"]);
  });

  it("a sidecar's own arrival is not split", async () => {
    const splitter = createSplitterHandler({
      ...h().aws.awsEnv,
      INGESTION_QUEUE_URL: h().aws.ingestionQueueUrl,
      BULK_QUEUE_URL: h().aws.bulkQueueUrl,
      REPORT_QUEUE_URL: h().aws.reportQueueUrl,
      WORK_BUCKET: h().aws.workBucket,
    });
    await splitter(
      objectCreatedEvent({ bucket: h().aws.dropBucket, key: "persons/x.csv.options.json", size: 2 }),
      lambdaContext("splitter"),
    );
    const reports = await h().aws.s3.send(
      new ListObjectsV2Command({ Bucket: h().aws.workBucket, Prefix: "reports/persons/x.csv.options.json" }),
    );
    expect(reports.KeyCount ?? 0).toBe(0);
  });
});
