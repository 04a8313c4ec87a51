import { parse } from "csv-parse/sync";
import { describe, expect, it } from "vitest";
import { type InputFormat, readRows } from "../../../shared/parsing/input-format.ts";
import type { SourceRow } from "../../../shared/parsing/source-row.ts";
import { type BatchOutcome, type SplitManifest, summarizeReport } from "../../../shared/report/file-report.ts";
import { IssueIndex, issueRowsCsv } from "../../../shared/report/issue-rows.ts";

const file = { bucket: "drop", key: "leads/a.csv", reportPrefix: "reports/leads/a.csv/v1/" };

function manifest(over: Partial<SplitManifest> = {}): SplitManifest {
  return {
    v: 1,
    file,
    objectType: "persons",
    status: "queued",
    rowsRead: 0,
    rowsQueued: 0,
    batches: 0,
    rejectedRows: [],
    startedAt: "2026-11-01T00:00:00Z",
    finishedAt: "2026-11-01T00:00:01Z",
    ...over,
  };
}

function outcome(index: number, rows: [number, number][], over: Partial<BatchOutcome> = {}): BatchOutcome {
  return {
    v: 1,
    index,
    rowCount: rows.reduce((sum, [a, b]) => sum + b - a + 1, 0),
    rows,
    status: "accepted",
    attempts: 1,
    finishedAt: "2026-11-01T00:00:02Z",
    ...over,
  };
}

async function* bytes(text: string): AsyncGenerator<Uint8Array> {
  // Small chunks, so the parsers see rows split across reads as they do with S3 bodies.
  const buffer = Buffer.from(text, "utf8");
  for (let i = 0; i < buffer.length; i += 7) yield buffer.subarray(i, i + 7);
}

const opener = (text: string, format: InputFormat) => () => readRows(bytes(text), format);

async function csvOf(
  openRows: () => AsyncIterable<SourceRow>,
  index: IssueIndex,
): Promise<{ text: string; chunks: string[] }> {
  const chunks: string[] = [];
  for await (const chunk of issueRowsCsv(openRows, index)) chunks.push(chunk);
  return { text: chunks.join(""), chunks };
}

/** The report parsed back: header, then one object per line. */
async function reportOf(openRows: () => AsyncIterable<SourceRow>, index: IssueIndex) {
  const { text } = await csvOf(openRows, index);
  const [header = [], ...lines] = parse(text) as string[][];
  const records = lines.map((cells) => Object.fromEntries(header.map((name, i) => [name, cells[i]])));
  return { text, header, records };
}

describe("IssueIndex", () => {
  it("indexes manifest rejections, failed and dead-lettered batches and bulk row failures, in row order", () => {
    const index = IssueIndex.from(
      manifest({ rejectedRows: [{ row: 7, line: 8, field: "email", reason: "not an email address" }] }),
      [
        outcome(0, [[1, 3]], { status: "failed", failure: { code: "1003", message: "Invalid field" } }),
        outcome(1, [[4, 6]]),
        outcome(2, [
          [8, 9],
          [11, 11],
        ]),
        outcome(3, [[12, 13]], { status: "dead-lettered", failure: { code: "HTTP_503", message: "unavailable" } }),
        outcome(4, [[14, 20]], {
          rowFailures: [{ row: 15, reason: "Value for field 'x' exceeds length" }, { reason: "lost" }],
        }),
      ],
    );
    expect(index.size).toBe(3 + 1 + 2 + 1);
    expect(index.unattributed).toBe(1);
    expect([...index.entries()]).toEqual([
      { row: 1, outcome: "failed", code: "1003", reason: "Invalid field" },
      { row: 2, outcome: "failed", code: "1003", reason: "Invalid field" },
      { row: 3, outcome: "failed", code: "1003", reason: "Invalid field" },
      { row: 7, line: 8, outcome: "rejected", field: "email", reason: "not an email address" },
      { row: 12, outcome: "dead-lettered", code: "HTTP_503", reason: "unavailable" },
      { row: 13, outcome: "dead-lettered", code: "HTTP_503", reason: "unavailable" },
      { row: 15, outcome: "failed", code: "import_row_failed", reason: "Value for field 'x' exceeds length" },
    ]);
    expect(index.lookup(2)).toEqual({ row: 2, outcome: "failed", code: "1003", reason: "Invalid field" });
    expect(index.lookup(4)).toBeUndefined();
    expect(index.lookup(16)).toBeUndefined();
    expect(index.lookup(0)).toBeUndefined();
  });

  it("names a batch failure that has no Marketo failure by its batch", () => {
    const index = IssueIndex.from(manifest(), [
      outcome(5, [[1, 1]], { status: "failed" }),
      outcome(6, [[2, 2]], { status: "dead-lettered" }),
    ]);
    expect(index.lookup(1)).toEqual({ row: 1, outcome: "failed", reason: "batch 5 failed" });
    expect(index.lookup(2)).toEqual({ row: 2, outcome: "dead-lettered", reason: "batch 6 was dead-lettered" });
  });

  it("counts each row once when records disagree: rejection, then row failure, then the first batch listed", () => {
    const index = IssueIndex.from(manifest({ rejectedRows: [{ row: 5, line: 6, reason: "bad" }] }), [
      outcome(0, [[1, 10]], { status: "failed", failure: { code: "A", message: "first" } }),
      outcome(1, [[8, 12]], { status: "dead-lettered", failure: { code: "B", message: "second" } }),
      outcome(2, [[20, 21]], {
        rowFailures: [
          { row: 5, reason: "dup" },
          { row: 21, reason: "r21" },
          { row: 21, reason: "again" },
        ],
      }),
    ]);
    expect(index.size).toBe(12 + 1);
    expect(index.lookup(5)?.outcome).toBe("rejected");
    expect(index.lookup(10)?.code).toBe("A");
    expect(index.lookup(11)?.code).toBe("B");
    expect(index.lookup(21)?.reason).toBe("r21");
    expect([...index.entries()].map((e) => e.row)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 21]);
  });

  it("agrees with summarizeReport: size − warned + unattributed = rejected + failed + dead-lettered; warned rows add up", () => {
    const m = manifest({
      rowsRead: 30,
      rowsQueued: 28,
      batches: 3,
      rejectedRows: [
        { row: 4, line: 5, reason: "x" },
        { row: 9, line: 10, reason: "y" },
      ],
    });
    const outcomes = [
      outcome(0, [
        [1, 3],
        [5, 8],
      ]),
      outcome(
        1,
        [
          [10, 19],
          [20, 20],
        ],
        { status: "failed", failure: { code: "C", message: "m" } },
      ),
      outcome(2, [[21, 30]], {
        rowFailures: [{ row: 22, reason: "a" }, { row: 25, reason: "b" }, { reason: "c" }],
        rowWarnings: [{ row: 23, reason: "w" }, { row: 30, reason: "w" }, { reason: "lost" }],
      }),
    ];
    const summary = summarizeReport(m, outcomes);
    const index = IssueIndex.from(m, outcomes);
    expect(index.size - index.warned + index.unattributed).toBe(
      summary.rejected + summary.failed + summary.deadLettered,
    );
    expect(index.warned + index.unattributedWarnings).toBe(summary.warned);
    expect(index.warned).toBe(2);
  });

  it("lists rows an import job warned about as warned, with Marketo's text, unless the row has another issue", () => {
    const index = IssueIndex.from(manifest({ rejectedRows: [{ row: 2, line: 3, reason: "bad" }] }), [
      outcome(0, [[1, 6]], {
        rowFailures: [{ row: 4, reason: "Invalid data type in field leadScore" }],
        rowWarnings: [
          { row: 3, reason: "Invalid email address" },
          { row: 2, reason: "a rejected row is not warned" },
          { row: 4, reason: "a failed row is not warned" },
          { reason: "no row" },
        ],
      }),
      outcome(1, [[7, 8]], { status: "failed", failure: { code: "1003", message: "m" } }),
      outcome(2, [[9, 9]], { rowWarnings: [{ row: 7, reason: "inside a failed batch: the batch wins" }] }),
    ]);
    expect([...index.entries()]).toEqual([
      { row: 2, line: 3, outcome: "rejected", reason: "bad" },
      { row: 3, outcome: "warned", reason: "Invalid email address" },
      { row: 4, outcome: "failed", code: "import_row_failed", reason: "Invalid data type in field leadScore" },
      { row: 7, outcome: "failed", code: "1003", reason: "m" },
      { row: 8, outcome: "failed", code: "1003", reason: "m" },
    ]);
    expect(index.size).toBe(5);
    expect(index.warned).toBe(1);
    expect(index.unattributedWarnings).toBe(1);
    expect(index.lookup(3)).toEqual({ row: 3, outcome: "warned", reason: "Invalid email address" });
  });

  it("keeps ten million failed rows as ranges: built, counted and looked up fast, in little memory", () => {
    const heapBefore = process.memoryUsage().heapUsed;
    const started = performance.now();
    // 10,000 batches of 1,000 rows, alternately failed and dead-lettered, listed out of order.
    const outcomes: BatchOutcome[] = [];
    for (let b = 9_999; b >= 0; b--) {
      outcomes.push(
        outcome(b, [[b * 1_000 + 1, (b + 1) * 1_000]], {
          status: b % 2 ? "dead-lettered" : "failed",
          failure: { code: b % 2 ? "HTTP_503" : "1003", message: `batch ${b}` },
        }),
      );
    }
    const index = IssueIndex.from(manifest({ rowsRead: 10_000_000 }), outcomes);
    let found = 0;
    for (let i = 0; i < 200_000; i++) {
      const row = 1 + ((i * 7_919_993) % 10_000_000);
      const entry = index.lookup(row);
      if (entry?.reason === `batch ${Math.floor((row - 1) / 1_000)}`) found++;
    }
    const elapsed = performance.now() - started;
    const heapGrowth = process.memoryUsage().heapUsed - heapBefore;

    expect(index.size).toBe(10_000_000);
    expect(found).toBe(200_000);
    expect(index.lookup(10_000_001)).toBeUndefined();
    expect(index.lookup(9_999_999)?.outcome).toBe("dead-lettered");
    expect(index.lastRow).toBe(10_000_000);
    // Ten million row entries would take hundreds of MB and seconds; ranges take a few MB and milliseconds.
    expect(elapsed).toBeLessThan(2_000);
    expect(heapGrowth).toBeLessThan(64 * 1024 * 1024);
  });
});

describe("issueRowsCsv", () => {
  const leads = [
    "email,firstName,company",
    "a@x.io,Ann,Acme", // 1 accepted
    "not-an-email,Bob,Acme", // 2 rejected by validation
    "c@x.io,Cid", // 3 rejected by the parser (2 fields)
    "d@x.io,Dee,Initech", // 4 failed batch
    "e@x.io,Eve,Initech", // 5 failed batch
    "f@x.io,Fay,Hooli", // 6 dead-lettered
    "g@x.io,Gus,Hooli", // 7 accepted, row failure in bulk
    "h@x.io,Hal,Hooli", // 8 accepted
  ].join("\n");
  const leadsManifest = manifest({
    rowsRead: 8,
    rowsQueued: 6,
    batches: 3,
    rejectedRows: [
      { row: 2, line: 3, field: "email", reason: "not an email address" },
      { row: 3, line: 4, reason: "row has 2 fields but the header has 3" },
    ],
  });
  const leadsOutcomes = [
    outcome(
      0,
      [
        [1, 1],
        [4, 5],
      ],
      { status: "failed", failure: { code: "1006", message: "Field 'company' not found", status: 200 } },
    ),
    outcome(1, [[6, 6]], { status: "dead-lettered", failure: { code: "606", message: "Rate limit exceeded" } }),
    outcome(2, [[7, 8]], { rowFailures: [{ row: 7, reason: "Invalid email" }] }),
  ];

  it("writes rejected, failed, dead-lettered and bulk-failed rows with their original columns, in row order", async () => {
    const index = IssueIndex.from(leadsManifest, leadsOutcomes);
    const { text, header, records } = await reportOf(opener(leads, "csv"), index);

    expect(header).toEqual(["row", "line", "outcome", "code", "field", "reason", "email", "firstName", "company"]);
    expect(records).toEqual([
      {
        row: "1",
        line: "2",
        outcome: "failed",
        code: "1006",
        field: "",
        reason: "Field 'company' not found",
        email: "a@x.io",
        firstName: "Ann",
        company: "Acme",
      },
      {
        row: "2",
        line: "3",
        outcome: "rejected",
        code: "",
        field: "email",
        reason: "not an email address",
        email: "not-an-email",
        firstName: "Bob",
        company: "Acme",
      },
      // The parser rejected row 3: metadata, empty data columns.
      {
        row: "3",
        line: "4",
        outcome: "rejected",
        code: "",
        field: "",
        reason: "row has 2 fields but the header has 3",
        email: "",
        firstName: "",
        company: "",
      },
      expect.objectContaining({ row: "4", line: "5", outcome: "failed", code: "1006", email: "d@x.io" }),
      expect.objectContaining({ row: "5", line: "6", outcome: "failed", code: "1006", email: "e@x.io" }),
      expect.objectContaining({
        row: "6",
        line: "7",
        outcome: "dead-lettered",
        code: "606",
        reason: "Rate limit exceeded",
        email: "f@x.io",
        company: "Hooli",
      }),
      expect.objectContaining({
        row: "7",
        outcome: "failed",
        code: "import_row_failed",
        reason: "Invalid email",
        email: "g@x.io",
      }),
    ]);
    expect(records).toHaveLength(index.size);
    // RFC 4180 line ends, and nothing but CRLF.
    expect(text.endsWith("\r\n")).toBe(true);
    expect(text.split("\r\n")).toHaveLength(records.length + 2);
    expect(text.replace(/\r\n/g, "")).not.toMatch(/[\r\n]/);
  });

  it("writes a row imported with a warning with its row, line, outcome warned and Marketo's text", async () => {
    const csvText = "email,firstName\na@x.io,Ann\nnot-an-email,Bob\nc@x.io,Cid\n";
    const index = IssueIndex.from(manifest({ rowsRead: 3, rowsQueued: 3, batches: 1 }), [
      outcome(0, [[1, 3]], {
        rowFailures: [{ row: 3, reason: "Invalid data type in field leadScore" }],
        rowWarnings: [{ row: 2, reason: "Invalid email address" }],
      }),
    ]);
    const { text } = await reportOf(opener(csvText, "csv"), index);
    expect(text).toBe(
      "row,line,outcome,code,field,reason,email,firstName\r\n" +
        "2,3,warned,,,Invalid email address,not-an-email,Bob\r\n" +
        "3,4,failed,import_row_failed,,Invalid data type in field leadScore,c@x.io,Cid\r\n",
    );
  });

  it("round-trips values holding commas, quotes, CR, LF and formula-like text exactly", async () => {
    const awkward = [
      'Acme, "The" Company',
      "line one\nline two",
      "carriage\r\nreturn",
      '=HYPERLINK("http://x")',
      "+1 555",
      "-5",
      "@home",
      " padded ",
    ];
    const csvText = `email,note\r\n${awkward.map((note, i) => `p${i}@x.io,"${note.replace(/"/g, '""')}"`).join("\r\n")}\r\n`;
    const index = IssueIndex.from(manifest(), [
      outcome(0, [[1, awkward.length]], {
        status: "failed",
        failure: { code: "1001", message: 'bad "type", sorry\nreally' },
      }),
    ]);
    const { records } = await reportOf(opener(csvText, "csv"), index);
    expect(records.map((r) => r.note)).toEqual(awkward);
    expect(records.map((r) => r.reason)).toEqual(awkward.map(() => 'bad "type", sorry\nreally'));
    // Physical lines count the embedded line breaks.
    expect(records.map((r) => r.line)).toEqual(["2", "3", "5", "7", "8", "9", "10", "11"]);
  });

  it("takes JSON columns as the union of keys in first-seen order, writing non-strings as JSON text", async () => {
    const json = JSON.stringify([
      { email: "a@x.io", score: 1 },
      { email: "b@x.io", tags: ["x", "y"], active: true },
      { email: "c@x.io", score: 2.5 },
      { email: "d@x.io", address: { city: "Paris, FR" }, note: 'say "hi"' },
      "not an object",
      { id: 7, email: "f@x.io" },
    ]);
    const index = IssueIndex.from(
      manifest({ rejectedRows: [{ row: 5, line: 1, reason: "array element is not a JSON object" }] }),
      [
        outcome(0, [[1, 1]]),
        outcome(
          1,
          [
            [2, 2],
            [4, 4],
          ],
          { status: "failed", failure: { code: "1003", message: "bad" } },
        ),
        outcome(
          2,
          [
            [3, 3],
            [6, 6],
          ],
          { status: "dead-lettered", failure: { code: "HTTP_500", message: "oops" } },
        ),
      ],
    );
    const { header, records } = await reportOf(opener(json, "json"), index);
    // Seeded by the first record (email, score), then the issue rows' keys in first-seen order, except that
    // row 6 lists `id` before `email`.
    expect(header.slice(6)).toEqual(["id", "email", "score", "tags", "active", "address", "note"]);
    expect(records).toEqual([
      expect.objectContaining({ row: "2", email: "b@x.io", tags: '["x","y"]', active: "true", score: "" }),
      expect.objectContaining({ row: "3", email: "c@x.io", score: "2.5", tags: "", address: "" }),
      expect.objectContaining({ row: "4", address: '{"city":"Paris, FR"}', note: 'say "hi"' }),
      expect.objectContaining({
        row: "5",
        outcome: "rejected",
        email: "",
        id: "",
        reason: "array element is not a JSON object",
      }),
      expect.objectContaining({ row: "6", id: "7", email: "f@x.io" }),
    ]);
  });

  it("reads only own keys of JSON rows (a column named like an Object.prototype member)", async () => {
    const ndjson = ['{"email":"a@x.io","constructor":"c1","toString":"t"}', '{"email":"b@x.io"}'].join("\n");
    const index = IssueIndex.from(manifest(), [
      outcome(0, [[1, 2]], { status: "failed", failure: { code: "X", message: "m" } }),
    ]);
    const { records } = await reportOf(opener(ndjson, "ndjson"), index);
    expect(records.map((r) => [r.constructor, r.toString])).toEqual([
      ["c1", "t"],
      ["", ""],
    ]);
  });

  it("keeps a CSV file's header order and columns even when the first record leaves cells empty", async () => {
    // Row 1 (not an issue) leaves lastName and phone empty, row 2 firstName and phone: only row 3 orders them all.
    const csvText = "email,firstName,lastName,phone\na@x.io,Ann,,\nb@x.io,,Bee,\nc@x.io,Cat,Cee,555\n";
    const index = IssueIndex.from(
      manifest({ rejectedRows: [{ row: 2, line: 3, field: "firstName", reason: "missing" }] }),
      [outcome(0, [[3, 3]], { status: "failed", failure: { code: "1", message: "m" } })],
    );
    const { header, records } = await reportOf(opener(csvText, "csv"), index);
    expect(header.slice(6)).toEqual(["email", "firstName", "lastName", "phone"]);
    expect(records).toEqual([
      expect.objectContaining({ row: "2", email: "b@x.io", firstName: "", lastName: "Bee", phone: "" }),
      expect.objectContaining({ row: "3", email: "c@x.io", firstName: "Cat", lastName: "Cee", phone: "555" }),
    ]);
  });

  it("breaks contradicting key orders at the earliest-seen name, keeping the orders no row contradicts", async () => {
    const ndjson = ['{"b":"1","a":"2"}', '{"a":"3","b":"4","c":"5"}', '{"c":"6","a":"7"}'].join("\n");
    const index = IssueIndex.from(manifest(), [
      outcome(0, [[1, 3]], { status: "failed", failure: { code: "X", message: "m" } }),
    ]);
    const { header, records } = await reportOf(opener(ndjson, "ndjson"), index);
    // b→a and a→b contradict: b (seen first) leads; b→c and c→a are uncontested.
    expect(header.slice(6)).toEqual(["b", "c", "a"]);
    expect(records.map((r) => [r.a, r.b, r.c])).toEqual([
      ["2", "1", ""],
      ["3", "4", "5"],
      ["7", "", "6"],
    ]);
  });

  it("prefixes the metadata columns with underscores when the file has a column of the same name", async () => {
    const csvText = "email,Reason,row\na@x.io,because,r1\n";
    const index = IssueIndex.from(manifest({ rejectedRows: [{ row: 1, line: 2, reason: "nope" }] }), []);
    const { header, records } = await reportOf(opener(csvText, "csv"), index);
    expect(header).toEqual(["_row", "_line", "_outcome", "_code", "_field", "_reason", "email", "Reason", "row"]);
    expect(records[0]).toMatchObject({ _row: "1", _reason: "nope", Reason: "because", row: "r1" });

    const twice = "_reason,code\nx,y\n";
    const { header: header2 } = await reportOf(opener(twice, "csv"), index);
    expect(header2).toEqual(["__row", "__line", "__outcome", "__code", "__field", "__reason", "_reason", "code"]);
  });

  it("yields nothing, and never opens the file, when no row has an issue", async () => {
    let opened = 0;
    const open = () => {
      opened++;
      return readRows(bytes("email\na@x.io\n"), "csv");
    };
    const index = IssueIndex.from(manifest({ rowsRead: 1, rowsQueued: 1, batches: 1 }), [outcome(0, [[1, 1]])]);
    expect(index.size).toBe(0);
    const { chunks } = await csvOf(open, index);
    expect(chunks).toEqual([]);
    expect(opened).toBe(0);
  });

  it("stops reading the file after the last issue row, on both passes", async () => {
    const seen: number[] = [];
    let released = 0;
    async function* rows(): AsyncGenerator<SourceRow> {
      try {
        for (let row = 1; row <= 1_000; row++) {
          seen.push(row);
          yield { kind: "record", row, line: row + 1, values: { email: `p${row}@x.io` } };
        }
      } finally {
        released++;
      }
    }
    const index = IssueIndex.from(manifest(), [
      outcome(0, [[3, 5]], { status: "failed", failure: { code: "1", message: "m" } }),
    ]);
    const { records } = await reportOf(rows, index);
    expect(records.map((r) => r.email)).toEqual(["p3@x.io", "p4@x.io", "p5@x.io"]);
    expect(Math.max(...seen)).toBe(5); // neither pass reads a row past the last issue row
    expect(released).toBe(2);
  });

  it("still lists issue rows the file does not hold, with metadata only", async () => {
    const index = IssueIndex.from(manifest({ rejectedRows: [{ row: 9, line: 10, reason: "gone" }] }), [
      outcome(0, [[2, 3]], { status: "failed", failure: { code: "1", message: "m" } }),
    ]);
    const { records } = await reportOf(opener("email\na@x.io\nb@x.io\n", "csv"), index);
    expect(records).toEqual([
      expect.objectContaining({ row: "2", line: "3", email: "b@x.io" }),
      expect.objectContaining({ row: "3", line: "", email: "" }),
      expect.objectContaining({ row: "9", line: "10", reason: "gone", email: "" }),
    ]);
  });

  it("yields chunks of about 64 KiB made of whole lines", async () => {
    const count = 5_000;
    const body = Array.from({ length: count }, (_, i) => `p${i}@example.com,${"x".repeat(40)}`).join("\n");
    const index = IssueIndex.from(manifest(), [
      outcome(0, [[1, count]], { status: "failed", failure: { code: "1", message: "m" } }),
    ]);
    const { text, chunks } = await csvOf(opener(`email,pad\n${body}\n`, "csv"), index);
    expect(chunks.length).toBeGreaterThan(3);
    expect(chunks.length).toBeLessThan(10);
    for (const chunk of chunks) {
      expect(chunk.endsWith("\r\n")).toBe(true);
      expect(chunk.length).toBeLessThan(64 * 1024 + 200);
    }
    expect((parse(text) as string[][]).length).toBe(count + 1);
  });
});
