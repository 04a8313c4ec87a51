import { ReceiveMessageCommand } from "@aws-sdk/client-sqs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { samplePersons, toCsv } from "../../scripts/make-sample-persons.ts";
import { expectEveryRowAccountedFor, expectPersonsWrittenOnce, readIssueRows } from "./accounting.ts";
import { type FaultProxy, startFaultProxy } from "./fault-proxy.ts";
import { useHarness } from "./harness.ts";

const h = useHarness();
const accepted = () => h().sim.requests.filter((r) => r.status === 202);

describe("the file report", () => {
  it("counts every row, and lists rejected and failed rows with their original columns, row number and reason", async () => {
    const rows = samplePersons(120, 21);
    rows[4] = { ...rows[4], email: "" } as Record<string, string>; // row 5: no email → rejected
    const csv = `${toCsv(rows)}ragged@example.com\r\n`; // row 121: one field only → rejected by the parser
    // One request is refused as invalid data: its 50 rows fail with Marketo's reason.
    h().sim.injectFault({ kind: "status", status: 400, errorCode: "4000802", message: "Invalid data" });
    const result = await h().run("persons/report.csv", csv, { splitterEnv: { MAX_REQUEST_OBJECTS: "50" } });

    expectEveryRowAccountedFor(result);
    const failedBatch = result.outcomes.find((o) => o.status === "failed");
    expect(failedBatch?.rowCount).toBe(50);
    expect(result.report).toMatchObject({
      status: "complete with failures",
      rowsRead: 121,
      rejected: 2,
      failed: 50,
      accepted: 69,
      batches: { total: 3, final: 3 },
      failures: [{ outcome: "failed", code: "4000802", message: "Invalid data", rows: 50 }],
      rowsWithIssues: { key: `${result.file.reportPrefix}rows-with-issues.csv`, rows: 52 },
    });
    expect(result.report?.requestIds).toHaveLength(2);
    expect(result.report?.timings.lastBatchFinishedAt).toBeTruthy();

    const issues = await readIssueRows(h(), result);
    expect(issues).toHaveLength(52);
    const byRow = new Map(issues.map((issue) => [Number(issue.row), issue]));
    expect(byRow.get(5)).toMatchObject({ outcome: "rejected", field: "email", email: "", lastName: rows[4]?.lastName });
    expect(byRow.get(121)).toMatchObject({ outcome: "rejected", reason: "row has 1 fields but the header has 9" });
    const [from, to] = failedBatch?.rows[0] ?? [0, 0];
    for (let row = from; row <= to; row++) {
      expect(byRow.get(row)).toMatchObject({
        outcome: "failed",
        code: "4000802",
        reason: "Invalid data",
        email: rows[row - 1]?.email,
        notes: rows[row - 1]?.notes ?? "",
      });
    }
  });
});

describe("duplicate S3 events", () => {
  const rows = samplePersons(2_400, 22);

  it("the same event delivered twice, one after the other: the second finds the manifest and sends nothing", async () => {
    const result = await h().run("persons/dup-sequential.csv", toCsv(rows), {
      deliverEvent: async (invoke, event) => {
        await invoke(event, "first-delivery");
        await invoke(event, "second-delivery");
      },
    });
    expectEveryRowAccountedFor(result);
    expect(result.eventSource.messagesReceived).toBe(result.manifest?.batches);
    expect(accepted()).toHaveLength(result.manifest?.batches ?? -1);
    expectPersonsWrittenOnce(
      h(),
      rows.map((row) => row.email as string),
    );
  });

  it("the same event delivered twice at once: exactly one invocation splits the file", async () => {
    const result = await h().run("persons/dup-concurrent.csv", toCsv(rows), {
      deliverEvent: async (invoke, event) => {
        await Promise.all([invoke(event, "delivery-a"), invoke(event, "delivery-b")]);
      },
    });
    expectEveryRowAccountedFor(result);
    expect(result.summary.accepted).toBe(rows.length);
    expect(result.eventSource.messagesReceived).toBe(result.manifest?.batches);
    expectPersonsWrittenOnce(
      h(),
      rows.map((row) => row.email as string),
    );
    // One announcement, so one report chain.
    const leftover = await h().aws.sqs.send(new ReceiveMessageCommand({ QueueUrl: h().aws.reportQueueUrl }));
    expect(leftover.Messages ?? []).toHaveLength(0);
  });
});

describe("a splitter stopped mid-file", () => {
  let proxy: FaultProxy;
  beforeAll(async () => {
    proxy = await startFaultProxy(h().aws.endpoint);
  });
  afterAll(async () => {
    await proxy.close();
  });

  it("is resumed by Lambda's retry; the batches it queued twice reach Marketo once", async () => {
    const rows = samplePersons(3_000, 23);
    proxy.heal();
    proxy.seen.clear();
    // Two SendMessageBatch calls (20 batches) get through, then SQS fails until the invocation gives up.
    proxy.failAfter("SendMessageBatch", 2);
    let attempts = 0;
    const result = await h().run("persons/resumed.csv", toCsv(rows), {
      splitterEnv: { MAX_REQUEST_OBJECTS: "50", AWS_ENDPOINT_URL_SQS: proxy.url },
      deliverEvent: async (invoke, event) => {
        attempts++;
        await expect(invoke(event, "req-1")).rejects.toThrow();
        proxy.heal();
        attempts++;
        await invoke(event, "req-1"); // Lambda retries an async invocation with the same request id
      },
    });

    expect(attempts).toBe(2);
    expectEveryRowAccountedFor(result);
    expect(result.manifest?.batches).toBe(60);
    expect(result.summary).toMatchObject({ status: "complete", accepted: rows.length });
    // 20 batches were queued twice, yet Marketo received each of the 60 batches once.
    expect(result.eventSource.messagesReceived).toBeGreaterThanOrEqual(80);
    expect(accepted()).toHaveLength(60);
    expect(new Set(accepted().map((r) => r.correlationId)).size).toBe(60);
    expectPersonsWrittenOnce(
      h(),
      rows.map((row) => row.email as string),
    );
  });
});
