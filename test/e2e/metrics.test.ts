import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { samplePersons, toCsv } from "../../scripts/make-sample-persons.ts";
import { type EmfDocument, setMetricsSink } from "../../shared/lambda/metrics.ts";
import { METRIC_NAMESPACE } from "../../shared/contracts/metrics.ts";
import { useHarness } from "./harness.ts";

/**
 * The functions' CloudWatch metrics (EMF, as Powertools prints it in Lambda), captured from the real handlers
 * while a file runs through the local pipeline, and checked against what the simulator saw.
 */
const h = useHarness({ bulkImportMs: 50 });
let documents: EmfDocument[] = [];
beforeEach(() => {
  documents = [];
  setMetricsSink((emf) => documents.push(emf));
});
afterEach(() => setMetricsSink(undefined));

type Emf = Record<string, unknown> & {
  _aws: { CloudWatchMetrics: Array<{ Namespace: string; Dimensions: string[][]; Metrics: Array<{ Name: string }> }> };
};

/** Every value of `name` in the captured documents of `service` whose extra dimension (if given) matches. */
function values(service: string, name: string, dimension?: [string, string]): number[] {
  return (
    (documents as unknown as Emf[])
      .filter((doc) => doc.service === service && doc._aws.CloudWatchMetrics[0]?.Namespace === METRIC_NAMESPACE)
      // A plain metric's document has no extra dimension; a dimensioned one carries its value.
      .filter((doc) => (dimension ? doc[dimension[0]] === dimension[1] : !("Code" in doc || "Reason" in doc)))
      .flatMap((doc) => {
        const value = doc[name];
        return value === undefined ? [] : Array.isArray(value) ? (value as number[]) : [value as number];
      })
  );
}
const total = (service: string, name: string, dimension?: [string, string]) =>
  values(service, name, dimension).reduce((sum, value) => sum + value, 0);

/** Simulator bulk log events that are calls to Marketo (the rest are job transitions). */
const MARKETO_CALLS = new Set(["submitted", "rejected", "status", "failures", "warnings"]);
const SPLITTER = "marketo-ingest-splitter";
const SENDER = "marketo-ingest-sender";
const BULK = "marketo-ingest-bulk-importer";
const REPORTER = "marketo-ingest-report-writer";

describe("metrics from every function", () => {
  it("a persons file with rejected rows, a 429 and a 500: rows, requests, latency, throttles and retries add up", async () => {
    const rows = samplePersons(300, 7);
    const csv = `${toCsv(rows).trimEnd()}\r\nragged@example.com\r\n`;
    h().sim.injectFault({ kind: "status", status: 429, retryAfterSeconds: 1, path: "/persons" });
    h().sim.injectFault({ kind: "status", status: 500, after: 1, path: "/persons" });

    const result = await h().run("persons/metrics.csv", csv, { splitterEnv: { MAX_REQUEST_OBJECTS: "100" } });

    expect(result.summary).toMatchObject({ rowsRead: 301, accepted: 300, rejected: 1 });
    expect(total(SPLITTER, "RowsRead")).toBe(301);
    expect(total(SPLITTER, "RowsQueued")).toBe(300);
    expect(total(SPLITTER, "RowsRejected")).toBe(1);
    const requests = h().sim.requests.length;
    expect(requests).toBe(5);
    expect(total(SENDER, "Requests")).toBe(requests);
    expect(values(SENDER, "MarketoLatency")).toHaveLength(requests);
    expect(values(SENDER, "MarketoLatency").every((ms) => ms >= 0 && ms < 10_000)).toBe(true);
    expect(total(SENDER, "AcceptedRows")).toBe(300);
    expect(total(SENDER, "ObjectsSent")).toBe(300);
    expect(total(SENDER, "FailedRows") + total(SENDER, "DeadLetteredRows")).toBe(0);
    expect(total(SENDER, "Throttles", ["Code", "429"])).toBe(1);
    expect(total(SENDER, "Retries", ["Reason", "429001"])).toBe(1);
    expect(total(SENDER, "Retries", ["Reason", "5000801"])).toBe(1);
    expect(total(REPORTER, "ReportsWritten")).toBe(1);
  });

  it("a bulk file: its job's wait and run time, its requests and its rows", async () => {
    const header = "email,firstName\n";
    const body = Array.from({ length: 20 }, (_, i) => `lead${i}@example.com,Lead${i}\n`).join("");

    const result = await h().run("bulk/leads/metrics.csv", header + body);

    expect(result.summary).toMatchObject({ status: "complete", accepted: 20 });
    expect(total(SPLITTER, "RowsQueued")).toBe(20);
    expect(total(BULK, "AcceptedRows")).toBe(20);
    expect(total(BULK, "Requests")).toBe(h().sim.bulkLog.filter((e) => MARKETO_CALLS.has(e.event)).length);
    expect(values(BULK, "BulkJobWaitSeconds")).toHaveLength(1);
    const [run] = values(BULK, "BulkJobRunSeconds");
    expect(run).toBeGreaterThan(0);
  });
});
