/**
 * `npm run bench` starts here: the command line is checked (and `--help` answered) before the bench's heavy imports
 * load or anything is generated; then bench/run.ts runs.
 */
import { BENCH_USAGE, parseBenchArgs } from "./bench-args.ts";

let help = false;
try {
  help = parseBenchArgs(process.argv.slice(2)).help;
} catch (error) {
  console.error(`npm run bench: ${(error as Error).message}\n\n${BENCH_USAGE}`);
  process.exit(2);
}
if (help) console.log(BENCH_USAGE);
else await import("./run.ts");
