import { parseSizes } from "./bench-figures.ts";

export const BENCH_USAGE = `Usage: npm run bench [-- OPTIONS]

Measures the splitter against its targets on generated messy persons files (each pass in a child process reading
from the local S3 emulator), the whole pipeline locally, intake latency, the CLI's start time and the cost per
1M rows. Prints the report and writes docs/benchmarks.md (with the machine and the date). Not part of npm test.

Options:
  --sizes LIST   file sizes to measure, comma-separated (100KB at least): e.g. --sizes 10MB,100MB
                 (default 100MB,1GB: about 10 minutes)
  --quick        the 100MB file alone
  --intake       intake latency alone (about a minute), written to docs/benchmarks-intake.md
  -h, --help     this text

Environment: BENCH_E2E_ROWS rows of the local end-to-end run (default 50000); BENCH_INTAKE_MESSAGES messages
of the intake burst (default 10000, 2000 with --intake).`;

export type BenchArgs = { help: true } | { help: false; sizes: number[]; sizesText: string; intakeOnly: boolean };

/** The bench's command line, checked before anything runs: a typo must not start a ten-minute run. */
export function parseBenchArgs(argv: readonly string[]): BenchArgs {
  if (argv.includes("--help") || argv.includes("-h")) return { help: true };
  let sizesText: string | undefined;
  let quick = false;
  let intakeOnly = false;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] as string;
    if (arg.startsWith("--sizes=")) sizesText = arg.slice("--sizes=".length);
    else if (arg === "--quick") quick = true;
    else if (arg === "--intake") intakeOnly = true;
    else if (arg === "--sizes") {
      sizesText = argv[++i];
      if (sizesText === undefined || sizesText.startsWith("--"))
        throw new Error("--sizes needs a list, e.g. 10MB,100MB");
    } else throw new Error(`unknown option ${JSON.stringify(arg)}`);
  }
  const text = sizesText ?? (quick ? "100MB" : "100MB,1GB");
  return { help: false, sizes: parseSizes(text), sizesText: text, intakeOnly };
}
