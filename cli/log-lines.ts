import type { LogRecord } from "../shared/lambda/logger.ts";

const WARNING_LEVELS = new Set(["WARN", "ERROR", "CRITICAL"]);

const text = (value: unknown): string | undefined =>
  typeof value === "string" || typeof value === "number" ? String(value) : undefined;

/** Why Marketo made a batch or part wait or fail, in words, from the code and HTTP status the log item carries. */
function why(record: LogRecord): string {
  const code = text(record.code) ?? "unknown";
  const status = typeof record.status === "number" ? record.status : undefined;
  if (code === "606") return "Marketo's rate limit of 100 calls per 20 s (606)";
  if (code === "615") return "Marketo's limit of 10 concurrent calls (615)";
  if (code === "1016" || code === "1029") return `Marketo's import queue is full (${code})`;
  if (code === "607" || code === "4290801") return `Marketo's daily quota is spent (${code})`;
  if (status === 429) return "Marketo asked to slow down (429)";
  if (status !== undefined && status >= 500) return `Marketo is unavailable (HTTP ${status})`;
  if (code === "604" || code === "608" || code === "611") return `Marketo had a passing error (${code})`;
  if (status === undefined && /^(E[A-Z]+|UND_ERR_[A-Z_]+|NETWORK_ERROR)$/.test(code)) {
    return `no answer from Marketo (${code})`;
  }
  return `Marketo ${code}${status !== undefined ? ` (HTTP ${status})` : ""}`;
}

const seconds = (record: LogRecord): string => String(Math.ceil(Number(record.delayMs ?? 0) / 1000));

/** Sentences for the handlers' known log items, keyed by their message; every field they read is an id or a code. */
const SENTENCES: Record<string, (r: LogRecord) => string> = {
  "batch will be retried": (r) => `batch ${text(r.batch)} waits ${seconds(r)} s: ${why(r)}`,
  "daily quota reached; batch waits": (r) => `batch ${text(r.batch)} waits: ${why(r)}`,
  "batch failed permanently": (r) => `batch ${text(r.batch)} failed: ${why(r)}; its rows are in the report`,
  "batch dead-lettered after retries": (r) =>
    `batch ${text(r.batch)} went to the dead-letter queue after ${text(r.failures) ?? "repeated"} failed attempts: ${why(r)}`,
  "batch not settled; will be retried": (r) =>
    `batch ${text(r.batch)} was not settled (${text(r.error) ?? "error"}); it will be tried again`,
  "batch claim changed while sending; failure not recorded": (r) =>
    `batch ${text(r.batch)} was taken over while sending; this failure is not counted`,
  "invalid message dead-lettered": (r) => `an unreadable ${text(r.what) ?? "message"} went to its dead-letter queue`,
  "bulk step will be retried": (r) => `import part ${text(r.part)} waits ${seconds(r)} s: ${why(r)}`,
  "Marketo cannot take the job now; part waits": (r) => `import part ${text(r.part)} waits: ${why(r)}`,
  "bulk part failed permanently": (r) => `import part ${text(r.part)} failed: ${why(r)}; its rows are in the report`,
  "bulk part dead-lettered after retries": (r) =>
    `import part ${text(r.part)} went to the dead-letter queue after repeated failures: ${why(r)}`,
  "import job failed": (r) => `import part ${text(r.part)} failed: Marketo's job ${text(r.batchId)} ended Failed`,
  "job slot lease lost while the job runs": (r) =>
    `import part ${text(r.part)} lost its job slot lease; its job is still followed`,
  "bulk step not settled; will be redelivered": (r) =>
    `an import step was not settled (${text(r.error) ?? "error"}); it will be tried again`,
  "report not written; will be retried": (r) =>
    `the file's report was not written (${text(r.error) ?? "error"}); it will be tried again`,
  "file still running; report writer stops waiting": (r) =>
    `the report writer stopped waiting: ${text(r.pending) ?? "some"} rows still pending`,
};

/**
 * The line a person sees for a handler's log item: warnings and errors as a short sentence (a known item) or their
 * level and message (any other); undefined for informational items, which only `--verbose` and `--log` show.
 */
export function humanLogLine(record: LogRecord): string | undefined {
  if (!WARNING_LEVELS.has(record.level)) return undefined;
  const sentence = SENTENCES[record.message];
  if (sentence) return sentence(record);
  const code = text(record.code);
  return `${record.level.toLowerCase()}: ${record.message}${code ? ` (${code})` : ""}`;
}
