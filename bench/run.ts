/**
 * npm run bench — throughput, peak memory and requests per record, measured in one run (this machine is noisy:
 * compare the ratios printed together, not numbers across runs).
 */
import "./quiet-environment.ts";
import { samplePersons, toCsv } from "../scripts/make-sample-persons.ts";
import { startLocalAws } from "../local/local-aws.ts";
import { runPipelineLocally } from "../local/run-pipeline-locally.ts";
import { sendIntakeMessages } from "../local/intake-producer.ts";
import { runIntakeLocally } from "../local/run-intake-locally.ts";
import { DEPLOYMENT_DEFAULTS } from "../shared/config/deployment-defaults.ts";
import { startMarketoSimulator } from "../local/marketo-simulator/index.ts";
import { readCsvRows } from "../shared/parsing/csv-rows.ts";
import { resolveFileOptions } from "../shared/options/file-options.ts";
import { routeForObjectName } from "../shared/options/object-route.ts";
import { planRequests } from "../functions/splitter/request-plan.ts";
import { splitFile } from "../functions/splitter/split-file.ts";

const SPLIT_ROWS = Number(process.env.BENCH_SPLIT_ROWS ?? 200_000);
const E2E_ROWS = Number(process.env.BENCH_E2E_ROWS ?? 50_000);

let peakRss = 0;
const sampler = setInterval(() => {
  peakRss = Math.max(peakRss, process.memoryUsage().rss);
}, 20);
sampler.unref();

async function* chunks(bytes: Buffer, size = 64 * 1024): AsyncGenerator<Uint8Array> {
  for (let i = 0; i < bytes.length; i += size) yield bytes.subarray(i, i + size);
}

const mb = (bytes: number) => `${(bytes / 1024 / 1024).toFixed(0)} MiB`;

async function benchSplit(): Promise<void> {
  const csv = Buffer.from(toCsv(samplePersons(SPLIT_ROWS, 1)));
  // Parse only: the floor under everything the splitter does.
  let t = performance.now();
  let parsed = 0;
  for await (const _ of readCsvRows(chunks(csv))) parsed++;
  const parseMs = performance.now() - t;

  // Full split: dry pass + packing pass, messages serialized, publishing to nowhere.
  let messages = 0;
  let messageBytes = 0;
  t = performance.now();
  const summary = await splitFile(
    {
      file: { bucket: "b", key: "persons/bench.csv", reportPrefix: "reports/persons/bench.csv/v/" },
      route: routeForObjectName("persons"),
      plan: planRequests(resolveFileOptions(routeForObjectName("persons"), {}), true),
      openRows: () => readCsvRows(chunks(csv)),
      limits: { maxObjects: 1000, maxBytes: 1_000_000 },
    },
    {
      publish: async (m) => {
        messages++;
        messageBytes += m.body.length;
      },
      flush: async () => {},
      storeBody: async () => {},
    },
  );
  const splitMs = performance.now() - t;
  console.log(`split  ${SPLIT_ROWS.toLocaleString()} rows, ${mb(csv.length)} CSV`);
  console.log(`  parse only             ${Math.round(parsed / (parseMs / 1000)).toLocaleString()} rows/s`);
  console.log(
    `  split (one read)       ${Math.round(summary.rowsRead / (splitMs / 1000)).toLocaleString()} rows/s · ${(splitMs / parseMs).toFixed(2)}× parse-only time`,
  );
  console.log(
    `  requests per record    ${(messages / summary.rowsRead).toFixed(4)} (${messages} requests, ${Math.round(summary.rowsRead / messages)} rows and ${Math.round(messageBytes / messages / 1024)} KiB each on average)`,
  );
}

async function benchEndToEnd(): Promise<void> {
  const csv = Buffer.from(toCsv(samplePersons(E2E_ROWS, 2)));
  const aws = await startLocalAws();
  const sim = await startMarketoSimulator();
  try {
    const result = await runPipelineLocally({
      aws,
      source: { bytes: csv },
      key: "persons/bench.csv",
      marketo: {
        clientId: sim.clientId,
        clientSecret: sim.clientSecret,
        munchkinId: sim.munchkinId,
        identityUrl: sim.identityUrl,
        ingestionUrl: sim.ingestionUrl,
      },
    });
    const seconds = result.elapsedMs / 1000;
    console.log(`end to end (emulator + simulator) ${E2E_ROWS.toLocaleString()} rows, ${mb(csv.length)} CSV`);
    console.log(
      `  throughput             ${Math.round(result.summary.rowsRead / seconds).toLocaleString()} rows/s (${seconds.toFixed(1)} s)`,
    );
    console.log(
      `  accepted               ${result.summary.accepted.toLocaleString()} of ${result.summary.rowsRead.toLocaleString()}`,
    );
    console.log(
      `  Marketo requests/record ${(sim.requests.length / result.summary.rowsRead).toFixed(4)} · identity calls ${sim.identityCalls}`,
    );
    console.log(`  sender invocations     ${result.eventSource.invocations}`);
    // What delivery guarantees cost: S3 (claims, outcomes, report) and SQS calls per Marketo request.
    const counts = aws.requestCounts();
    const batches = result.manifest?.batches ?? 1;
    const perBatch = (prefix: string) =>
      Object.entries(counts)
        .filter(([name]) => name.startsWith(prefix))
        .map(([name, count]) => `${name.slice(prefix.length)} ${(count / batches).toFixed(2)}`)
        .join(", ");
    console.log(`  S3 calls per batch     ${perBatch("s3:")}   (${batches} batches; upload and reports included)`);
    console.log(`  SQS calls per batch    ${perBatch("sqs:")}`);
    console.log(`  report                 ${result.report?.status} (${result.report?.rowsRead.toLocaleString()} rows)`);
  } finally {
    await aws.close();
    await sim.close();
  }
}

/** Value at quantile q (0..1) of sorted numbers, nearest rank. */
const quantile = (sorted: number[], q: number) =>
  sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)] ?? 0;

/**
 * Producers on the intake queue: single-record persons messages, the stack's batch size and 5 s batching window.
 * Latency is per message, from its SendMessageBatch call returning to Marketo (the simulator) receiving the
 * request that carries its record.
 */
async function benchIntake(label: string, messages: number, perSecond: number | undefined): Promise<void> {
  const aws = await startLocalAws();
  const sim = await startMarketoSimulator();
  try {
    const bodies = Array.from({ length: messages }, (_, i) =>
      JSON.stringify({ v: 1, objectType: "persons", records: [{ email: `m${i}@example.com`, firstName: `M${i}` }] }),
    );
    const sentAt = new Array<number>(messages).fill(0);
    let sending = true;
    const produce = async () => {
      // Steady producers send a chunk of 10 every 10/perSecond seconds; a burst sends as fast as SQS takes them.
      for (let start = 0; start < messages; start += 10) {
        const tick = performance.now();
        await sendIntakeMessages(aws.sqs, aws.intakeQueueUrl, bodies.slice(start, start + 10), { concurrency: 1 });
        const now = Date.now();
        for (let i = start; i < Math.min(messages, start + 10); i++) sentAt[i] = now;
        if (perSecond) await sleep(Math.max(0, (10 / perSecond) * 1000 - (performance.now() - tick)));
      }
      sending = false;
    };
    const marketo = {
      clientId: sim.clientId,
      clientSecret: sim.clientSecret,
      munchkinId: sim.munchkinId,
      identityUrl: sim.identityUrl,
      ingestionUrl: sim.ingestionUrl,
    };
    const producing = produce();
    if (!perSecond) await producing;
    const result = await runIntakeLocally({
      aws,
      marketo,
      intakeEventSource: { keepPolling: () => sending },
      concurrentDownstream: true,
    });
    await producing;
    const receivedAt = new Map(sim.requests.map((r) => [r.requestId, r.receivedAt]));
    const byEmail = new Map(sim.persons().map((p) => [p.fields.email as string, p.lastRequestId]));
    const latencies = bodies
      .map((_, i) => (receivedAt.get(byEmail.get(`m${i}@example.com`) ?? "") ?? Number.NaN) - (sentAt[i] ?? 0))
      .filter((ms) => Number.isFinite(ms))
      .sort((a, b) => a - b);
    const requests = sim.requests.filter((r) => r.endpoint === "persons").length;
    console.log(
      `intake ${label}: ${messages.toLocaleString()} single-record messages${perSecond ? ` at ${perSecond}/s` : ""}`,
    );
    console.log(
      `  Marketo requests       ${requests} · ${(requests / messages).toFixed(4)} per message · ${result.windows.length} windows · accepted ${result.summary.accepted.toLocaleString()}`,
    );
    console.log(
      `  send → Marketo         p50 ${(quantile(latencies, 0.5) / 1000).toFixed(2)} s · p99 ${(quantile(latencies, 0.99) / 1000).toFixed(2)} s · max ${((latencies.at(-1) ?? 0) / 1000).toFixed(2)} s (batching window ${DEPLOYMENT_DEFAULTS.intakeBatchingWindowSeconds} s; ${latencies.length} measured)`,
    );
  } finally {
    await aws.close();
    await sim.close();
  }
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

await benchSplit();
await benchEndToEnd();
await benchIntake("burst", Number(process.env.BENCH_INTAKE_MESSAGES ?? 10_000), undefined);
await benchIntake("steady", 2_000, 200);
clearInterval(sampler);
console.log(`peak RSS                 ${mb(Math.max(peakRss, process.memoryUsage().rss))} (whole bench process)`);
