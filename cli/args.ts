import { parseArgs } from "node:util";

/** Every flag of every command; one parser, so a command shown in the docs can be checked without running it. */
export const CLI_OPTIONS = {
  object: { type: "string" },
  report: { type: "string" },
  priority: { type: "string" },
  partition: { type: "string" },
  "dedupe-fields": { type: "string" },
  "dedupe-by": { type: "string" },
  action: { type: "string" },
  status: { type: "string" },
  "field-types": { type: "string" },
  "field-map": { type: "string" },
  "field-check": { type: "string" },
  format: { type: "string" },
  options: { type: "string" },
  mode: { type: "string" },
  "lookup-field": { type: "string" },
  "list-id": { type: "string" },
  "program-member-status": { type: "string" },
  "program-id": { type: "string" },
  "rows-with-issues": { type: "string" },
  log: { type: "string" },
  verbose: { type: "boolean" },
  bucket: { type: "string" },
  "queue-url": { type: "string" },
  message: { type: "boolean" },
  version: { type: "string" },
  json: { type: "boolean" },
  port: { type: "string" },
  stack: { type: "string" },
  "drop-bucket": { type: "string" },
  key: { type: "string" },
  since: { type: "string" },
  watch: { type: "boolean" },
  interval: { type: "string" },
  queue: { type: "string" },
  bodies: { type: "boolean" },
  "failed-splits": { type: "boolean" },
  max: { type: "string" },
  secret: { type: "string" },
  "sample-seconds": { type: "string" },
  "split-seconds": { type: "string" },
  help: { type: "boolean", short: "h" },
} as const;

/** The commands `marketo-ingest` knows, and the positional argument each needs. */
export const COMMANDS: Record<string, { positional?: "FILE" | "KEY"; object?: true }> = {
  demo: {},
  run: { positional: "FILE", object: true },
  send: { positional: "FILE", object: true },
  check: { positional: "FILE", object: true },
  simulator: {},
  drop: { positional: "FILE", object: true },
  ls: {},
  status: { positional: "KEY" },
  rejects: { positional: "KEY" },
  dlq: {},
  redrive: {},
  doctor: {},
  help: {},
};

export function parseCliArgs(argv: string[]) {
  return parseArgs({ args: argv, allowPositionals: true, options: CLI_OPTIONS });
}

/** Option flags travel as S3 object metadata, as a data team's upload would carry them. */
const METADATA_FLAGS = {
  priority: "priority",
  partition: "partition-name",
  "dedupe-fields": "dedupe-fields",
  "dedupe-by": "dedupe-by",
  action: "action",
  status: "status",
  "field-types": "field-types",
  "field-map": "field-map",
  "field-check": "field-check",
  format: "format",
  mode: "mode",
  "lookup-field": "lookup-field",
  "list-id": "list-id",
  "program-member-status": "program-member-status",
  "program-id": "program-id",
} as const;

/** The option flags given, as the S3 metadata of the upload (what `run` and `drop` send, what `check` checks). */
export function metadataFromFlags(flags: Partial<Record<string, unknown>>): Record<string, string> {
  return Object.fromEntries(
    Object.entries(METADATA_FLAGS).flatMap(([flag, key]) => {
      const value = flags[flag];
      return typeof value === "string" ? [[key, value]] : [];
    }),
  );
}
