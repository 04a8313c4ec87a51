/**
 * Answers `--help`/`-h` for a script run directly, and refuses options it does not know, before it writes
 * anything (the sample and schema scripts overwrite files when they run).
 */
export function answerHelp(usage: string, known: readonly string[] = []): void {
  const args = process.argv.slice(2);
  if (args.includes("--help") || args.includes("-h")) {
    console.log(usage);
    process.exit(0);
  }
  const unknown = args.find((arg) => arg.startsWith("-") && !known.includes(arg));
  if (unknown !== undefined) {
    console.error(`unknown option ${JSON.stringify(unknown)}\n\n${usage}`);
    process.exit(2);
  }
}
