import { describe, expect, it } from "vitest";
import { SplitCheckpointSchema } from "../../../shared/contracts/split-checkpoint.ts";

/** A checkpoint as a paused Data Ingestion split writes it (no `kind` in its progress: written before bulk paused). */
const ingestionCheckpoint = {
  v: 1,
  dropped: { bucket: "drop", key: "persons/big.csv", eTag: '"abc"', size: 1_000 },
  owner: "first-invocation",
  seq: 2,
  startedAt: "2026-12-01T10:00:00.000Z",
  head: { metadata: {}, contentLength: 1_000 },
  source: { kind: "dropped" },
  reader: { byte: 400, lineFeeds: 9, row: 8, nextLine: 10, recordDelimiter: "lf", header: ["email", "firstName"] },
  progress: {
    rowsRead: 8,
    rowsQueued: 6,
    batches: 2,
    heldParts: 1,
    packer: {
      open: {
        metas: [7, 8],
        bytes: 60,
        groups: [{ key: "", frame: { prefix: '{"input":[', suffix: "]}" }, jsons: ['{"a":1}', '{"a":2}'] }],
      },
    },
    rejections: { first: [], groups: [], count: 0, parts: 0 },
    marks: [],
  },
};

const bulkProgress = {
  kind: "bulk",
  rowsRead: 8,
  rowsQueued: 5,
  batches: 1,
  heldParts: 1,
  openPart: { rows: 2, bytes: 91 },
  rejections: {
    first: [{ kind: "rejection", row: 3, line: 4, field: "email", reason: "the lookup field email is blank" }],
    groups: [{ field: "email", reason: "the lookup field email is blank", rows: 1 }],
    count: 1,
    parts: 1,
  },
  marks: [],
};

describe("split checkpoint: the progress of a Data Ingestion or a Bulk Import split", () => {
  it("reads a Data Ingestion checkpoint as the splitter wrote it before bulk splits could pause, unchanged", () => {
    expect(SplitCheckpointSchema.parse(ingestionCheckpoint)).toEqual(ingestionCheckpoint);
  });

  it("keeps a bulk split's progress whole: its kind and the size of the part it was filling", () => {
    const checkpoint = { ...ingestionCheckpoint, dropped: { bucket: "drop", key: "bulk/leads/big.csv" } };
    const parsed = SplitCheckpointSchema.parse({ ...checkpoint, progress: bulkProgress });
    expect(parsed.progress).toEqual(bulkProgress);
  });

  it.each([
    ["an open part without rows", { ...bulkProgress, openPart: { rows: 0, bytes: 91 } }],
    ["a progress of another kind", { ...bulkProgress, kind: "json" }],
    ["a bulk progress without its held parts", { ...bulkProgress, heldParts: undefined }],
  ])("refuses %s", (_what, progress) => {
    expect(SplitCheckpointSchema.safeParse({ ...ingestionCheckpoint, progress }).success).toBe(false);
  });
});
