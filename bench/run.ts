/**
 * npm run bench [-- --sizes 10MB,100MB | --quick | --intake] — the splitter measured against its targets in one run, on generated messy
 * persons files (default 100MB and 1GB; `--quick` is 100MB alone), the whole pipeline locally on a smaller file,
 * intake latency, the CLI's start time and the cost per 1M rows. Prints a report and writes it to
 * docs/benchmarks.md with the machine and the date; `--intake` runs the intake latency part alone, short, into
 * docs/benchmarks-intake.md. This machine is noisy (shared cores): compare the ratios
 * measured together in one run, and CPU time over wall time.
 *
 * Each measured pass runs in a child process of its own (bench/split-child.ts) reading the file through the AWS
 * SDK from the local S3 emulator, as the Lambda reads it: its CPU time and peak RSS are that pass's alone, and the
 * bytes it read are counted on the emulator's side.
 */
import "./quiet-environment.ts";
import { spawn, spawnSync } from "node:child_process";
import { createReadStream, createWriteStream, readFileSync } from "node:fs";
import { mkdir, mkdtemp, rm, stat, writeFile } from "node:fs/promises";
import { cpus, loadavg, tmpdir, totalmem } from "node:os";
import { join } from "node:path";
import { once } from "node:events";
import { fileURLToPath } from "node:url";
import { DeleteObjectCommand } from "@aws-sdk/client-s3";
import { Upload } from "@aws-sdk/lib-storage";
import { App } from "aws-cdk-lib";
import { Template } from "aws-cdk-lib/assertions";
import { format } from "prettier";
import { samplePersons, toCsv } from "../scripts/make-sample-persons.ts";
import { type LocalAws, startLocalAws } from "../local/local-aws.ts";
import { runPipelineLocally } from "../local/run-pipeline-locally.ts";
import { sendIntakeMessages } from "../local/intake-producer.ts";
import { runIntakeLocally } from "../local/run-intake-locally.ts";
import { DEPLOYMENT_DEFAULTS } from "../shared/config/deployment-defaults.ts";
import { simulatorSecret, startMarketoSimulator } from "../local/marketo-simulator/index.ts";
import { createMarketoIngestApp } from "../infra/create-app.ts";
import {
  type ChildMode,
  type ChildResult,
  ChildResultSchema,
  costOf,
  type FunctionUse,
  LIST_PRICES,
  lambdaSecondsAt,
  median,
  ONE_VCPU_MEMORY_MB,
  sqsBilledRequests,
} from "./bench-figures.ts";
import { parseBenchArgs } from "./bench-args.ts";

// Checked already by bench/main.ts (which answers --help); parsed again here for the values.
const args = parseBenchArgs(process.argv.slice(2));
if (args.help) throw new Error("bench/run.ts runs the bench; bench/main.ts answers --help");
const SIZES_TEXT = args.sizesText;
const SIZES = args.sizes;
/** `--intake`: only the intake latency runs (a minute or so), written to docs/benchmarks-intake.md. */
const INTAKE_ONLY = args.intakeOnly;
const MB = 1_000_000;
const E2E_ROWS = Number(process.env.BENCH_E2E_ROWS ?? 50_000);
/** Lambda's timeout: the longest one invocation may run. */
const LAMBDA_TIMEOUT_S = 900;
const TARGET = { ratio: 1.0, peakRssMiB: 256, s3ReadRatio: 1.05, cliStartMs: 300 };
const ROOT = fileURLToPath(new URL("../", import.meta.url));
const CHILD = fileURLToPath(new URL("./split-child.ts", import.meta.url));

const out: string[] = [];
const say = (line = "") => {
  console.log(line);
  out.push(line);
};
const fmt = (n: number, digits = 0) =>
  n.toLocaleString("en-US", { maximumFractionDigits: digits, minimumFractionDigits: digits });
const verdict = (ok: boolean) => (ok ? "meets target" : "**MISSES target**");
const usd = (n: number) => `$${n < 0.01 ? n.toFixed(5) : n.toFixed(4)}`;

/** Writes a deterministic messy persons CSV (quoted commas and quotes, embedded newlines, non-ASCII, CRLF). */
async function generateFile(path: string, targetBytes: number): Promise<{ bytes: number; rows: number }> {
  const stream = createWriteStream(path);
  let bytes = 0;
  let rows = 0;
  for (let block = 0; bytes < targetBytes; block++) {
    const persons = samplePersons(10_000, block + 1).map((person, i) => ({
      ...person,
      email: `p${block}-${i}@example.com`,
    }));
    let text = toCsv(persons);
    if (block > 0) text = text.slice(text.indexOf("\r\n") + 2); // header and BOM once
    const buffer = Buffer.from(text, "utf8");
    bytes += buffer.length;
    rows += persons.length;
    if (!stream.write(buffer)) await once(stream, "drain");
  }
  stream.end();
  await once(stream, "finish");
  return { bytes, rows };
}

/** Runs one measured pass in a child process reading `source`, with `env` added to the environment. */
async function runChild(
  mode: ChildMode,
  source: string,
  aws: LocalAws,
  env: Record<string, string> = {},
): Promise<ChildResult> {
  const child = spawn(process.execPath, ["--import", "tsx", CHILD, mode, source], {
    cwd: ROOT,
    env: { ...process.env, ...aws.awsEnv, ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let stdout = "";
  let stderr = "";
  child.stdout.on("data", (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr.on("data", (chunk: Buffer) => (stderr = (stderr + chunk.toString()).slice(-4000)));
  const [code] = (await once(child, "close")) as [number | null];
  if (code !== 0) throw new Error(`bench child ${mode} exited with ${code}: ${stderr}`);
  const last = stdout.trim().split("\n").pop() ?? "";
  return ChildResultSchema.parse(JSON.parse(last));
}

/** The file uploaded as a client would (multipart: the emulator refuses very large single PUTs). */
async function uploadFile(aws: LocalAws, path: string, key: string): Promise<void> {
  await new Upload({
    client: aws.s3,
    params: { Bucket: aws.dropBucket, Key: key, Body: createReadStream(path) },
    partSize: 8 * 1024 * 1024,
  }).done();
}

const s3BytesServed = (aws: LocalAws) => aws.responseBytes()["s3:GET"] ?? 0;

/** What the cost section needs from the largest file's split. */
interface SplitFigures {
  rows: number;
  bytes: number;
  split: ChildResult;
}

async function benchSplit(sizeBytes: number, dir: string, aws: LocalAws, profile: boolean): Promise<SplitFigures> {
  const path = join(dir, `persons-${sizeBytes}.csv`);
  const generated = await generateFile(path, sizeBytes);
  const key = `persons/bench-${sizeBytes}.csv`;
  try {
    await uploadFile(aws, path, key);
  } finally {
    await rm(path, { force: true });
  }
  const source = `s3://${aws.dropBucket}/${key}`;
  const fileMb = generated.bytes / MB;
  say(`### ${fmt(fileMb, 1)} MB persons CSV (${fmt(generated.rows)} rows)`);
  say();

  const baseline = await runChild("parse-only", source, aws);
  const reader = await runChild("reader", source, aws);
  const servedBefore = s3BytesServed(aws);
  const split = await runChild("split", source, aws);
  const s3Read = s3BytesServed(aws) - servedBefore;
  const profiled = profile ? await profileSplit(source, aws, dir) : undefined;
  await aws.s3.send(new DeleteObjectCommand({ Bucket: aws.dropBucket, Key: key }));
  const sent = split.split;
  if (!sent) throw new Error("the split child reported no split figures");

  const wallRatio = baseline.seconds / split.seconds;
  const cpuRatio = baseline.cpuSeconds / split.cpuSeconds;
  const mbPerCpuSecond = fileMb / split.cpuSeconds;
  const requestsPerMillion = (sent.batches / split.rows) * 1_000_000;
  const boundPerMillion = Math.max(split.rows / 1000, generated.bytes / MB) / (split.rows / 1_000_000);
  const s3Ratio = s3Read / generated.bytes;
  // One vCPU at 1,769 MB: the split is single-threaded, so its rate on one core is the Lambda's.
  const projectedS = 5_000 / mbPerCpuSecond;
  const rate = (r: ChildResult) =>
    `${fmt(r.rows / r.seconds)} rows/s · ${fmt(fileMb / r.seconds, 1)} MB/s (${fmt(r.seconds, 1)} s wall, ${fmt(r.cpuSeconds, 1)} s CPU: ${fmt(fileMb / r.cpuSeconds, 1)} MB per CPU-second)`;
  say("| measure | value | target |");
  say("| --- | --- | --- |");
  say(`| parse only (csv-parse, objects per row) | ${rate(baseline)} · peak RSS ${fmt(baseline.peakRssMiB)} MiB | – |`);
  say(`| splitter (read, validate, pack, serialize, stage) | ${rate(split)} | – |`);
  say(
    `| splitter ÷ parse-only throughput | ${fmt(wallRatio, 2)}× by wall time · ${fmt(cpuRatio, 2)}× by CPU time | ≥ ${TARGET.ratio}×: ${verdict(wallRatio >= TARGET.ratio)} by wall time, ${verdict(cpuRatio >= TARGET.ratio)} by CPU time |`,
  );
  say(
    `| the splitter's reader alone | ${rate(reader)} · ${fmt(baseline.cpuSeconds / reader.cpuSeconds, 2)}× parse-only by CPU | – |`,
  );
  say(
    `| splitter peak RSS | ${fmt(split.peakRssMiB)} MiB (the split's own process, Linux VmHWM) | ≤ ${TARGET.peakRssMiB} MiB: ${verdict(split.peakRssMiB <= TARGET.peakRssMiB)} |`,
  );
  say(
    `| S3 bytes read ÷ file size | ${fmt(s3Ratio, 3)} (${fmt(s3Read)} of ${fmt(generated.bytes)} bytes, counted by the emulator as GET response bytes) | ≤ ${TARGET.s3ReadRatio}: ${verdict(s3Ratio <= TARGET.s3ReadRatio)} |`,
  );
  say(
    `| Marketo requests per 1M rows | ${fmt(requestsPerMillion, 1)} (${fmt(sent.batches)} requests) | bound max(rows/1,000, bytes/1 MB) = ${fmt(boundPerMillion, 1)}: ${verdict(requestsPerMillion <= boundPerMillion * 1.01)} |`,
  );
  say(
    `| SQS bytes per Marketo byte | ${fmt(sent.sqsBytes / sent.marketoBytes, 4)} (queue ${fmt(sent.sqsBytes / MB, 1)} MB in ${fmt(sent.messages)} messages for ${fmt(sent.marketoBytes / MB, 1)} MB of bodies; ${fmt(sent.storedBodies)} bodies staged in the work bucket) | – |`,
  );
  say(
    `| projected 5 GB split on a 1,769 MB Lambda (one vCPU) | ${fmt(projectedS / 60, 1)} min at ${fmt(mbPerCpuSecond, 1)} MB per CPU-second | < ${LAMBDA_TIMEOUT_S / 60} min per invocation: ${verdict(projectedS < LAMBDA_TIMEOUT_S)} |`,
  );
  say(`| rows read / queued / rejected | ${fmt(split.rows)} / ${fmt(sent.rowsQueued)} / ${fmt(sent.rejected)} | – |`);
  say();
  if (profiled) {
    say(
      `Where the split's time goes on this file (V8 CPU profile of the pass alone, as \`node --cpu-prof\` records; top self time of ${fmt(profiled.totalMs / 1000, 1)} s sampled):`,
    );
    say();
    say("| self time | share | function (file) |");
    say("| --- | --- | --- |");
    for (const entry of profiled.top) say(`| ${fmt(entry.ms)} ms | ${fmt(entry.share * 100, 1)}% | ${entry.name} |`);
    say();
  }
  return { rows: generated.rows, bytes: generated.bytes, split };
}

interface CpuProfile {
  nodes: Array<{ id: number; callFrame: { functionName: string; url: string } }>;
  samples: number[];
  timeDeltas: number[];
}

/**
 * One more split under V8's CPU profiler (the one `node --cpu-prof` runs, started and stopped around the pass so
 * module loading is left out), summarised as the top self-time functions.
 */
async function profileSplit(source: string, aws: LocalAws, dir: string) {
  const profilePath = join(dir, "split.cpuprofile");
  await runChild("split", source, aws, { BENCH_CPU_PROFILE: profilePath });
  const profile = JSON.parse(readFileSync(profilePath, "utf8")) as CpuProfile;
  await rm(profilePath, { force: true });
  const selfUs = new Map<number, number>();
  profile.samples.forEach((id, i) => selfUs.set(id, (selfUs.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0)));
  const byName = new Map<string, number>();
  let totalUs = 0;
  for (const node of profile.nodes) {
    const us = selfUs.get(node.id) ?? 0;
    totalUs += us;
    const { functionName, url } = node.callFrame;
    const file = url
      ? url
          .replace(/^file:\/\//, "")
          .replace(ROOT, "")
          .replace(/.*node_modules\//, "")
      : "native";
    const name = `${functionName || "(anonymous)"} (${file})`;
    byName.set(name, (byName.get(name) ?? 0) + us);
  }
  const top = [...byName]
    .sort((a, b) => b[1] - a[1])
    .slice(0, 15)
    .map(([name, us]) => ({ name, ms: us / 1000, share: us / totalUs }));
  return { totalMs: totalUs / 1000, top };
}

/** Per-batch use of the downstream functions and services, from the local end-to-end run. */
interface DownstreamUse {
  batches: number;
  rows: number;
  splitterSeconds: number;
  senderSecondsPerBatch: number;
  reportWriterSecondsPerRow: number;
  reportWriterInvocations: number;
  s3PutsPerBatch: number;
  s3GetsPerBatch: number;
}

async function benchEndToEnd(): Promise<DownstreamUse> {
  const csv = Buffer.from(toCsv(samplePersons(E2E_ROWS, 2)));
  const aws = await startLocalAws();
  const sim = await startMarketoSimulator();
  try {
    // The splitter's invocation is what lies between the upload and the split progress events.
    const phaseAt: Record<string, number> = {};
    const result = await runPipelineLocally({
      aws,
      source: { bytes: csv },
      key: "persons/bench.csv",
      marketo: simulatorSecret(sim),
      onProgress: (progress) => {
        phaseAt[progress.phase] ??= performance.now();
      },
    });
    const seconds = result.elapsedMs / 1000;
    const counts = aws.requestCounts();
    const batches = result.manifest?.batches ?? 1;
    const perBatch = (prefix: string) =>
      Object.entries(counts)
        .filter(([name]) => name.startsWith(prefix))
        .map(([name, count]) => `${name.slice(prefix.length)} ${fmt(count / batches, 2)}`)
        .join(", ");
    const splitterSeconds = ((phaseAt.split ?? 0) - (phaseAt.upload ?? 0)) / 1000;
    const senderSeconds = result.eventSource.handlerMs / 1000;
    const reportSeconds = result.reportEventSource.handlerMs / 1000;
    say(`### Local end to end (emulator + simulator), ${fmt(E2E_ROWS)} rows, ${fmt(csv.length / MB, 1)} MB`);
    say();
    say(
      "A smaller file than above: every request goes through the emulator and the simulator over HTTP in this one process.",
    );
    say();
    say("| measure | value |");
    say("| --- | --- |");
    say(`| throughput | ${fmt(result.summary.rowsRead / seconds)} rows/s (${fmt(seconds, 1)} s, upload to report) |`);
    say(
      `| accepted | ${fmt(result.summary.accepted)} of ${fmt(result.summary.rowsRead)} · report ${result.report?.status} |`,
    );
    say(`| Marketo requests per 1M rows | ${fmt((sim.requests.length / result.summary.rowsRead) * 1_000_000, 1)} |`);
    say(
      `| handler time | splitter ${fmt(splitterSeconds, 2)} s · sender ${fmt(senderSeconds, 2)} s in ${result.eventSource.invocations} invocations · report writer ${fmt(reportSeconds, 2)} s in ${result.reportEventSource.invocations} |`,
    );
    say(`| S3 calls per batch | ${perBatch("s3:")} (${batches} batches; upload and reports included) |`);
    say(`| SQS calls per batch | ${perBatch("sqs:")} |`);
    say();
    return {
      batches,
      rows: result.summary.rowsRead,
      splitterSeconds,
      senderSecondsPerBatch: senderSeconds / batches,
      reportWriterSecondsPerRow: reportSeconds / result.summary.rowsRead,
      reportWriterInvocations: result.reportEventSource.invocations,
      s3PutsPerBatch: (counts["s3:PUT"] ?? 0) / batches,
      s3GetsPerBatch: ((counts["s3:GET"] ?? 0) + (counts["s3:HEAD"] ?? 0)) / batches,
    };
  } finally {
    await aws.close();
    await sim.close();
  }
}

/** Memory of each pipeline function, from the synthesized stack (bundling skipped: only the template is read). */
function stackMemory(): Record<string, number> {
  const cdkJson = JSON.parse(readFileSync(join(ROOT, "cdk.json"), "utf8")) as { context?: Record<string, unknown> };
  const app = new App({ context: { ...cdkJson.context, "aws:cdk:bundling-stacks": [] } });
  const functions = Template.fromStack(createMarketoIngestApp(app)).findResources("AWS::Lambda::Function");
  const memory: Record<string, number> = {};
  for (const resource of Object.values(functions)) {
    const props = (resource as { Properties?: Record<string, unknown> }).Properties ?? {};
    const env = (props.Environment as { Variables?: Record<string, string> } | undefined)?.Variables ?? {};
    const service = env.POWERTOOLS_SERVICE_NAME?.replace(/^marketo-ingest-/, "");
    if (service && typeof props.MemorySize === "number") memory[service] = props.MemorySize;
  }
  return memory;
}

/** Dollars per 1M rows: the largest file's split, and the downstream use per batch from the end-to-end run. */
function reportCost(largest: SplitFigures, downstream: DownstreamUse): void {
  const memory = stackMemory();
  const splitterMb = memory.splitter;
  const senderMb = memory.sender;
  const reportMb = memory["report-writer"];
  if (!splitterMb || !senderMb || !reportMb) throw new Error(`stack memory not found: ${JSON.stringify(memory)}`);
  const sent = largest.split.split;
  if (!sent) throw new Error("the split child reported no split figures");
  const perMillion = 1_000_000 / largest.rows;
  const batches = sent.batches * perMillion;
  const splitterSeconds = lambdaSecondsAt(largest.split.cpuSeconds, splitterMb) * perMillion;
  const functions: FunctionUse[] = [
    {
      name: "splitter",
      memoryMb: splitterMb,
      seconds: splitterSeconds,
      // A 15-minute invocation at most (the splitter continues in a fresh one past that).
      invocations: Math.max(perMillion, splitterSeconds / LAMBDA_TIMEOUT_S),
    },
    {
      name: "sender",
      memoryMb: senderMb,
      seconds: downstream.senderSecondsPerBatch * batches,
      invocations: batches / DEPLOYMENT_DEFAULTS.senderBatchSize,
    },
    {
      name: "report writer",
      memoryMb: reportMb,
      seconds: downstream.reportWriterSecondsPerRow * 1_000_000,
      invocations: (downstream.reportWriterInvocations / downstream.rows) * 1_000_000,
    },
  ];
  const stagedPerBatch = sent.storedBodies / sent.batches;
  const messagesPerBatch = sent.messages / sent.batches;
  const sqsBytesPerBatch = sent.sqsBytes / sent.batches;
  // Sent in tens, received in tens (the sender's batch size), deleted in tens: each call billed per 64 KiB.
  const tens = Math.ceil((messagesPerBatch * batches) / 10);
  const sqsRequests =
    2 * sqsBilledRequests(tens, sqsBytesPerBatch * batches) + Math.ceil(batches / DEPLOYMENT_DEFAULTS.senderBatchSize);
  const { lines, totalUsd } = costOf(functions, {
    // Staged bodies: one PUT by the splitter and one GET by the sender each; outcomes and reports as measured.
    s3Puts: (stagedPerBatch + downstream.s3PutsPerBatch) * batches,
    s3Gets: (stagedPerBatch + downstream.s3GetsPerBatch) * batches + perMillion,
    sqsRequests,
  });
  say(`### Cost per 1M rows (${LIST_PRICES.region} list prices)`);
  say();
  say(
    `Splitter: the ${fmt(largest.bytes / MB, 0)} MB file's split, its CPU seconds on one core scaled to the stack's ${splitterMb} MB (a function gets ${splitterMb}/${ONE_VCPU_MEMORY_MB} of a vCPU). Sender (${senderMb} MB) and report writer (${reportMb} MB): handler time per batch and per row in the local end-to-end run (the Marketo simulator answers in about a millisecond; a real instance is slower, and the sender's billed time grows with it). Memory sizes are read from the synthesized stack. Prices: Lambda $${LIST_PRICES.lambdaPerGbSecond} per GB-s and $${LIST_PRICES.lambdaPerMillionInvocations} per 1M invocations (x86); S3 Standard $${LIST_PRICES.s3PutPerThousand} per 1,000 PUT and $${LIST_PRICES.s3GetPerThousand} per 1,000 GET; SQS $${LIST_PRICES.sqsPerMillionRequests} per 1M requests, each 64 KiB of payload one request. Free tiers, storage and Marketo are not counted.`,
  );
  say();
  say("| item | use per 1M rows | cost |");
  say("| --- | --- | --- |");
  for (const line of lines) say(`| ${line.item} | ${line.usage} | ${usd(line.usd)} |`);
  say(`| **total** | ${fmt(batches, 0)} Marketo requests | **${usd(totalUsd)}** |`);
  say();
}

/** `marketo-ingest --help` as an installed user starts it: the bundle `prepare` builds, then the bin. */
function benchCliStart(): void {
  const build = spawnSync(process.execPath, ["scripts/build-cli.mjs"], { cwd: ROOT, encoding: "utf8" });
  if (build.status !== 0) throw new Error(`CLI build failed: ${build.stderr}`);
  const time = (args: string[]) =>
    Array.from({ length: 7 }, () => {
      const started = performance.now();
      const run = spawnSync(process.execPath, args, { cwd: ROOT, encoding: "utf8" });
      if (run.status !== 0) throw new Error(`${args.join(" ")} failed: ${run.stderr}`);
      return performance.now() - started;
    });
  const bin = time(["bin/marketo-ingest.mjs", "--help"]);
  const bundle = time(["dist/cli.mjs", "--help"]);
  const bare = time(["-e", "0"]);
  say("### CLI start");
  say();
  say("| measure | value | target |");
  say("| --- | --- | --- |");
  say(
    `| \`node bin/marketo-ingest.mjs --help\` (after \`npm run build:cli\`, which \`prepare\` runs) | median ${fmt(median(bin))} ms · min ${fmt(Math.min(...bin))} ms (7 runs) | < ${TARGET.cliStartMs} ms: ${verdict(median(bin) < TARGET.cliStartMs)} |`,
  );
  say(
    `| \`node dist/cli.mjs --help\` (the bundle alone) | median ${fmt(median(bundle))} ms · min ${fmt(Math.min(...bundle))} ms | – |`,
  );
  say(`| \`node -e 0\` (Node.js itself, for scale) | median ${fmt(median(bare))} ms | – |`);
  say();
}

/** Value at quantile q (0..1) of sorted numbers, nearest rank. */
const quantile = (sorted: number[], q: number) =>
  sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)] ?? 0;

/** p50 · p99 · max of a list of milliseconds, in seconds. */
function spread(ms: number[]): string {
  const sorted = [...ms].sort((a, b) => a - b);
  const s = (value: number) => fmt(value / 1000, 2);
  return `p50 ${s(quantile(sorted, 0.5))} s · p99 ${s(quantile(sorted, 0.99))} s · max ${s(sorted.at(-1) ?? 0)} s`;
}

/**
 * Producers on the intake queue: single-record persons messages, the stack's batch size, 5 s batching window and
 * intake concurrency. Latency is per message, from its SendMessageBatch call returning to Marketo (the simulator)
 * receiving the request that carries its record, cut where the intake function starts and returns: waiting and
 * gathering (queue wait + batching window), the intake invocation (claims, window file, split, batches queued),
 * then the sender (ingestion queue wait + one Marketo request).
 */
async function benchIntake(label: string, messages: number, perSecond: number | undefined): Promise<void> {
  const aws = await startLocalAws();
  const sim = await startMarketoSimulator();
  const windowMs = DEPLOYMENT_DEFAULTS.intakeBatchingWindowSeconds * 1000;
  try {
    const bodies = Array.from({ length: messages }, (_, i) =>
      JSON.stringify({ v: 1, objectType: "persons", records: [{ email: `m${i}@example.com`, firstName: `M${i}` }] }),
    );
    const sentAt = new Array<number>(messages).fill(0);
    const indexOf = new Map<string, number>();
    let sending = true;
    const produce = async () => {
      // Steady producers send a chunk of 10 every 10/perSecond seconds; a burst sends as fast as SQS takes them.
      for (let start = 0; start < messages; start += 10) {
        const tick = performance.now();
        const ids = await sendIntakeMessages(aws.sqs, aws.intakeQueueUrl, bodies.slice(start, start + 10), {
          concurrency: 1,
        });
        const now = Date.now();
        ids.forEach((id, offset) => indexOf.set(id, start + offset));
        for (let i = start; i < Math.min(messages, start + 10); i++) sentAt[i] = now;
        if (perSecond) await sleep(Math.max(0, (10 / perSecond) * 1000 - (performance.now() - tick)));
      }
      sending = false;
    };
    const marketo = simulatorSecret(sim);
    const invokedAt = new Array<number>(messages).fill(Number.NaN);
    const returnedAt = new Array<number>(messages).fill(Number.NaN);
    const windowSizes: number[] = [];
    const callsBefore = aws.requestCounts();
    const producing = produce();
    if (!perSecond) await producing;
    const result = await runIntakeLocally({
      aws,
      marketo,
      intakeEventSource: { keepPolling: () => sending },
      concurrentDownstream: true,
      onIntakeInvocation: (invocation) => {
        windowSizes.push(invocation.messageIds.length);
        for (const id of invocation.messageIds) {
          const i = indexOf.get(id);
          if (i === undefined) continue;
          invokedAt[i] = invocation.invokedAt;
          returnedAt[i] = invocation.returnedAt;
        }
      },
    });
    await producing;
    const receivedAt = new Map(sim.requests.map((r) => [r.requestId, r.receivedAt]));
    const byEmail = new Map(sim.persons().map((p) => [p.fields.email as string, p.lastRequestId]));
    const stages = { total: [] as number[], gather: [] as number[], intake: [] as number[], send: [] as number[] };
    bodies.forEach((_, i) => {
      const atMarketo = receivedAt.get(byEmail.get(`m${i}@example.com`) ?? "");
      const sent = sentAt[i] ?? 0;
      const [invoked, returned] = [invokedAt[i] ?? Number.NaN, returnedAt[i] ?? Number.NaN];
      if (atMarketo === undefined || !Number.isFinite(invoked)) return;
      stages.total.push(atMarketo - sent);
      stages.gather.push(invoked - sent);
      stages.intake.push(returned - invoked);
      stages.send.push(atMarketo - returned);
    });
    const p99 = quantile(
      [...stages.total].sort((a, b) => a - b),
      0.99,
    );
    const calls = aws.requestCounts();
    const callsPerMessage = (prefix: string) =>
      fmt(
        Object.entries(calls)
          .filter(([name]) => name.startsWith(prefix))
          .reduce((sum, [name, n]) => sum + n - (callsBefore[name] ?? 0), 0) / messages,
        1,
      );
    const requests = sim.requests.filter((r) => r.endpoint === "persons").length;
    say(`### Intake ${label}: ${fmt(messages)} single-record messages${perSecond ? ` at ${perSecond}/s` : ""}`);
    say();
    say("| measure | value |");
    say("| --- | --- |");
    say(
      `| Marketo requests | ${requests} · ${fmt(requests / messages, 4)} per message · ${result.windows.length} windows (${fmt(Math.min(...windowSizes))}–${fmt(Math.max(...windowSizes))} messages) · accepted ${fmt(result.summary.accepted)} |`,
    );
    say(`| send → Marketo | ${spread(stages.total)} (${fmt(stages.total.length)} measured) |`);
    say(
      `| bound | batching window ${fmt(windowMs / 1000)} s + ${fmt(Math.max(0, p99 - windowMs) / 1000, 1)} s covers p99 |`,
    );
    say(`| · waiting + gathering (queue, batching window) | ${spread(stages.gather)} |`);
    say(`| · intake invocation (claims, window file, split) | ${spread(stages.intake)} |`);
    say(`| · sender (ingestion queue, one Marketo request) | ${spread(stages.send)} |`);
    say(`| emulator calls per message | S3 ${callsPerMessage("s3:")} · SQS ${callsPerMessage("sqs:")} |`);
    say();
  } finally {
    await aws.close();
    await sim.close();
  }
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

const startedAt = new Date();
const cpu = cpus();
const command = INTAKE_ONLY ? "npm run bench -- --intake" : `npm run bench -- --sizes ${SIZES_TEXT}`;
say(INTAKE_ONLY ? "# Intake latency" : "# Benchmarks");
say();
say(
  `Run ${startedAt.toISOString()} with \`${command}\` on ${cpu.length} × ${cpu[0]?.model ?? "unknown CPU"}, ${fmt(totalmem() / 1024 ** 3, 1)} GiB, Node.js ${process.version}; load average at start ${loadavg()
    .map((l) => fmt(l, 1))
    .join(
      " / ",
    )} (a shared machine: ratios measured together in this run are what compare, CPU time before wall time).`,
);
say();
if (!INTAKE_ONLY) {
  say(
    `Each pass runs in a child process of its own, reading the file through the AWS SDK from the local S3 emulator (as the Lambda reads it from S3): parse-only is csv-parse 6 with \`columns: true\`; the splitter is the core the Lambda runs (\`splitFile\`: read, validate, pack, serialize the queue messages, stage bodies — the work bucket and queue are counted, not written). Peak RSS is the child's own (Linux VmHWM: getrusage's maxrss would carry the high-water mark of the bench that forked it, which holds the emulator's copy of the file). S3 bytes read are the emulator's GET response bytes during the split. The 5 GB projection divides 5 GB by the split's MB per CPU-second (single-threaded; a 1,769 MB Lambda has one vCPU).`,
  );
  say();
  const dir = await mkdtemp(join(tmpdir(), "marketo-ingest-bench-"));
  const splits: SplitFigures[] = [];
  const sizedAws = await startLocalAws();
  try {
    for (const [i, size] of SIZES.entries()) splits.push(await benchSplit(size, dir, sizedAws, i === 0));
  } finally {
    await sizedAws.close();
    await rm(dir, { recursive: true, force: true });
  }
  if (splits.length > 1) {
    say(
      `Peak RSS of the split by file size: ${splits.map((s) => `${fmt(s.bytes / MB, 0)} MB → ${fmt(s.split.peakRssMiB)} MiB`).join(", ")} (flat: held messages are bounded, bodies beyond 32 MiB staged).`,
    );
    say();
  }
  const downstream = await benchEndToEnd();
  const largest = splits.reduce((a, b) => (b.bytes > a.bytes ? b : a));
  reportCost(largest, downstream);
  benchCliStart();
}
say(
  `Intake latency is send → Marketo per message: at most the batching window (${DEPLOYMENT_DEFAULTS.intakeBatchingWindowSeconds} s, the stack's) while the window gathers, plus the intake invocation (a claim per message, the window file, the split), plus the sender (ingestion queue wait and one Marketo request). The rows below split it there; "bound" is the batching window plus what this run needed beyond it at p99. Everything here (emulator, simulator, handlers, producers) shares one Node.js process on a shared machine, so the stages after the window are mostly the emulator's S3 and SQS calls (counted below), not Marketo.`,
);
say();
await benchIntake("steady", INTAKE_ONLY ? 1_000 : 2_000, INTAKE_ONLY ? 100 : 200);
await benchIntake("burst", Number(process.env.BENCH_INTAKE_MESSAGES ?? (INTAKE_ONLY ? 2_000 : 10_000)), undefined);
say(`Finished in ${fmt((Date.now() - startedAt.getTime()) / 1000)} s.`);

const docs = new URL("../docs/", import.meta.url);
await mkdir(docs, { recursive: true });
const page = new URL(INTAKE_ONLY ? "benchmarks-intake.md" : "benchmarks.md", docs);
// Written as prettier writes Markdown, so `npm run lint` (prettier --check) stays green after a bench run.
await writeFile(page, await format(`${out.join("\n")}\n`, { parser: "markdown" }));
console.log(`\nwritten to ${fileURLToPath(page)} (${(await stat(page)).size} bytes)`);
