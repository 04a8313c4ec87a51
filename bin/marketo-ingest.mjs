#!/usr/bin/env node
// Runs the TypeScript CLI directly (no build step): tsx compiles on the fly.
import { register } from "tsx/esm/api";

// The handlers' log items go to the CLI's sink (cli/run-output.ts), which turns warnings into sentences and gives
// --log and --verbose every item: the CLI needs them all, so it logs at INFO unless asked for more.
const level = process.env.POWERTOOLS_LOG_LEVEL?.toUpperCase();
if (level !== "DEBUG" && level !== "TRACE") process.env.POWERTOOLS_LOG_LEVEL = "INFO";
register();
await import("../cli/main.ts");
