// Whatever the splitter accepts at the edge (options at their limits, the largest ids, every object type), the
// consumer of its messages accepts too: otherwise a file is "queued" and its batches are dead-lettered later as
// invalid messages. Each case goes through processDroppedFile as a dropped file would, and every message it
// publishes is parsed with the sender's or the bulk importer's own schema.
import { describe, expect, it } from "vitest";
import { processDroppedFile } from "../../../functions/splitter/process-dropped-file.ts";
import { DEFAULT_FILE_GUARDS } from "../../../functions/splitter/settings.ts";
import { BatchMessageText, requestBodyOf } from "../../../shared/contracts/batch-message.ts";
import type { BatchSink, BulkPartSink } from "../../../shared/contracts/batch-publisher.ts";
import { BulkPartMessageSchema } from "../../../shared/contracts/bulk-message.ts";
import type { SplitManifest } from "../../../shared/report/file-report.ts";
import { FakeClock } from "../../support/fake-clock.ts";

const MAX_ID = String(Number.MAX_SAFE_INTEGER);
const name255 = (seed: string) => `${seed}${"é".repeat(255)}`.slice(0, 255);
const field255 = (seed: string) => `${seed}${"f".repeat(255)}`.slice(0, 255);
const API_NAME_50 = `a${"b".repeat(48)}c`;

class Captured implements BatchSink, BulkPartSink {
  readonly messages: string[] = [];
  readonly bodies = new Map<string, string>();
  async publish(message: { id: string; body: string }): Promise<void> {
    this.messages.push(message.body);
  }
  async flush(): Promise<void> {}
  async storeBody(key: string, text: string): Promise<void> {
    this.bodies.set(key, text);
  }
  async putPart(key: string, text: string): Promise<void> {
    this.bodies.set(key, text);
  }
}

async function split(key: string, csv: string, sidecar: Record<string, unknown>) {
  const sink = new Captured();
  let manifest: SplitManifest | undefined;
  const reports = {
    putManifest: async (_file: unknown, m: SplitManifest) => {
      manifest = m;
    },
    putRejectedRowsPart: async () => {},
    readRejectedRows: async function* () {},
  } as unknown as Parameters<typeof processDroppedFile>[1]["reports"];
  await processDroppedFile(
    { bucket: "drop", key, versionId: "v1" },
    {
      describe: async () => ({ metadata: {} }),
      open: async function* () {
        yield Buffer.from(csv);
      },
      readSidecar: async () => JSON.stringify(sidecar),
      publisher: sink,
      reports,
      clock: new FakeClock(),
      limits: { maxObjects: 1_000, maxBytes: 1_000_000 },
      defaults: {},
      bulk: { sink, maxPartBytes: 10_000_000 },
      guards: DEFAULT_FILE_GUARDS,
    },
  );
  return { sink, manifest: manifest as SplitManifest };
}

const INGESTION_CASES: Array<[string, string, Record<string, unknown>]> = [
  [
    "persons/edge.csv",
    `${field255("e")},${field255("s")},email\nE1,S1,a@x.io\nE2,S2,b@x.io\n`,
    { priority: "high", partitionName: name255("P"), dedupeFields: [field255("e"), field255("s")] },
  ],
  [
    `customobjects/${API_NAME_50}/edge.csv`,
    "marketoGUID,color\nG1,red\n",
    { priority: "high", dedupeBy: "marketoGUID" },
  ],
  ["companies/edge.csv", `id,company\n${MAX_ID},Acme\n1,Beta\n`, { action: "updateOnly", dedupeBy: "idField" }],
  ["programmembers/edge.csv", `programId,leadId\n${MAX_ID},${MAX_ID}\n7,8\n`, { status: name255("S") }],
  ["programmembers/delete/edge.csv", `programId,leadId\n${MAX_ID},${MAX_ID}\n`, {}],
  ["lists/edge.csv", `leadId\n${MAX_ID}\n2\n`, { listId: MAX_ID }],
  ["lists/remove/edge.csv", `listId,id\n${MAX_ID},${MAX_ID}\n`, {}],
];

const BULK_CASES: Array<[string, string, Record<string, unknown>]> = [
  [
    "bulk/leads/edge.csv",
    `${field255("k")},email\nk1,a@x.io\n`,
    { lookupField: field255("k"), listId: MAX_ID, partitionName: name255("P") },
  ],
  [`bulk/customobjects/${API_NAME_50}/edge.csv`, "vin,color\nV1,red\n", {}],
  [`bulk/programmembers/${MAX_ID}/edge.csv`, "email\na@x.io\n", { programMemberStatus: name255("S") }],
  ["persons/edge-bulk.csv", "email\na@x.io\n", { mode: "bulk", listId: MAX_ID, partitionName: name255("P") }],
];

describe("what the splitter accepts at the edge, its consumers accept", () => {
  it.each(INGESTION_CASES)("%s: every batch message parses with the sender's schema", async (key, csv, sidecar) => {
    const { sink, manifest } = await split(key, csv, sidecar);
    expect(manifest.error).toBeUndefined();
    expect(manifest).toMatchObject({ status: "queued", rejectedRows: [] });
    expect(sink.messages).toHaveLength(manifest.batches);
    for (const text of sink.messages) {
      const parsed = BatchMessageText.safeParse(text);
      expect(parsed.error?.issues ?? []).toEqual([]);
      const body = await requestBodyOf(parsed.data!, async (k) => sink.bodies.get(k));
      expect(body).toMatchObject({ ok: true });
    }
  });

  it.each(BULK_CASES)("%s: every part message parses with the bulk importer's schema", async (key, csv, sidecar) => {
    const { sink, manifest } = await split(key, csv, sidecar);
    expect(manifest.error).toBeUndefined();
    expect(manifest).toMatchObject({ status: "queued", mode: "bulk", rejectedRows: [] });
    expect(sink.messages).toHaveLength(manifest.batches);
    for (const text of sink.messages) {
      const parsed = BulkPartMessageSchema.safeParse(JSON.parse(text));
      expect(parsed.error?.issues ?? []).toEqual([]);
    }
  });

  it.each([
    ["persons/long-dedupe.csv", "email\na@x.io\n", { dedupeFields: [field255("e") + "x"] }, /dedupeFields/],
    ["lists/unsafe-id.csv", "leadId\n1\n", { listId: "9007199254740993" }, /listId: must be a positive integer/],
    [`bulk/programmembers/9007199254740993/edge.csv`, "email\na@x.io\n", {}, /not a program id/],
  ])("%s past the limit: the file is rejected whole with the reason", async (key, csv, sidecar, reason) => {
    const { sink, manifest } = await split(key, csv, sidecar);
    expect(manifest.status).toBe("rejected");
    expect(manifest.error?.message).toMatch(reason);
    expect(sink.messages).toEqual([]);
  });
});
