// Property: the bytes the splitter counts are the bytes Marketo receives. For every object type, rows rich in text
// whose size depends on how JSON is written are packed, queued (serialized, escaped, sometimes stored in the work
// bucket), read back the way the sender reads them, and handed to the Data Ingestion client by deliverBatch.
// Each fc.assert is seeded with a bounded number of runs; a failure prints the seed and the shrunk input.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import type { PackedBatch } from "../../../shared/batching/batch-packer.ts";
import type { IngestionRequest } from "../../../shared/marketo/ingestion-client.ts";
import { resolveFileOptions } from "../../../shared/options/file-options.ts";
import { type SourceRow, setField } from "../../../shared/parsing/source-row.ts";
import { BatchMessageText, requestBodyOf } from "../../../shared/contracts/batch-message.ts";
import { deliverBatch } from "../../../functions/ingestion-sender/deliver-batch.ts";
import { routeForObjectName } from "../../../shared/options/object-route.ts";
import { planRequests, type RequestPlan } from "../../../functions/splitter/request-plan.ts";
import { splitFile } from "../../../functions/splitter/split-file.ts";
import type { BatchSink } from "../../../shared/contracts/batch-publisher.ts";
import { FakeClock } from "../../support/fake-clock.ts";
import { richFields, richText } from "../../support/fuzz-arbitraries.ts";

const SEED = 20_261_124;

/** What SQS accepts in a message (fauxqs checks it per UTF-16 unit, so astral characters fail there too). */
// eslint-disable-next-line no-control-regex -- tab, LF and CR are exactly the control characters SQS allows
const REFUSED_BY_QUEUE = /[^\x09\x0A\x0D\x20-\uD7FF\uE000-\uFFFD]/;

type Values = Record<string, unknown>;
type Body = Record<string, unknown>;
type Member = Record<string, unknown>;
type Program = { programId: number; status?: string; members: Member[] };

interface TypeCase {
  object: string;
  sidecar: Record<string, unknown>;
  /** A row of this type: the fields it needs (valid most of the time) and rich extra fields. */
  row: fc.Arbitrary<Values>;
}

const withExtras = (needed: fc.Arbitrary<Values>) =>
  fc.tuple(needed, richFields).map(([fields, extras]) => {
    const values: Values = {};
    for (const [name, value] of Object.entries(extras)) setField<unknown>(values, name, value);
    return Object.assign(values, fields);
  });
const id = (max: number) => fc.integer({ min: 1, max }).map(String);

const CASES: TypeCase[] = [
  {
    object: "persons",
    sidecar: { priority: "high", dedupeFields: ["email"] },
    row: withExtras(
      fc.record({
        email: fc.oneof(
          id(999).map((n) => `p${n}@x.io`),
          richText,
        ),
      }),
    ),
  },
  {
    object: "customobjects/car_c",
    sidecar: {},
    row: withExtras(fc.record({ vin: richText, color: richText })),
  },
  {
    object: "companies",
    sidecar: { action: "createOrUpdate" },
    row: withExtras(fc.record({ externalCompanyId: fc.oneof(id(99), richText), company: richText })),
  },
  {
    object: "programmembers",
    sidecar: {},
    row: withExtras(
      fc.record({
        programId: id(3),
        leadId: id(99_999),
        status: fc.constantFrom("Registered", "Attended 🎉", "Ｍember \uFFFF", 'Said "yes"'),
      }),
    ),
  },
  {
    object: "programmembers/delete",
    sidecar: {},
    row: fc.record({ programId: id(3), leadId: id(99_999) }),
  },
];

const limitsArb = fc.record({
  maxObjects: fc.oneof(fc.integer({ min: 1, max: 6 }), fc.integer({ min: 1, max: 60 })),
  maxBytes: fc.integer({ min: 300, max: 12_000 }),
  /** Small values make many messages too large for the queue, so their bodies go through the work bucket. */
  maxMessageBytes: fc.option(fc.integer({ min: 200, max: 30_000 }), { nil: undefined }),
});
type Limits = { maxObjects: number; maxBytes: number; maxMessageBytes: number | undefined };

/** A plan whose packers report every batch they close: what the splitter counted, independent of the message. */
function countingPlan(plan: RequestPlan): { plan: RequestPlan; counted: () => PackedBatch<number>[] } {
  let last: PackedBatch<number>[] = [];
  return {
    counted: () => last,
    plan: {
      prepare: plan.prepare,
      createPacker: (limits) => {
        const packer = plan.createPacker(limits);
        const batches: PackedBatch<number>[] = [];
        last = batches; // one packer per pass: the last is the pass that queued
        const record = (batch: PackedBatch<number> | undefined) => {
          if (batch) batches.push(batch);
          return batch;
        };
        return {
          add: (prepared, row) => record(packer.add(prepared, row)),
          flush: () => record(packer.flush()),
          save: () => packer.save(),
        };
      },
    },
  };
}

class QueueAndBucket implements BatchSink {
  readonly messages: string[] = [];
  readonly bucket = new Map<string, string>();
  async publish(message: { id: string; body: string }): Promise<void> {
    this.messages.push(message.body);
  }
  async flush(): Promise<void> {}
  async storeBody(key: string, text: string): Promise<void> {
    this.bucket.set(key, text);
  }
}

/** Objects of a body: the flat array, or every member across `programs[]`. */
function objectsOf(body: Body): Member[] {
  if (Array.isArray(body.programs)) return (body.programs as Program[]).flatMap((program) => program.members);
  return ["persons", "customObjects", "input"].map((key) => body[key]).find(Array.isArray) as Member[];
}

/** `body` with the first object of `next` added where the packer would have put it (its program, or a new one). */
function withNextObject(body: Body, next: Body): Body {
  const grown = structuredClone(body);
  if (!Array.isArray(grown.programs)) {
    const key = Object.keys(grown).find((name) => Array.isArray(grown[name])) as string;
    (grown[key] as Member[]).push(objectsOf(next)[0] as Member);
    return grown;
  }
  const { members, ...program } = (next.programs as Program[])[0] as Program;
  const same = (grown.programs as Program[]).find(
    ({ members: _members, ...other }) => JSON.stringify(other) === JSON.stringify(program),
  );
  if (same) same.members.push(members[0] as Member);
  else (grown.programs as Program[]).push({ ...program, members: [members[0] as Member] });
  return grown;
}

/** Splits rows as the splitter does, then sends every queued message as the sender does; returns both sides. */
async function splitAndSend(type: TypeCase, rows: Values[], limits: Limits) {
  const route = routeForObjectName(type.object);
  const { plan, counted } = countingPlan(planRequests(resolveFileOptions(route, { sidecar: type.sidecar }), true));
  const sink = new QueueAndBucket();
  async function* source(): AsyncGenerator<SourceRow> {
    for (const [i, values] of rows.entries()) yield { kind: "record", row: i + 1, line: i + 2, values };
  }
  const summary = await splitFile(
    {
      file: { bucket: "drop", key: `${type.object}/x.csv`, reportPrefix: `reports/${type.object}/x.csv/v1/` },
      route,
      plan,
      openRows: source,
      limits: { maxObjects: limits.maxObjects, maxBytes: limits.maxBytes },
      ...(limits.maxMessageBytes !== undefined ? { maxMessageBytes: limits.maxMessageBytes } : {}),
    },
    sink,
  );
  const sent: string[] = [];
  for (const text of sink.messages) {
    // The sender's path: the queue text parsed by its schema, the body resolved, then deliverBatch.
    const message = BatchMessageText.parse(text);
    const body = await requestBodyOf(message, async (key) => sink.bucket.get(key));
    if (!body.ok) throw new Error(`the sender refused a message the splitter queued: ${body.reason}`);
    const requests: IngestionRequest[] = [];
    const client = {
      submit: async (request: IngestionRequest) => {
        requests.push(request);
        return { requestId: "r" };
      },
    };
    const policy = {
      inProcessAttempts: 1,
      inProcessMaxDelayMs: 0,
      backoff: { baseMs: 1, capMs: 1 },
      quotaDelayMs: 1,
      maxRequestBytes: limits.maxBytes,
      requestTimeoutMs: 1,
    };
    const delivery = await deliverBatch(
      message,
      body.text,
      { failedDeliveries: 0, remainingMs: () => 60_000 },
      { client, clock: new FakeClock(), random: () => 0.5, policy },
    );
    expect(delivery.status).toBe("accepted");
    expect(requests).toHaveLength(1);
    sent.push((requests[0] as IngestionRequest).body);
  }
  return { summary, counted: counted(), sink, sent };
}

describe.each(CASES)("the bytes counted are the bytes sent: $object", (type) => {
  it("every request Marketo receives is byte for byte the body counted, within the limits, closed only when the next row would not fit", async () => {
    const seen = {
      requests: 0,
      stored: 0,
      inline: 0,
      closedOnBytes: 0,
      closedOnCount: 0,
      astral: 0,
      nonCharacter: 0,
      loneSurrogate: 0,
      protoField: 0,
    };
    await fc.assert(
      fc.asyncProperty(
        fc.array(type.row, { minLength: 1, maxLength: 60, size: "medium" }),
        limitsArb,
        async (rows, limits) => {
          const { summary, counted, sink, sent } = await splitAndSend(type, rows, limits);
          expect(summary.batches).toBe(counted.length);
          expect(sent).toHaveLength(counted.length);

          counted.forEach((batch, i) => {
            const body = sent[i] as string;
            // The exact text, hence the exact byte count, that the packer counted.
            expect(body).toBe(batch.body);
            expect(Buffer.byteLength(body)).toBe(batch.bytes);
            expect(batch.bytes).toBeLessThanOrEqual(limits.maxBytes);
            expect(objectsOf(JSON.parse(body) as Body).length).toBeLessThanOrEqual(limits.maxObjects);
            if (/[\u{10000}-\u{10FFFF}]/u.test(body)) seen.astral++;
            if (/[\uFFFE\uFFFF]/.test(body)) seen.nonCharacter++;
            if (/\\ud[89a-f][0-9a-f]{2}/.test(body)) seen.loneSurrogate++;
            if (body.includes('"__proto__":')) seen.protoField++;
          });
          for (const text of sink.messages) {
            expect(text).not.toMatch(REFUSED_BY_QUEUE);
            const inline = !text.includes('"bodyObject":');
            if (inline && limits.maxMessageBytes !== undefined) {
              expect(Buffer.byteLength(text)).toBeLessThanOrEqual(limits.maxMessageBytes);
            }
            if (inline) seen.inline++;
            else seen.stored++;
          }

          // Greedy: a request closes only when the next row would break a limit, counted on the raw bytes.
          for (let i = 0; i + 1 < counted.length; i++) {
            const body = JSON.parse(sent[i] as string) as Body;
            const full = objectsOf(body).length === limits.maxObjects;
            const grown = JSON.stringify(withNextObject(body, JSON.parse(sent[i + 1] as string) as Body));
            const overflows = Buffer.byteLength(grown) > limits.maxBytes;
            expect(full || overflows).toBe(true);
            if (full) seen.closedOnCount++;
            else seen.closedOnBytes++;
          }
          seen.requests += counted.length;
        },
      ),
      { seed: SEED + CASES.indexOf(type), numRuns: 200 },
    );
    expect(seen.requests).toBeGreaterThan(1_000);
    expect(seen.stored).toBeGreaterThan(100);
    expect(seen.inline).toBeGreaterThan(500);
    expect(seen.closedOnCount).toBeGreaterThan(200);
    expect(seen.closedOnBytes).toBeGreaterThan(10);
    if (type.object !== "programmembers/delete") {
      expect(seen.closedOnBytes).toBeGreaterThan(100);
      for (const count of [seen.astral, seen.nonCharacter, seen.loneSurrogate, seen.protoField]) {
        expect(count).toBeGreaterThan(100);
      }
    }
  });
});
