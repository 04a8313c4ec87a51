#!/usr/bin/env node
// Runs the CLI bundled at install (`npm run build:cli`, run by `prepare`): no TypeScript to transpile at start.
// Without the bundle, or when a source is newer than it (a working copy being edited), tsx runs the sources.
import { existsSync, readFileSync, statSync } from "node:fs";

// The handlers' log items go to the CLI's sink (cli/run-output.ts), which turns warnings into sentences and gives
// --log and --verbose every item: the CLI needs them all, so it logs at INFO unless asked for more.
const level = process.env.POWERTOOLS_LOG_LEVEL?.toUpperCase();
if (level !== "DEBUG" && level !== "TRACE") process.env.POWERTOOLS_LOG_LEVEL = "INFO";

const root = new URL("../", import.meta.url);
const bundle = new URL("dist/cli.mjs", root);

function bundleIsCurrent() {
  try {
    if (process.env.MARKETO_INGEST_NO_BUNDLE === "1" || !existsSync(bundle)) return false;
    const builtAt = statSync(bundle).mtimeMs;
    const inputs = JSON.parse(readFileSync(new URL("dist/cli-inputs.json", root), "utf8"));
    return inputs.every((input) => statSync(new URL(input, root)).mtimeMs <= builtAt);
  } catch {
    return false;
  }
}

if (bundleIsCurrent()) {
  await import(bundle.href);
} else {
  const { register } = await import("tsx/esm/api");
  register();
  await import("../cli/main.ts");
}
