#!/usr/bin/env node
// Runs the TypeScript CLI directly (no build step): tsx compiles on the fly.
import { register } from "tsx/esm/api";

// The handlers' structured logs are for CloudWatch; locally the CLI prints its own progress and summary.
process.env.POWERTOOLS_LOG_LEVEL ??= "WARN";
register();
await import("../cli/main.ts");
