import { ListObjectsV2Command } from "@aws-sdk/client-s3";
import { describe, expect, it } from "vitest";
import { emojiDensePersons, samplePersons, toCsv } from "../../scripts/make-sample-persons.ts";
import { expectedPersons, useHarness } from "./harness.ts";

const h = useHarness();

const personsByEmail = () =>
  new Map(
    h()
      .sim.persons()
      .map((p) => [p.fields.email as string, p]),
  );
const accepted = () => h().sim.requests.filter((r) => r.status === 202);

describe("persons: S3 drop → splitter → queue → sender → Marketo", () => {
  it("delivers every row of a messy file exactly once, with its values as the file has them", async () => {
    const rows = samplePersons(2_500, 7);
    rows.push(
      { email: "edge1@example.com", firstName: 'Zoë "Z" O\'Hara', notes: "line1\r\nline2\nline3", postalCode: "00501" },
      { email: "edge2@example.com", firstName: "山田 太郎", company: "Ünïcödé, Ltd.", notes: "emoji 🎉 and \uFFFF" },
    );
    const result = await h().run("persons/messy file.csv", toCsv(rows));

    expect(result.summary).toMatchObject({
      status: "complete",
      rowsRead: rows.length,
      accepted: rows.length,
      rejected: 0,
      failed: 0,
      deadLettered: 0,
      pending: 0,
    });
    const stored = personsByEmail();
    expect(stored.size).toBe(rows.length);
    for (const expected of expectedPersons(rows)) {
      const person = stored.get(expected.email as string);
      expect(person?.fields).toEqual(expected);
      expect(person?.writes).toBe(1);
    }
    const leadingZero = rows.filter((row) => row.postalCode?.startsWith("0"));
    expect(leadingZero.length).toBeGreaterThan(0);
    for (const row of leadingZero) expect(stored.get(row.email as string)?.fields.postalCode).toBe(row.postalCode);
  });

  it("packs rows into the fewest requests within 1,000 objects and 1 MB, with the documented headers", async () => {
    const rows = samplePersons(2_500, 8);
    const result = await h().run("persons/packing.csv", toCsv(rows));

    const requests = accepted();
    expect(requests.map((r) => r.objectCount)).toEqual(expect.arrayContaining([1000, 1000, 500]));
    expect(requests).toHaveLength(3);
    for (const request of requests) {
      expect(request.bodyBytes).toBeLessThanOrEqual(1_000_000);
      expect(request.tokenPresent).toBe(true);
      expect(request.requestSource).toBe("marketo-ingest");
      expect(request.correlationId).toMatch(/^persons\/packing\.csv#[0-9a-f]{16}\/\d+$/);
    }
    expect(new Set(result.summary.requestIds)).toEqual(new Set(requests.map((r) => r.requestId)));
  });

  it("splits by bytes when rows are large: every request stays under 1 MB", async () => {
    const rows = samplePersons(1_200, 9).map((row) => ({ ...row, notes: "ä".repeat(900) }));
    const result = await h().run("persons/wide.csv", toCsv(rows));
    expect(result.summary.accepted).toBe(rows.length);
    const requests = accepted();
    expect(requests.length).toBeGreaterThan(2);
    for (const request of requests) expect(request.bodyBytes).toBeLessThanOrEqual(1_000_000);
    // Greedy: every request but the file's last (the smallest) would have overflowed with one more ~1.9 kB row.
    const sizes = requests.map((r) => r.bodyBytes).sort((a, b) => b - a);
    for (const size of sizes.slice(0, -1)) expect(size).toBeGreaterThan(1_000_000 - 2_000);
  });
});

/** Fewest requests an order-preserving split allows for objects of these raw JSON sizes (the oracle). */
function greedyRequests(objectBytes: readonly number[], frameBytes: number, maxObjects: number, maxBytes: number) {
  let requests = 0;
  let bytes = 0;
  let objects = 0;
  for (const size of objectBytes) {
    if (objects > 0 && (objects === maxObjects || bytes + 1 + size > maxBytes)) {
      requests++;
      objects = 0;
    }
    bytes = objects === 0 ? frameBytes + size : bytes + 1 + size;
    objects++;
  }
  return requests + (objects > 0 ? 1 : 0);
}

describe("request sizes are the bytes Marketo receives", () => {
  it("an emoji-dense file takes the fewest requests its raw UTF-8 allows, each ≤ 1 MB as received", async () => {
    // Notes of 250 emoji: ~1.1 kB a row as sent (4 bytes an emoji), ~3.1 kB with emoji escaped as \uXXXX pairs.
    const rows = emojiDensePersons(2_700, { seed: 11 });
    const result = await h().run("persons/emoji.csv", toCsv(rows, ["email", "firstName", "lastName", "notes"]));

    expect(result.summary).toMatchObject({
      status: "complete",
      rowsRead: rows.length,
      accepted: rows.length,
      rejected: 0,
      failed: 0,
      deadLettered: 0,
    });
    const expected = expectedPersons(rows);
    const objectBytes = expected.map((person) => Buffer.byteLength(JSON.stringify(person)));
    const frameBytes = Buffer.byteLength('{"persons":[]}');
    const rawBytes = frameBytes + objectBytes.reduce((sum, bytes) => sum + bytes, 0) + objectBytes.length - 1;
    const requests = accepted();
    expect(requests).toHaveLength(greedyRequests(objectBytes, frameBytes, 1_000, 1_000_000));
    expect(requests.length).toBeLessThanOrEqual(Math.ceil(rawBytes / 1_000_000) + 1);
    for (const request of requests) expect(request.bodyBytes).toBeLessThanOrEqual(1_000_000);
    expect(requests.reduce((sum, request) => sum + request.bodyBytes, 0)).toBe(
      rawBytes + (requests.length - 1) * (frameBytes - 1),
    );

    const stored = personsByEmail();
    expect(stored.size).toBe(rows.length);
    for (const person of expected) {
      expect(stored.get(person.email as string)?.fields).toEqual(person);
      expect(stored.get(person.email as string)?.writes).toBe(1);
    }
    // Escaped for the queue, each ~1 MB body outgrew a message: it travelled through the work bucket.
    const bodies = await h().aws.s3.send(
      new ListObjectsV2Command({ Bucket: h().aws.workBucket, Prefix: `${result.file.reportPrefix}bodies/` }),
    );
    expect(bodies.KeyCount).toBe(requests.length);
  });
});

describe("bad input", () => {
  it.each([
    ["a non-UTF-8 file", "persons/latin1.csv", Buffer.from("email,firstName\na@x.io,Jos\xe9\n", "latin1"), "NOT_UTF8"],
    ["an empty file", "persons/empty.csv", Buffer.alloc(0), "EMPTY_FILE"],
    ["a header-only file", "persons/header.csv", Buffer.from("email,firstName\r\n"), "HEADER_ONLY"],
    ["a semicolon file", "persons/semi.csv", Buffer.from("email;firstName\na@x.io;A\n"), "WRONG_DELIMITER"],
    ["an unknown object type", "leads/a.csv", Buffer.from("email\na@x.io\n"), "UNKNOWN_OBJECT_TYPE"],
    ["broken quoting", "persons/quote.csv", Buffer.from('email,firstName\na@x.io,"A\nb@x.io,B\n'), "MALFORMED_CSV"],
  ])("%s is rejected whole with a reason, and nothing is sent", async (_name, key, bytes, code) => {
    const result = await h().run(key, bytes);
    expect(result.summary.status).toBe("rejected");
    expect(result.manifest?.error?.code).toBe(code);
    expect(h().sim.requests).toHaveLength(0);
  });

  it("rows with the wrong field count are rejected alone, with row and line; the rest is delivered", async () => {
    const csv = "email,firstName\r\na@x.io,A\r\nb@x.io\r\nc@x.io,C,extra\r\nd@x.io,D\r\n";
    const result = await h().run("persons/ragged.csv", csv);
    expect(result.summary).toMatchObject({ status: "complete with failures", rowsRead: 4, accepted: 2, rejected: 2 });
    expect(result.manifest?.rejectedRows).toEqual([
      { row: 2, line: 3, reason: "row has 1 fields but the header has 2" },
      { row: 3, line: 4, reason: "row has 3 fields but the header has 2" },
    ]);
    expect([...personsByEmail().keys()].sort()).toEqual(["a@x.io", "d@x.io"]);
  });
});
