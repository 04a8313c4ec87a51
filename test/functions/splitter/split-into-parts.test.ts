import { parse } from "csv-parse/sync";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { BulkPartMessageSchema } from "../../../shared/contracts/bulk-message.ts";
import { bulkRouteForKey } from "../../../shared/options/bulk-route.ts";
import { cellText, formatCsvLine } from "../../../shared/text/csv-text.ts";
import { mapJobRows } from "../../../functions/bulk-importer/map-job-rows.ts";
import { splitIntoParts } from "../../../functions/splitter/split-into-parts.ts";
import type { BulkPartSink } from "../../../shared/contracts/batch-publisher.ts";
import { readCsvRows } from "../../../shared/parsing/csv-rows.ts";
import { readNdjsonRows } from "../../../shared/parsing/json-rows.ts";
import { InputFileError } from "../../../shared/parsing/input-file-error.ts";
import { resolveTarget } from "../../../shared/options/file-options.ts";
import { routeForObjectKey } from "../../../shared/options/object-route.ts";

class MemorySink implements BulkPartSink {
  readonly parts = new Map<string, string>();
  readonly messages: string[] = [];
  async putPart(key: string, text: string): Promise<void> {
    this.parts.set(key, text);
  }
  async publish(message: { id: string; body: string }): Promise<void> {
    // A message is only ever announced after its part is stored.
    const parsed = BulkPartMessageSchema.parse(JSON.parse(message.body));
    expect(this.parts.has(parsed.part.key)).toBe(true);
    this.messages.push(message.body);
  }
  async flush(): Promise<void> {}
}

async function* bytes(text: string): AsyncGenerator<Uint8Array> {
  yield Buffer.from(text, "utf8");
}

const file = { bucket: "drop", key: "bulk/leads/a.csv", reportPrefix: "reports/bulk/leads/a.csv/v1/" };

const splitLeads = (csv: string, maxPartBytes: number, sink = new MemorySink(), lookupField?: string) =>
  splitIntoParts(
    {
      file,
      route: { target: "leads" },
      params: { format: "csv", ...(lookupField ? { lookupField } : {}) },
      openRows: () => readCsvRows(bytes(csv)),
      maxPartBytes,
    },
    sink,
  ).then((summary) => ({
    summary,
    sink,
    messages: sink.messages.map((m) => BulkPartMessageSchema.parse(JSON.parse(m))),
  }));

describe("splitting a file into import parts", () => {
  it("keeps every part under the byte limit, each with the header, and maps part rows to original rows", async () => {
    const rows = Array.from({ length: 500 }, (_, i) => `p${i}@example.com,Name ${i},"Acme, Inc."`);
    const csv = `email,firstName,company\n${rows.join("\n")}\n`;
    const { summary, sink, messages } = await splitLeads(csv, 1_500);

    expect(summary.rowsRead).toBe(500);
    expect(summary.rowsQueued).toBe(500);
    expect(messages.length).toBe(summary.batches);
    expect(messages.length).toBeGreaterThanOrEqual(12);
    const seen: number[] = [];
    for (const message of messages) {
      const text = sink.parts.get(message.part.key) as string;
      expect(Buffer.byteLength(text)).toBe(message.part.bytes);
      expect(message.part.bytes).toBeLessThanOrEqual(1_500);
      const [header, ...records] = parse(text) as string[][];
      expect(header).toEqual(["email", "firstName", "company"]);
      expect(records).toHaveLength(message.part.rowCount);
      const original = message.part.rows.flatMap(([from, to]) =>
        Array.from({ length: to - from + 1 }, (_, k) => from + k),
      );
      records.forEach((record, i) => expect(record[0]).toBe(`p${(original[i] as number) - 1}@example.com`));
      seen.push(...original);
      expect(record0(records)).toBe("Acme, Inc.");
    }
    expect(seen).toEqual(Array.from({ length: 500 }, (_, i) => i + 1));
  });

  it("refuses rows without the lookup field, rows too large for one file, and nested JSON values, each alone", async () => {
    const big = "x".repeat(300);
    const csv = `email,firstName\na@example.com,A\n,NoEmail\nb@example.com,${big}\nc@example.com,C\n`;
    const { summary, sink } = await splitLeads(csv, 200);

    expect(summary.rejections.map(({ row, field, reason }) => ({ row, field, reason }))).toEqual([
      { row: 2, field: "email", reason: "the lookup field email is blank" },
      { row: 3, field: undefined, reason: expect.stringContaining("one import file holds at most 200") },
    ]);
    expect(summary.rowsQueued).toBe(2);
    expect([...sink.parts.values()].join("")).not.toContain(big);

    const nested = await splitIntoParts(
      {
        file,
        route: { target: "customobjects", apiName: "car_c" },
        params: { format: "ssv" },
        openRows: () => readNdjsonRows(bytes(`{"vin":"V1","price":5e21}\n{"vin":"V2","specs":{"hp":200}}\n`)),
        maxPartBytes: 10_000,
      },
      new MemorySink(),
    );
    expect(nested.rejections).toEqual([
      expect.objectContaining({ row: 2, field: "specs", reason: expect.stringContaining("flat") }),
    ]);

    // A row with no values would be a blank line, which CSV readers skip (shifting failures onto other rows).
    const blank = await splitIntoParts(
      {
        file,
        route: { target: "customobjects", apiName: "car_c" },
        params: { format: "csv" },
        openRows: () => readCsvRows(bytes("vin,color\nV1,\n,\nV3,\n")),
        maxPartBytes: 10_000,
      },
      new MemorySink(),
    );
    expect(blank.rejections).toEqual([expect.objectContaining({ row: 2, reason: "row has no values" })]);
    expect(blank.rowsQueued).toBe(2);
  });

  it("writes the chosen delimiter, plain numbers and RFC 4180 quoting", () => {
    expect(formatCsvLine(["a;b", 'say "hi"', "line\nbreak", "plain"], ";")).toBe(
      '"a;b";"say ""hi""";"line\nbreak";plain\n',
    );
    expect(formatCsvLine(["a;b", "c,d"], ",")).toBe('a;b,"c,d"\n');
    expect(cellText(5e21)).toBe("5000000000000000000000");
    expect(cellText(0.000001)).toBe("0.000001");
    expect(cellText(1e-7)).toBe("0.0000001");
    expect(cellText(true)).toBe("true");
    expect(cellText({ a: 1 })).toBeUndefined();
  });

  it("round-trips any text through a part: what Marketo reads is what the file held", () => {
    fc.assert(
      fc.property(
        fc.array(fc.array(fc.string(), { minLength: 2, maxLength: 2 }), { minLength: 1, maxLength: 20 }),
        (rows) => {
          const text = rows.map((cells) => formatCsvLine(cells, ";")).join("");
          // Two cells per row, so no line is ever empty: every row must come back exactly.
          expect(parse(text, { delimiter: ";" })).toEqual(rows);
        },
      ),
      { seed: 42, numRuns: 200 },
    );
  });
});

function record0(records: string[][]): string | undefined {
  return records[0]?.[2];
}

describe("attributing Marketo's failures and warnings to original rows", () => {
  const part = 'email,firstName,leadScore\na@x.com,A,1\nb@x.com,"B, Jr.",oops\nc@x.com,C,2\nb@x.com,"B, Jr.",oops\n';

  it("matches by content whatever the order, and gives identical rows distinct row numbers", () => {
    const failures =
      'email,firstName,leadScore,Import Failure Reason\nb@x.com,"B, Jr.",oops,Invalid data type in field Lead Score\nb@x.com,"B, Jr.",oops,Invalid data type in field Lead Score\n';
    const issues = mapJobRows({
      partText: part,
      issuesText: failures,
      delimiter: ",",
      partRows: [
        [10, 11],
        [40, 41],
      ],
      lookupField: "email",
    });
    expect(issues.map((i) => i.row).sort()).toEqual([11, 41]);
    expect(issues[0]?.reason).toBe("Invalid data type in field Lead Score");
  });

  it("falls back to the lookup field when Marketo changed a value, and never invents a row", () => {
    const warnings =
      "leadScore,email,firstName,Import Warning Reason\n2,C@X.COM,C.,Some warning\n9,zzz@x.com,Q,Unknown row\n";
    const issues = mapJobRows({
      partText: part,
      issuesText: warnings,
      delimiter: ",",
      partRows: [[1, 4]],
      lookupField: "email",
    });
    expect(issues).toEqual([{ row: 3, reason: "Some warning" }, { reason: "Unknown row" }]);
  });
});

describe("choosing Bulk Import for a file", () => {
  it("routes the bulk prefixes and refuses malformed ones", () => {
    expect(bulkRouteForKey("bulk/leads/2026/a.csv")).toEqual({ target: "leads" });
    expect(bulkRouteForKey("bulk/customobjects/car_c/a.csv")).toEqual({ target: "customobjects", apiName: "car_c" });
    expect(bulkRouteForKey("bulk/programmembers/1044/a.csv")).toEqual({ target: "programmembers", programId: 1044 });
    for (const key of [
      "bulk/leads/",
      "bulk/companies/a.csv",
      "bulk/programmembers/abc/a.csv",
      "bulk/customobjects/car_c/",
    ]) {
      expect(() => bulkRouteForKey(key), key).toThrow(InputFileError);
    }
  });

  it("mode=bulk turns persons into a lead import and program members into one program's import", () => {
    const persons = resolveTarget(routeForObjectKey("persons/a.csv"), {
      metadata: { mode: "BULK", "lookup-field": "id", "list-id": "77", "partition-name": "EMEA" },
    });
    expect(persons).toMatchObject({
      kind: "bulk",
      route: { target: "leads" },
      options: { lookupField: "id", listId: 77, partitionName: "EMEA" },
    });
    const members = resolveTarget(routeForObjectKey("programmembers/a.csv"), {
      sidecar: { mode: "bulk", programId: 1044, programMemberStatus: "Registered" },
    });
    expect(members).toMatchObject({ kind: "bulk", route: { target: "programmembers", programId: 1044 } });
    expect(resolveTarget(routeForObjectKey("persons/a.csv"), { metadata: { priority: "high" } }).kind).toBe(
      "ingestion",
    );
  });

  it("rejects bulk options that do not fit, naming the option", () => {
    const bulk = (key: string, sidecar: Record<string, unknown>) => () =>
      resolveTarget(key.startsWith("bulk/") ? bulkRouteForKey(key) : routeForObjectKey(key), { sidecar });
    expect(bulk("companies/a.csv", { mode: "bulk" })).toThrow(/mode=bulk is not available for companies/);
    expect(bulk("programmembers/a.csv", { mode: "bulk", programMemberStatus: "x" })).toThrow(
      /needs the option programId/,
    );
    expect(bulk("bulk/programmembers/5/a.csv", {})).toThrow(/needs the option programMemberStatus/);
    expect(bulk("bulk/programmembers/5/a.csv", { programMemberStatus: "Not in Program" })).toThrow(/delete/);
    expect(bulk("bulk/leads/a.csv", { priority: "high" })).toThrow(/priority is not an option of bulk\/leads/);
    expect(bulk("bulk/leads/a.csv", { listId: "abc" })).toThrow(/listId: must be a positive integer/);
    expect(bulk("bulk/leads/a.csv", { format: "json" })).toThrow(/csv, tsv or ssv/);
    expect(bulk("persons/a.csv", { mode: "sometimes" })).toThrow(/mode must be bulk or ingestion/);
  });
});
