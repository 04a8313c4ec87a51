/**
 * How fast the splitter goes through a JSON array or NDJSON persons file: the reader alone and the whole split
 * (read, validate, pack, serialize; the queue and work bucket are counted, not written), by CPU time, and the 5 GB
 * projection on one vCPU. `npm run bench` measures CSV against csv-parse; this covers the JSON formats.
 * Run: node --import tsx scripts/measure-json-split.ts json|ndjson [MB]
 */
import { answerHelp } from "./script-help.ts";
import { createReadStream, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { samplePersons } from "./make-sample-persons.ts";
import { splitFile } from "../functions/splitter/split-file.ts";
import { planRequests } from "../functions/splitter/request-plan.ts";
import { resolveFileOptions } from "../shared/options/file-options.ts";
import { routeForObjectName } from "../shared/options/object-route.ts";
import { readRows } from "../shared/parsing/input-format.ts";

answerHelp(
  "Usage: node --import tsx scripts/measure-json-split.ts json|ndjson [MB]\n\nGenerates a messy persons file of about MB megabytes (default 100) in that format under the OS temporary folder, measures the splitter's reader alone and the whole split by CPU time, prints MB per CPU-second and the projected time for 5 GB on one vCPU, and deletes the file.",
);
const format = process.argv[2];
const megabytes = Number(process.argv[3] ?? 100);
if ((format !== "json" && format !== "ndjson") || !(megabytes > 0)) {
  console.error("expected json or ndjson, then a size in MB (see --help)");
  process.exit(2);
}

const path = join(tmpdir(), `marketo-ingest-measure.${format}`);
const sample = samplePersons(20_000, 3).map((row) => JSON.stringify(row));
const rowBytes = sample.reduce((sum, line) => sum + line.length + 2, 0) / sample.length;
const rows = Math.round((megabytes * 1e6) / rowBytes);
const lines = Array.from({ length: rows }, (_, i) => sample[i % sample.length] as string);
writeFileSync(path, format === "ndjson" ? `${lines.join("\n")}\n` : `[\n${lines.join(",\n")}\n]\n`);
const mb = statSync(path).size / 1e6;
const open = () => createReadStream(path, { highWaterMark: 1 << 20 });
const cpuSeconds = async (work: () => Promise<unknown>): Promise<number> => {
  const start = process.cpuUsage();
  await work();
  const used = process.cpuUsage(start);
  return (used.user + used.system) / 1e6;
};
try {
  const readerCpu = await cpuSeconds(async () => {
    for await (const _row of readRows(open(), format));
  });
  const route = routeForObjectName("persons");
  let requests = 0;
  const splitCpu = await cpuSeconds(() =>
    splitFile(
      {
        file: { bucket: "measure", key: `persons/measure.${format}`, reportPrefix: "reports/measure/" },
        route,
        plan: planRequests(resolveFileOptions(route, {}), false),
        openRows: () => readRows(open(), format),
        limits: { maxObjects: 1_000, maxBytes: 1_000_000 },
      },
      { publish: async () => void requests++, flush: async () => {}, storeBody: async () => {} },
    ),
  );
  const perCpu = mb / splitCpu;
  console.log(`${format}: ${mb.toFixed(1)} MB, ${rows.toLocaleString("en-US")} rows, ${requests} requests`);
  console.log(`reader alone: ${(mb / readerCpu).toFixed(1)} MB per CPU-second`);
  console.log(
    `splitter: ${perCpu.toFixed(1)} MB per CPU-second; 5 GB on one vCPU: ${(5000 / perCpu / 60).toFixed(1)} min`,
  );
} finally {
  rmSync(path, { force: true });
}
