/**
 * One measured pass over a file, run by bench/run.ts in a child process of its own so that CPU time and peak RSS
 * are this pass's alone (the emulator and the other passes live in the parent). Prints one JSON line.
 *
 *   node --import tsx bench/split-child.ts MODE SOURCE
 *
 * MODE: `parse-only` (csv-parse, objects per row), `reader` (the splitter's reader alone) or `split` (splitFile:
 * read, validate, pack, serialize, stage). SOURCE: `s3://bucket/key` (streamed through the AWS SDK from the endpoint
 * in AWS_ENDPOINT_URL_S3, as the Lambda reads it) or a file path. With BENCH_CPU_PROFILE=FILE, V8's CPU profiler
 * (what `node --cpu-prof` runs) records the pass alone, without module loading, into FILE.
 */
import "./quiet-environment.ts";
import { createReadStream, readFileSync, writeFileSync } from "node:fs";
import { Session } from "node:inspector/promises";
import { Readable } from "node:stream";
import { parse } from "csv-parse";
import { createS3Client } from "../shared/aws/clients.ts";
import { streamS3Object } from "../shared/aws/s3-object-source.ts";
import { inflateIfGzip, readRows } from "../shared/parsing/input-format.ts";
import { resolveFileOptions } from "../shared/options/file-options.ts";
import { routeForObjectName } from "../shared/options/object-route.ts";
import { planRequests } from "../functions/splitter/request-plan.ts";
import { splitFile } from "../functions/splitter/split-file.ts";
import { DATA_INGESTION_LIMITS } from "../shared/contracts/marketo-limits.ts";
import type { ChildMode, ChildResult } from "./bench-figures.ts";

/**
 * This process's own peak RSS. Linux's VmHWM belongs to the address space exec made; getrusage's maxrss keeps the
 * high-water mark of the process that forked it (here the bench, holding the emulator's copy of the file).
 */
function peakRssMiB(): number {
  try {
    const hwm = /^VmHWM:\s+(\d+) kB$/m.exec(readFileSync("/proc/self/status", "utf8"));
    if (hwm) return Number(hwm[1]) / 1024;
  } catch {
    // Not Linux: getrusage below.
  }
  return process.resourceUsage().maxRSS / 1024;
}

function open(source: string): AsyncIterable<Uint8Array> {
  const s3 = /^s3:\/\/([^/]+)\/(.+)$/.exec(source);
  if (s3) return streamS3Object(createS3Client(process.env), { bucket: s3[1] as string, key: s3[2] as string });
  return createReadStream(source, { highWaterMark: 64 * 1024 });
}

async function parseOnly(source: string): Promise<number> {
  const parser = parse({ columns: true, bom: true, relax_column_count: true, skip_empty_lines: true });
  Readable.from(open(source)).pipe(parser);
  let rows = 0;
  for await (const _ of parser) rows++;
  return rows;
}

async function readerOnly(source: string): Promise<number> {
  let rows = 0;
  for await (const _ of readRows(inflateIfGzip(open(source), false), "csv")) rows++;
  return rows;
}

async function split(source: string): Promise<{ rows: number; split: NonNullable<ChildResult["split"]> }> {
  const sent = { messages: 0, sqsBytes: 0, storedBodies: 0, storedBodyBytes: 0, marketoBytes: 0 };
  const route = routeForObjectName("persons");
  const summary = await splitFile(
    {
      file: { bucket: "bench", key: "persons/bench.csv", reportPrefix: "reports/persons/bench.csv/v/" },
      route,
      plan: planRequests(resolveFileOptions(route, {}), true),
      openRows: () => readRows(inflateIfGzip(open(source), false), "csv"),
      limits: { maxObjects: DATA_INGESTION_LIMITS.maxObjects, maxBytes: DATA_INGESTION_LIMITS.maxBytes },
    },
    {
      publish: async (message) => {
        sent.messages++;
        sent.sqsBytes += Buffer.byteLength(message.body);
        // The head comes before the body: its batch.bytes is the first "bytes" (no parse of a megabyte here).
        sent.marketoBytes += Number(/"bytes":(\d+)/.exec(message.body.slice(0, 4096))?.[1] ?? 0);
      },
      flush: async () => {},
      // Counted, not kept: the work bucket is S3's memory, not the splitter's.
      storeBody: async (_key, text) => {
        sent.storedBodies++;
        sent.storedBodyBytes += Buffer.byteLength(text);
      },
    },
  );
  return {
    rows: summary.rowsRead,
    split: {
      rowsQueued: summary.rowsQueued,
      rejected: summary.rejected,
      batches: summary.batches,
      ...sent,
    },
  };
}

const [mode, source] = process.argv.slice(2) as [ChildMode, string];
if (!["parse-only", "reader", "split"].includes(mode) || !source) {
  console.error("usage: split-child.ts parse-only|reader|split SOURCE");
  process.exit(2);
}
const profilePath = process.env.BENCH_CPU_PROFILE;
const session = profilePath ? new Session() : undefined;
if (session) {
  session.connect();
  await session.post("Profiler.enable");
  await session.post("Profiler.start");
}
const cpu = process.cpuUsage();
const started = performance.now();
const outcome =
  mode === "split"
    ? await split(source)
    : { rows: mode === "reader" ? await readerOnly(source) : await parseOnly(source) };
const seconds = (performance.now() - started) / 1000;
const used = process.cpuUsage(cpu);
if (session && profilePath) {
  const { profile } = await session.post("Profiler.stop");
  writeFileSync(profilePath, JSON.stringify(profile));
  session.disconnect();
}
const result: ChildResult = {
  mode,
  rows: outcome.rows,
  seconds,
  cpuSeconds: (used.user + used.system) / 1e6,
  peakRssMiB: peakRssMiB(),
  ...("split" in outcome ? { split: outcome.split } : {}),
};
console.log(JSON.stringify(result));
