import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it, vi } from "vitest";
import { humanLogLine } from "../../cli/log-lines.ts";
import { RunOutput } from "../../cli/run-output.ts";
import { createLogger, type LogRecord, setLogSink } from "../../shared/lambda/logger.ts";

const item = (level: string, message: string, fields: Record<string, unknown> = {}): LogRecord => ({
  level,
  message,
  timestamp: "2026-11-23T10:00:00.000Z",
  service: "marketo-ingest-sender",
  ...fields,
});

/** A stderr stand-in that keeps what was written. */
function stream(isTTY: boolean) {
  const writes: string[] = [];
  return { isTTY, writes, write: (text: string) => writes.push(text), text: () => writes.join("") };
}

describe("handler log items as sentences", () => {
  it("says why a batch or import part waits or failed, from its code and HTTP status", () => {
    const retried = { batch: 4, code: "429001", status: 429, delayMs: 6_500, reportPrefix: "reports/x/" };
    expect(humanLogLine(item("WARN", "batch will be retried", retried))).toBe(
      "batch 4 waits 7 s: Marketo asked to slow down (429)",
    );
    expect(
      humanLogLine(item("WARN", "batch will be retried", { batch: 1, code: "5000801", status: 503, delayMs: 2_000 })),
    ).toBe("batch 1 waits 2 s: Marketo is unavailable (HTTP 503)");
    expect(humanLogLine(item("WARN", "batch will be retried", { batch: 1, code: "ECONNRESET", delayMs: 1_000 }))).toBe(
      "batch 1 waits 1 s: no answer from Marketo (ECONNRESET)",
    );
    expect(humanLogLine(item("WARN", "batch failed permanently", { batch: 2, code: "4000802", status: 400 }))).toBe(
      "batch 2 failed: Marketo 4000802 (HTTP 400); its rows are in the report",
    );
    expect(
      humanLogLine(
        item("ERROR", "batch dead-lettered after retries", { batch: 3, code: "5000801", status: 500, failures: 8 }),
      ),
    ).toBe("batch 3 went to the dead-letter queue after 8 failed attempts: Marketo is unavailable (HTTP 500)");
    expect(humanLogLine(item("WARN", "bulk step will be retried", { part: 0, code: "606", delayMs: 20_000 }))).toBe(
      "import part 0 waits 20 s: Marketo's rate limit of 100 calls per 20 s (606)",
    );
    expect(humanLogLine(item("WARN", "Marketo cannot take the job now; part waits", { part: 5, code: "1016" }))).toBe(
      "import part 5 waits: Marketo's import queue is full (1016)",
    );
    expect(humanLogLine(item("WARN", "import job failed", { part: 1, batchId: 3404 }))).toBe(
      "import part 1 failed: Marketo's job 3404 ended Failed",
    );
  });

  it("names an unknown warning by its level and message, and leaves informational items to --verbose and --log", () => {
    expect(humanLogLine(item("WARN", "something new happened", { code: "X1" }))).toBe(
      "warn: something new happened (X1)",
    );
    expect(humanLogLine(item("ERROR", "something broke"))).toBe("error: something broke");
    expect(humanLogLine(item("INFO", "batch accepted", { batch: 0, rows: 1000 }))).toBeUndefined();
  });
});

describe("the run's output on stderr", () => {
  const send = (batchesDone: number, accepted: number) =>
    ({ phase: "send", rowsRead: 5_000, batchesDone, batches: 5, accepted }) as const;

  it("on a terminal: one progress line rewritten in place, warnings printed above it, the line kept under them", () => {
    const out = stream(true);
    const output = new RunOutput({ stream: out, verbose: false });
    output.progress(send(1, 1_000));
    output.sink(item("WARN", "batch will be retried", { batch: 3, code: "429001", status: 429, delayMs: 7_000 }), "{}");
    output.sink(item("INFO", "batch accepted", { batch: 1 }), "{}");
    output.progress(send(5, 5_000));
    output.close();

    expect(out.writes).toEqual([
      "\r\x1b[2K  rows read 5,000 · requests 1/5 · accepted 1,000",
      "\r\x1b[2K  batch 3 waits 7 s: Marketo asked to slow down (429)\n  rows read 5,000 · requests 1/5 · accepted 1,000",
      "\r\x1b[2K  rows read 5,000 · requests 5/5 · accepted 5,000",
      "\n",
    ]);
  });

  it("piped: plain lines, progress at most once per quarter of the batches, no terminal codes", () => {
    const out = stream(false);
    const output = new RunOutput({ stream: out, verbose: false });
    output.progress({ phase: "upload", bytes: 471_000 });
    output.progress({ phase: "split", rowsRead: 5_000, rowsRejected: 0, batches: 5, status: "queued", invocations: 1 });
    for (const done of [0, 1, 1, 2, 3, 4, 5]) output.progress(send(done, done * 1_000));
    output.close();

    expect(out.text()).not.toContain("\x1b");
    expect(out.text().split("\n")).toEqual([
      "  uploaded 460 KiB to the drop bucket",
      "  split: 5,000 rows read, 0 rejected, 5 batches queued (queued)",
      "  rows read 5,000 · requests 0/5 · accepted 0",
      // 1/5 is still the first quarter.
      "  rows read 5,000 · requests 2/5 · accepted 2,000",
      "  rows read 5,000 · requests 3/5 · accepted 3,000",
      "  rows read 5,000 · requests 4/5 · accepted 4,000",
      "  rows read 5,000 · requests 5/5 · accepted 5,000",
      "",
    ]);
  });

  it("--log FILE receives every item as its JSON line; --verbose prints the JSON lines as well", async () => {
    const dir = await mkdtemp(join(tmpdir(), "marketo-ingest-output-"));
    try {
      const logFile = join(dir, "run.jsonl");
      const out = stream(false);
      const output = new RunOutput({ stream: out, verbose: true, logFile });
      const warn = item("WARN", "batch will be retried", { batch: 0, code: "429001", status: 429, delayMs: 6_000 });
      const info = item("INFO", "batch accepted", { batch: 0, rows: 2 });
      output.sink(warn, JSON.stringify(warn));
      output.sink(info, JSON.stringify(info));
      output.close();

      expect(await readFile(logFile, "utf8")).toBe(`${JSON.stringify(warn)}\n${JSON.stringify(info)}\n`);
      expect(out.text()).toBe(
        `${JSON.stringify(warn)}\n  batch 0 waits 6 s: Marketo asked to slow down (429)\n${JSON.stringify(info)}\n`,
      );
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe("where the handlers' log items go", () => {
  afterEach(() => {
    setLogSink(undefined);
    vi.restoreAllMocks();
  });

  /** A logger at INFO (the test run silences the handlers' own loggers), and what reached stdout and stderr. */
  function loggerAndStreams() {
    vi.stubEnv("POWERTOOLS_LOG_LEVEL", "INFO");
    const logger = createLogger("marketo-ingest-test");
    vi.unstubAllEnvs();
    const printed: string[] = [];
    const keep = (chunk: unknown) => {
      printed.push(String(chunk));
      return true;
    };
    vi.spyOn(process.stdout, "write").mockImplementation(keep);
    vi.spyOn(process.stderr, "write").mockImplementation(keep);
    return { logger, printed };
  }

  it("without a sink (Lambda): each item is one JSON line on the process's output, as before", () => {
    const { logger, printed } = loggerAndStreams();
    logger.warn("batch will be retried", { batch: 2, code: "429001" });
    vi.restoreAllMocks();
    expect(printed).toHaveLength(1);
    expect(JSON.parse(printed[0] as string)).toMatchObject({
      level: "WARN",
      message: "batch will be retried",
      service: "marketo-ingest-test",
      batch: 2,
      code: "429001",
    });
  });

  it("with a sink (the CLI): each item reaches only the sink, as a record and the JSON line that says the same", () => {
    const { logger, printed } = loggerAndStreams();
    const received: Array<{ record: LogRecord; line: string }> = [];
    setLogSink((record, line) => received.push({ record, line }));
    logger.info("batch accepted", { batch: 0, rows: 2 });
    logger.warn("batch will be retried", { batch: 1, code: "606" });
    vi.restoreAllMocks();
    expect(printed).toEqual([]);
    expect(received.map(({ record }) => [record.level, record.message, record.batch])).toEqual([
      ["INFO", "batch accepted", 0],
      ["WARN", "batch will be retried", 1],
    ]);
    for (const { record, line } of received) expect(JSON.parse(line)).toEqual(record);
  });
});
