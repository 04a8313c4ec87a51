import { DeleteMessageCommand, ReceiveMessageCommand } from "@aws-sdk/client-sqs";
import { describe, expect, it } from "vitest";
import { toQueueSafeText } from "../../shared/text/queue-text.ts";
import { BulkImportClient } from "../../shared/marketo/bulk-import-client.ts";
import { createMarketoDispatcher } from "../../shared/marketo/http.ts";
import { requestAccessToken } from "../../shared/marketo/identity-client.ts";
import { TokenProvider } from "../../shared/marketo/token-provider.ts";
import { systemClock } from "../../shared/time/clock.ts";
import { useHarness } from "./harness.ts";

/**
 * A file name is never a reason to fail. S3 keys are UTF-8 (up to 1,024 bytes) and arrive in S3 events
 * URL-encoded with `+` for spaces; whatever they hold, every row is accepted on the first request, through the
 * real handlers, the S3/SQS emulator and the Marketo simulator (which refuses an X-Correlation-Id over 255).
 */
const h = useHarness();

const KEY_NAMES = [
  "Größe-ő 2026.csv",
  "東京 データ 2026.csv",
  "🎉 party 🎉.csv",
  "with spaces and + plus.csv",
  "100% done %41 %2B.csv",
  "ctl\u0001nl\ncr\rtab\t.csv",
  `${"a".repeat(980)}.csv`,
  `${"é".repeat(488)}.csv`,
  `${"🎉".repeat(244)}.csv`,
];

const VISIBLE_ASCII = /^[\x21-\x7E]+$/;
const persons = (tag: string, count: number) =>
  `email,firstName\n${Array.from({ length: count }, (_, i) => `${tag}-${i}@example.com,Name ${i}`).join("\n")}\n`;

describe("keys that are not header text, through Data Ingestion", () => {
  it.each(KEY_NAMES.map((name) => [JSON.stringify(name).slice(0, 32), `persons/${name}`]))(
    "%s: every row accepted on the first request, with a correlation id Marketo takes",
    async (_name, key) => {
      expect(Buffer.byteLength(key)).toBeLessThanOrEqual(1024);
      // Two rows per request: three batches, so three distinct correlation ids.
      const result = await h().run(key, persons("p", 5), { splitterEnv: { MAX_REQUEST_OBJECTS: "2" } });

      expect(result.manifest?.file.key).toBe(key);
      expect(result.summary).toMatchObject({
        status: "complete",
        rowsRead: 5,
        accepted: 5,
        failed: 0,
        deadLettered: 0,
        pending: 0,
      });
      expect(result.deadLetterMessages).toBe(0);
      expect(result.eventSource).toMatchObject({ messagesReceived: 3, messagesReturned: 0, handlerErrors: 0 });
      const requests = h().sim.requests;
      expect(requests.map((r) => r.status)).toEqual([202, 202, 202]);
      const ids = requests.map((r) => r.correlationId ?? "");
      expect(new Set(ids).size).toBe(3);
      for (const id of ids) {
        expect(id).toMatch(VISIBLE_ASCII);
        expect(id.length).toBeLessThanOrEqual(255);
        expect(key.startsWith(decodeURIComponent(id.replace(/#[0-9a-f]{16}\/\d+$/, "")))).toBe(true);
      }
      expect(h().sim.persons()).toHaveLength(5);
    },
  );
});

describe("a dead-lettered batch of such a file", () => {
  it("reaches the DLQ with its reason; the body keeps the key, the attributes carry it escaped", async () => {
    const key = "persons/🎉 ctl\u0001 cr\r ő.csv";
    h().sim.injectFault({ kind: "status", status: 503, times: 1_000, path: "/persons" });

    const result = await h().run(key, persons("d", 3), {
      senderEnv: { MAX_ATTEMPTS: "2", IN_PROCESS_ATTEMPTS: "1", RETRY_BASE_MS: "0", RETRY_CAP_MS: "0" },
    });

    expect(result.summary).toMatchObject({ status: "complete with failures", deadLettered: 3, accepted: 0 });
    const dlq = h().aws.ingestionDlqUrl;
    const dead = await h().aws.sqs.send(
      new ReceiveMessageCommand({ QueueUrl: dlq, MaxNumberOfMessages: 10, MessageAttributeNames: ["All"] }),
    );
    expect(dead.Messages).toHaveLength(1);
    const [message] = dead.Messages ?? [];
    expect((JSON.parse(message?.Body ?? "{}") as { file: { key: string } }).file.key).toBe(key);
    expect(message?.MessageAttributes?.reportPrefix?.StringValue).toBe(toQueueSafeText(result.file.reportPrefix));
    expect(message?.MessageAttributes?.code?.StringValue).toBe("5000801");
    await h().aws.sqs.send(new DeleteMessageCommand({ QueueUrl: dlq, ReceiptHandle: message?.ReceiptHandle }));
  });
});

describe("keys that are not header text, through Bulk Import", () => {
  it.each(KEY_NAMES.map((name) => [JSON.stringify(name).slice(0, 32), `bulk/leads/${name}`]))(
    "%s: the part is imported by one job on the first submit",
    async (_name, key) => {
      const result = await h().run(key, persons("b", 4));

      expect(result.manifest?.file.key).toBe(key);
      expect(result.summary).toMatchObject({ status: "complete", rowsRead: 4, accepted: 4, deadLettered: 0 });
      expect(result.deadLetterMessages).toBe(0);
      expect(h().sim.bulkLog.filter((e) => e.event === "submitted" || e.event === "rejected")).toHaveLength(1);
      const [job] = h().sim.bulkJobs;
      expect(job).toMatchObject({ status: "Complete", rowCount: 4 });
      expect(job?.fileName).toMatch(/^[A-Za-z0-9._-]{1,100}$/);
      expect(h().sim.persons()).toHaveLength(4);
    },
  );
});

describe("the Bulk Import client's multipart file name", () => {
  it("is sent ASCII, without quotes, CR or LF, whatever name the caller gives", async () => {
    const { sim, secret } = h();
    const dispatcher = createMarketoDispatcher({ timeoutMs: 5_000 });
    try {
      const tokens = new TokenProvider(() => requestAccessToken({ identityUrl: sim.identityUrl }, secret, dispatcher), {
        clock: systemClock,
      });
      const client = new BulkImportClient({
        endpoints: { restUrl: sim.restUrl },
        tokens,
        dispatcher,
        clock: systemClock,
      });
      const name = `Größe "ő" 東京 🎉\r\n${"x".repeat(200)}.csv`;

      const job = await client.submit({ target: "leads" }, { format: "csv" }, { name, text: "email\na@example.com\n" });

      expect(job.status).toBe("Queued");
      const seen = sim.bulkJobs.find((j) => j.batchId === job.batchId);
      expect(seen?.fileName).toMatch(/^Gr__e_+x+\.csv$/);
      expect(seen?.fileName).toHaveLength(100);
    } finally {
      await dispatcher.close();
    }
  });
});
