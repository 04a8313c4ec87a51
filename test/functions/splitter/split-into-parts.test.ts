import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { parse } from "csv-parse/sync";
import fc from "fast-check";
import { Agent } from "undici";
import { describe, expect, it } from "vitest";
import {
  BulkPartMessageSchema,
  type BulkJobParams,
  type BulkPartMessage,
  partFileName,
} from "../../../shared/contracts/bulk-message.ts";
import { bulkRouteForKey, type BulkRoute } from "../../../shared/options/bulk-route.ts";
import { cellText, formatCsvLine } from "../../../shared/text/csv-text.ts";
import { mapJobRows } from "../../../functions/bulk-importer/map-job-rows.ts";
import { splitIntoParts, splitIntoPartsResumably } from "../../../functions/splitter/split-into-parts.ts";
import type { SourceRow } from "../../../shared/parsing/source-row.ts";
import type { BulkPartSink } from "../../../shared/contracts/batch-publisher.ts";
import { readCsvRows } from "../../../shared/parsing/csv-rows.ts";
import { readNdjsonRows } from "../../../shared/parsing/json-rows.ts";
import { InputFileError } from "../../../shared/parsing/input-file-error.ts";
import { resolveTarget } from "../../../shared/options/file-options.ts";
import { routeForObjectKey } from "../../../shared/options/object-route.ts";
import { BULK_MAX_REQUEST_BYTES } from "../../../shared/contracts/marketo-limits.ts";
import { BulkImportClient } from "../../../shared/marketo/bulk-import-client.ts";
import { TokenProvider } from "../../../shared/marketo/token-provider.ts";
import { systemClock } from "../../../shared/time/clock.ts";

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
  it("reads the file once, and queues no part of a file found broken after its first parts were stored", async () => {
    const rows = Array.from({ length: 40 }, (_, i) => `lead${i}@example.com,Name ${i}\n`).join("");
    let opened = 0;
    const split = (csv: string, sink: MemorySink) =>
      splitIntoParts(
        {
          file,
          route: { target: "leads" },
          params: { format: "csv" },
          openRows: () => {
            opened++;
            return readCsvRows(bytes(csv));
          },
          maxPartBytes: 200,
        },
        sink,
      );

    const sink = new MemorySink();
    const whole = await split(`email,firstName\n${rows}`, sink);
    expect(opened).toBe(1);
    expect(whole.batches).toBeGreaterThan(3);
    expect(sink.messages).toHaveLength(whole.batches);

    const broken = new MemorySink();
    opened = 0;
    await expect(split(`email,firstName\n${rows}"unterminated,quote\n`, broken)).rejects.toBeInstanceOf(InputFileError);
    expect(opened).toBe(1);
    // Parts were stored as they filled; none was announced, so nothing of the file reaches Marketo.
    expect(broken.parts.size).toBeGreaterThan(3);
    expect(broken.messages).toEqual([]);
  });

  it("gives each part the columns its own rows have, so no part carries a column none of its rows fills", async () => {
    const sink = new MemorySink();
    const ndjson = [
      { email: "a@example.com", firstName: "A" },
      { email: "b@example.com", firstName: "B" },
      { email: "c@example.com", company: "Initech" },
    ]
      .map((record) => JSON.stringify(record))
      .join("\n");
    await splitIntoParts(
      {
        file,
        route: { target: "leads" },
        params: { format: "csv" },
        openRows: () => readNdjsonRows(bytes(ndjson)),
        maxPartBytes: 70,
      },
      sink,
    );
    const texts = [...sink.parts.values()];
    expect(texts).toEqual([
      "email,firstName\na@example.com,A\nb@example.com,B\n",
      "email,company\nc@example.com,Initech\n",
    ]);
  });

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

/** What a server on 127.0.0.1 received for one import job request: the exact body bytes and their type. */
interface CapturedRequest {
  body: Buffer;
  contentType: string;
  contentLength: string | undefined;
}

/**
 * Sends every part of a split through the bulk client, as the importer submits them, to a server on 127.0.0.1 that
 * keeps the raw bytes and answers Marketo's job envelope.
 */
async function submitParts(
  route: BulkRoute,
  sink: MemorySink,
  messages: BulkPartMessage[],
): Promise<CapturedRequest[]> {
  const captured: CapturedRequest[] = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (chunk: Buffer) => chunks.push(chunk));
    req.on("end", () => {
      captured.push({
        body: Buffer.concat(chunks),
        contentType: req.headers["content-type"] ?? "",
        contentLength: req.headers["content-length"],
      });
      res.writeHead(200, { "content-type": "application/json" });
      res.end(
        JSON.stringify({ requestId: "r#1", success: true, result: [{ batchId: captured.length, status: "Queued" }] }),
      );
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const dispatcher = new Agent();
  try {
    const client = new BulkImportClient({
      endpoints: { restUrl: `http://127.0.0.1:${(server.address() as AddressInfo).port}` },
      tokens: new TokenProvider(async () => ({ accessToken: "token", expiresInSeconds: 3600 }), { clock: systemClock }),
      dispatcher,
      clock: systemClock,
    });
    for (const message of messages) {
      const text = sink.parts.get(message.part.key) as string;
      await client.submit(route, message.params, {
        name: partFileName(message.part.index, message.params.format),
        text,
      });
    }
  } finally {
    await dispatcher.close();
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
  return captured;
}

/** Bytes of a part's first data line: the row that did not fit into the part before (these rows hold no quotes). */
const firstRowBytes = (partText: string): number => Buffer.byteLength(`${partText.split("\n")[1]}\n`);

describe("keeping the whole import request within Marketo's 10 MB", () => {
  it("a part of the largest size, sent by the bulk client, makes a request body of at most 10,000,000 bytes", async () => {
    // Rows of varied widths, so no part fills its budget to the byte by chance; > 10 MB in all, so parts fill up.
    const rows = Array.from(
      { length: 15_000 },
      (_, i) => `p${i}@example.com,Name ${i},${"n".repeat(500 + ((i * 37) % 400))}`,
    );
    const csv = `email,firstName,notes\n${rows.join("\n")}\n`;
    // Form fields travel in the request too: a long, non-ASCII partition name must be paid for in bytes.
    const params: BulkJobParams = {
      format: "csv",
      lookupField: "email",
      listId: 5001,
      // The longest partition name an option may hold (255 characters), most of them two bytes in UTF-8.
      partitionName: "Équipe Île-de-France ".repeat(13).slice(0, 255),
    };
    const sink = new MemorySink();
    const summary = await splitIntoParts(
      {
        file,
        route: { target: "leads" },
        params,
        openRows: () => readCsvRows(bytes(csv)),
        maxPartBytes: BULK_MAX_REQUEST_BYTES,
      },
      sink,
    );
    const messages = sink.messages.map((m) => BulkPartMessageSchema.parse(JSON.parse(m)));
    expect(summary.rowsQueued).toBe(15_000);
    expect(messages.length).toBe(2);
    const [full, rest] = messages as [BulkPartMessage, BulkPartMessage];

    const [request] = await submitParts({ target: "leads" }, sink, [full]);
    const body = (request as CapturedRequest).body;

    expect(body.length).toBeLessThanOrEqual(10_000_000);
    expect(Number(request?.contentLength)).toBe(body.length);
    // As full as the limit allows: the row that opened the next part would not have fitted.
    const nextRow = firstRowBytes(sink.parts.get(rest.part.key) as string);
    expect(body.length + nextRow).toBeGreaterThan(10_000_000);
    // And the bytes are a well-formed multipart form carrying the part and the job's fields.
    const form = await new Request("http://127.0.0.1/", {
      method: "POST",
      headers: { "content-type": request?.contentType ?? "" },
      body,
    }).formData();
    const sent = form.get("file") as File;
    expect(sent.name).toBe("part-000001.csv");
    expect(await sent.text()).toBe(sink.parts.get(full.part.key));
    expect(Object.fromEntries([...form.entries()].filter(([name]) => name !== "file"))).toEqual({
      format: "csv",
      lookupField: "email",
      listId: "5001",
      partitionName: params.partitionName,
    });
  });

  it("every part of every bulk type keeps its whole request within the request limit, form fields included", async () => {
    const maxRequestBytes = 4_000;
    const cases: Array<{ route: BulkRoute; params: BulkJobParams }> = [
      { route: { target: "leads" }, params: { format: "csv", lookupField: "email", partitionName: "Zürich" } },
      { route: { target: "customobjects", apiName: "car_c" }, params: { format: "ssv" } },
      {
        route: { target: "programmembers", programId: 1044 },
        params: { format: "tsv", programMemberStatus: "Registered ".repeat(60).slice(0, 255) },
      },
    ];
    const delimiters = { csv: ",", ssv: ";", tsv: "\t" } as const;
    for (const { route, params } of cases) {
      const d = delimiters[params.format];
      const rows = Array.from({ length: 200 }, (_, i) => [`p${i}@example.com`, `V${i}`, "x".repeat(i % 90)].join(d));
      const text = `${["email", "vin", "notes"].join(d)}\n${rows.join("\n")}\n`;
      const sink = new MemorySink();
      await splitIntoParts(
        {
          file,
          route,
          params,
          openRows: () => readCsvRows(bytes(text), { delimiter: d }),
          maxPartBytes: 10_000,
          maxRequestBytes,
        },
        sink,
      );
      const messages = sink.messages.map((m) => BulkPartMessageSchema.parse(JSON.parse(m)));
      expect(messages.length, route.target).toBeGreaterThan(2);
      const requests = await submitParts(route, sink, messages);
      requests.forEach((request, i) => {
        expect(request.body.length, `${route.target} part ${i}`).toBeLessThanOrEqual(maxRequestBytes);
        const next = messages[i + 1];
        if (next) {
          const nextRow = firstRowBytes(sink.parts.get(next.part.key) as string);
          expect(request.body.length + nextRow, `${route.target} part ${i} is full`).toBeGreaterThan(maxRequestBytes);
        }
      });
    }
  });
});

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

describe("a bulk split that pauses", () => {
  /** Leads as the reader hands them over, from row `from` on. */
  async function* leads(from: number, to: number): AsyncGenerator<SourceRow> {
    for (let row = from; row <= to; row++) {
      yield { kind: "record", row, line: row + 1, values: { email: `lead${row}@example.com`, firstName: `N${row}` } };
    }
  }
  const stores = () => {
    const held = new Map<number, string>();
    const open = new Map<number, string>();
    return {
      heldMessages: {
        put: async (n: number, text: string) => void held.set(n, text),
        read: async (n: number) => held.get(n) ?? "",
      },
      openParts: {
        put: async (n: number, text: string) => void open.set(n, text),
        read: async (n: number) => open.get(n) ?? "",
      },
    };
  };
  const request = {
    file,
    route: { target: "leads" } as BulkRoute,
    params: { format: "csv" } as BulkJobParams,
    maxPartBytes: 200,
  };

  it("queues each part with a copy id drawn when it is queued: a last invocation run twice queues two distinct copies", async () => {
    const saved = stores();
    const first = new MemorySink();
    let rows = 0;
    const paused = await splitIntoPartsResumably(
      { ...request, openRows: () => leads(1, 20), ...saved, shouldPause: () => ++rows === 12 },
      first,
    );
    if (paused.done) throw new Error("the split should have paused after row 12");
    expect(first.messages).toEqual([]);
    // The part being filled at the pause is saved beside the held messages of the parts stored before it.
    expect(paused.progress).toMatchObject({ kind: "bulk", rowsRead: 12, heldParts: 1, openPart: { rows: 4 } });

    // Lambda retries a last invocation that died after queuing: both runs queue every part.
    const runs = await Promise.all(
      [1, 2].map(async () => {
        // The work bucket holds the parts the first invocation stored.
        const sink = new MemorySink();
        for (const [key, text] of first.parts) sink.parts.set(key, text);
        const result = await splitIntoPartsResumably(
          { ...request, openRows: () => leads(13, 20), ...saved, resume: paused.progress, shouldPause: () => false },
          sink,
        );
        expect(result).toMatchObject({ done: true, summary: { rowsRead: 20, rowsQueued: 20 } });
        return sink.messages.map((text) => BulkPartMessageSchema.parse(JSON.parse(text)));
      }),
    );
    const [once, again] = runs as [BulkPartMessage[], BulkPartMessage[]];
    const withoutCopyId = (messages: BulkPartMessage[]) => messages.map(({ copyId: _copyId, ...message }) => message);
    expect(withoutCopyId(again)).toEqual(withoutCopyId(once));
    expect(once.map((message) => message.part.rows)).toEqual([[[1, 8]], [[9, 16]], [[17, 20]]]);
    // The importer's claim tells copies apart by copyId: a copy id saved with a held part would make both owners.
    const copyIds = [...once, ...again].map((message) => message.copyId);
    expect(new Set(copyIds).size).toBe(copyIds.length);
  });
});
