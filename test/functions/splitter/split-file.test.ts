import { describe, expect, it } from "vitest";
import { readCsvRows } from "../../../shared/parsing/csv-rows.ts";
import { InputFileError } from "../../../shared/parsing/input-file-error.ts";
import { BatchMessageSchema } from "../../../shared/contracts/batch-message.ts";
import { resolveFileOptions } from "../../../shared/options/file-options.ts";
import { routeForObjectName } from "../../../shared/options/object-route.ts";
import { planRequests } from "../../../functions/splitter/request-plan.ts";
import { splitFile, splitFileResumably, STAGING_CONCURRENCY } from "../../../functions/splitter/split-file.ts";
import type { BatchSink } from "../../../shared/contracts/batch-publisher.ts";
import { summarizeReport } from "../../../shared/report/file-report.ts";

class MemoryPublisher implements BatchSink {
  readonly messages: Array<{ id: string; body: string }> = [];
  readonly bodies = new Map<string, string>();
  async publish(message: { id: string; body: string }): Promise<void> {
    this.messages.push(message);
  }
  async flush(): Promise<void> {}
  async storeBody(key: string, text: string): Promise<void> {
    this.bodies.set(key, text);
  }
}

async function* bytes(text: string): AsyncGenerator<Uint8Array> {
  yield Buffer.from(text, "utf8");
}

const file = { bucket: "drop", key: "persons/a.csv", reportPrefix: "reports/persons/a.csv/v1/" };

const split = (csv: string, publisher: BatchSink, maxObjects = 2, maxBytes = 1_000_000, maxMessageBytes?: number) =>
  splitFile(
    {
      ...(maxMessageBytes !== undefined ? { maxMessageBytes } : {}),
      file,
      route: routeForObjectName("persons"),
      plan: planRequests(
        resolveFileOptions(routeForObjectName("persons"), { sidecar: { priority: "high", dedupeFields: ["email"] } }),
        true,
      ),
      openRows: () => readCsvRows(bytes(csv)),
      limits: { maxObjects, maxBytes },
    },
    publisher,
  );

describe("splitFile", () => {
  it("turns rows into request messages carrying their row numbers and the request header", async () => {
    const publisher = new MemoryPublisher();
    const summary = await split("email,zip\na@x.io,04906\nb@x.io,\nbad\nc@x.io,1\n", publisher);

    expect(summary).toMatchObject({ rowsRead: 4, rowsQueued: 3, batches: 2 });
    expect(summary.rejections).toEqual([
      { kind: "rejection", row: 3, line: 4, reason: "row has 1 fields but the header has 2" },
    ]);
    const messages = publisher.messages.map((m) => BatchMessageSchema.parse(JSON.parse(m.body)));
    expect(messages[0]?.batch).toMatchObject({ index: 0, rowCount: 2, rows: [[1, 2]] });
    expect(messages[0]?.body).toEqual({
      priority: "high",
      dedupeFields: { field1: "email" },
      persons: [{ email: "a@x.io", zip: "04906" }, { email: "b@x.io" }],
    });
    expect(messages[1]?.batch).toMatchObject({ index: 1, rowCount: 1, rows: [[4, 4]] });
    expect(publisher.messages.map((m) => m.id)).toEqual(["b0", "b1"]);
  });

  it("counts a body's raw UTF-8 bytes (an emoji is 4), and its message escapes only what queues refuse", async () => {
    const publisher = new MemoryPublisher();
    await split("email,notes\na@x.io,🎉\uFFFF\n", publisher, 10);
    const text = publisher.messages[0]?.body as string;
    const message = BatchMessageSchema.parse(JSON.parse(text));
    const sent = JSON.stringify(message.body);
    expect(sent).toContain('"notes":"🎉\uFFFF"');
    expect(message.batch.bytes).toBe(Buffer.byteLength(sent));
    expect(text).toContain('"notes":"\\ud83c\\udf89\\uffff"');
  });

  it("puts a body whose message would be too large for the queue in the work bucket, and points to it", async () => {
    const publisher = new MemoryPublisher();
    const csv = `email,notes\na@x.io,${"🎉".repeat(100)}\nb@x.io,short\n`;
    // The first body is 495 bytes raw; escaped for the queue (12 bytes an emoji) it is 1,295, its message more.
    await split(csv, publisher, 1, 1_000_000, 900);

    const [first, second] = publisher.messages.map((m) => BatchMessageSchema.parse(JSON.parse(m.body)));
    expect(first?.body).toBeUndefined();
    expect(first?.bodyObject).toEqual({ key: "reports/persons/a.csv/v1/bodies/000000.json" });
    const stored = publisher.bodies.get("reports/persons/a.csv/v1/bodies/000000.json") as string;
    expect(JSON.parse(stored)).toMatchObject({ persons: [{ email: "a@x.io", notes: "🎉".repeat(100) }] });
    expect(Buffer.byteLength(stored)).toBe(first?.batch.bytes);
    expect(second?.body).toMatchObject({ persons: [{ email: "b@x.io", notes: "short" }] });
    expect(publisher.bodies.size).toBe(1);
  });

  it("sends nothing at all when the file turns out broken after valid rows", async () => {
    const publisher = new MemoryPublisher();
    const csv = `email\n${Array.from({ length: 50 }, (_, i) => `p${i}@x.io`).join("\n")}\n"unterminated\n`;
    await expect(split(csv, publisher)).rejects.toBeInstanceOf(InputFileError);
    expect(publisher.messages).toHaveLength(0);
  });

  it("rejects a row too large for any request, alone, with its size", async () => {
    const publisher = new MemoryPublisher();
    const summary = await split(`email,notes\na@x.io,${"x".repeat(200)}\nb@x.io,ok\n`, publisher, 10, 150);
    expect(summary.rowsQueued).toBe(1);
    expect(summary.rejections[0]?.reason).toMatch(/^row is \d+ bytes as JSON; one request holds at most \d+$/);
  });
});

describe("summarizeReport", () => {
  const manifest = {
    v: 1 as const,
    file,
    objectType: "persons",
    status: "queued" as const,
    rowsRead: 10,
    rowsQueued: 9,
    batches: 3,
    rejectedRows: [{ row: 4, line: 5, reason: "r" }],
    startedAt: "",
    finishedAt: "",
  };
  const outcome = (index: number, rowCount: number, status: "accepted" | "failed" | "dead-lettered") => ({
    v: 1 as const,
    index,
    rowCount,
    rows: [] as Array<[number, number]>,
    status,
    attempts: 1,
    finishedAt: "",
    ...(status === "accepted" ? { requestId: `r${index}` } : {}),
  });

  it("keeps the identity rows read = accepted + rejected + failed + dead-lettered + pending", () => {
    const running = summarizeReport(manifest, [outcome(0, 3, "accepted")]);
    expect(running).toMatchObject({ status: "running", accepted: 3, rejected: 1, pending: 6 });
    const done = summarizeReport(manifest, [
      outcome(0, 3, "accepted"),
      outcome(1, 3, "failed"),
      outcome(2, 3, "dead-lettered"),
    ]);
    expect(done).toMatchObject({
      status: "complete with failures",
      accepted: 3,
      failed: 3,
      deadLettered: 3,
      pending: 0,
    });
    expect(done.accepted + done.rejected + done.failed + done.deadLettered + done.pending).toBe(done.rowsRead);
  });

  it("is complete only when every queued row was accepted and none rejected", () => {
    const clean = { ...manifest, rowsRead: 9, rejectedRows: [] };
    const result = summarizeReport(clean, [
      outcome(0, 3, "accepted"),
      outcome(1, 3, "accepted"),
      outcome(2, 3, "accepted"),
    ]);
    expect(result).toMatchObject({ status: "complete", requests: 3, requestIds: ["r0", "r1", "r2"] });
  });

  it("is running while the splitter has not written its manifest", () => {
    expect(summarizeReport(undefined, [outcome(0, 3, "accepted")]).status).toBe("running");
  });
});

describe("splitFile reads the file once and queues nothing before its end", () => {
  /** A sink that records the order of its calls. */
  class RecordingSink extends MemoryPublisher {
    readonly calls: string[] = [];
    override async publish(message: { id: string; body: string }): Promise<void> {
      this.calls.push(`publish ${message.id}`);
      await super.publish(message);
    }
    override async storeBody(key: string, text: string): Promise<void> {
      this.calls.push(`store ${key}`);
      await super.storeBody(key, text);
    }
  }
  const persons = (n: number) =>
    `email,firstName\n${Array.from({ length: n }, (_, i) => `p${i + 1}@x.io,Person ${i + 1}`).join("\n")}\n`;
  const run = (csv: string, sink: BatchSink, holdBytes?: number) => {
    let opened = 0;
    const summary = splitFile(
      {
        ...(holdBytes !== undefined ? { holdBytes } : {}),
        file,
        route: routeForObjectName("persons"),
        plan: planRequests(resolveFileOptions(routeForObjectName("persons"), {}), true),
        openRows: () => {
          opened++;
          return readCsvRows(bytes(csv));
        },
        limits: { maxObjects: 10, maxBytes: 1_000_000 },
      },
      sink,
    );
    return { summary, opened: () => opened };
  };

  it("opens the file once", async () => {
    const split = run(persons(95), new RecordingSink());
    expect(await split.summary).toMatchObject({ rowsRead: 95, batches: 10 });
    expect(split.opened()).toBe(1);
  });

  it("past holdBytes, stages every body in the work bucket and queues pointers: the same batches, nothing queued before the end", async () => {
    const inline = new RecordingSink();
    await run(persons(95), inline).summary;
    const staged = new RecordingSink();
    const split = run(persons(95), staged, 2_000);
    await split.summary;
    expect(split.opened()).toBe(1);

    const inlineMessages = inline.messages.map((m) => BatchMessageSchema.parse(JSON.parse(m.body)));
    const stagedMessages = staged.messages.map((m) => BatchMessageSchema.parse(JSON.parse(m.body)));
    expect(stagedMessages.map((m) => m.batch)).toEqual(inlineMessages.map((m) => m.batch));
    for (const [i, message] of stagedMessages.entries()) {
      expect(message.body).toBeUndefined();
      const stored = staged.bodies.get(message.bodyObject?.key ?? "");
      expect(JSON.parse(stored ?? "")).toEqual(inlineMessages[i]?.body);
    }
    // Every body stored before the first message is queued.
    const firstPublish = staged.calls.findIndex((call) => call.startsWith("publish"));
    expect(staged.calls.slice(0, firstPublish)).toHaveLength(10);
    expect(staged.calls.slice(firstPublish).every((call) => call.startsWith("publish"))).toBe(true);
  });

  it("stages bodies several at a time, and queues no pointer before every body has been written", async () => {
    /** A work bucket whose writes take a while (timers, not a clock: nothing here depends on how long). */
    class SlowSink extends RecordingSink {
      inFlight = 0;
      mostInFlight = 0;
      override async storeBody(key: string, text: string): Promise<void> {
        this.inFlight++;
        this.mostInFlight = Math.max(this.mostInFlight, this.inFlight);
        await new Promise((resolve) => setTimeout(resolve, 2));
        this.inFlight--;
        await super.storeBody(key, text);
        this.calls.push(`stored ${key}`);
      }
    }
    const sink = new SlowSink();
    const summary = await run(persons(300), sink, 2_000).summary;
    expect(summary.batches).toBe(30);
    expect(sink.mostInFlight).toBeGreaterThan(1);
    expect(sink.mostInFlight).toBeLessThanOrEqual(STAGING_CONCURRENCY);
    const firstPublish = sink.calls.findIndex((call) => call.startsWith("publish"));
    expect(sink.calls.slice(0, firstPublish).filter((call) => call.startsWith("stored"))).toHaveLength(30);
    expect(sink.messages).toHaveLength(30);
  });

  it("a body that cannot be written fails the split, and nothing is queued", async () => {
    class FailingSink extends RecordingSink {
      override async storeBody(key: string, text: string): Promise<void> {
        if (key.endsWith("bodies/000017.json")) throw new Error("S3 is down");
        await super.storeBody(key, text);
      }
    }
    const sink = new FailingSink();
    await expect(run(persons(300), sink, 2_000).summary).rejects.toThrow("S3 is down");
    expect(sink.messages).toEqual([]);
  });

  it("a file found broken while bodies are being written fails only once no write is left running", async () => {
    // A Lambda that returns with writes in flight is frozen with them: they would end, or fail, in a later
    // invocation. Each write here finishes on a later turn of the event loop than the one the reader fails in.
    class PendingSink extends RecordingSink {
      inFlight = 0;
      override async storeBody(key: string, text: string): Promise<void> {
        this.inFlight++;
        await new Promise((resolve) => setImmediate(resolve));
        this.inFlight--;
        await super.storeBody(key, text);
      }
    }
    const sink = new PendingSink();
    const broken = `${persons(295)}"unterminated,quote\n`;
    await expect(run(broken, sink, 2_000).summary).rejects.toBeInstanceOf(InputFileError);
    expect(sink.inFlight).toBe(0);
    expect(sink.messages).toEqual([]);
  });

  it("a body that cannot be written at a pause fails the invocation before any pointer to it is saved", async () => {
    // The next invocation would trust a saved pointer: a held part naming a body that was never written loses rows.
    class FailingSink extends RecordingSink {
      override async storeBody(key: string, text: string): Promise<void> {
        await new Promise((resolve) => setImmediate(resolve));
        if (key.endsWith("bodies/000004.json")) throw new Error("S3 is down");
        await super.storeBody(key, text);
      }
    }
    const sink = new FailingSink();
    const savedParts: string[] = [];
    let rows = 0;
    const paused = splitFileResumably(
      {
        file,
        route: routeForObjectName("persons"),
        plan: planRequests(resolveFileOptions(routeForObjectName("persons"), {}), true),
        openRows: () => readCsvRows(bytes(persons(95))),
        limits: { maxObjects: 10, maxBytes: 1_000_000 },
        shouldPause: () => ++rows === 60,
        heldMessages: { put: async (_part, ndjson) => void savedParts.push(ndjson), read: async () => "" },
      },
      sink,
    );
    await expect(paused).rejects.toThrow("S3 is down");
    expect(savedParts).toEqual([]);
    expect(sink.messages).toEqual([]);
  });

  it("a file broken after many batches, held or staged, queues nothing", async () => {
    const broken = `${persons(95)}"unterminated,quote\n`;
    for (const holdBytes of [undefined, 2_000]) {
      const sink = new RecordingSink();
      await expect(run(broken, sink, holdBytes).summary).rejects.toBeInstanceOf(InputFileError);
      expect(sink.messages).toEqual([]);
    }
  });
});
