import { readFile, writeFile } from "node:fs/promises";
import { basename } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";

const USAGE = `marketo-ingest — move person data into Adobe Marketo Engage

Usage:
  marketo-ingest demo                          run the bundled 5,000-person sample end to end, locally
      [--log FILE] [--verbose]                 as for run (below)
  marketo-ingest run FILE --object TYPE        run any file through the same pipeline, locally
      TYPE: persons | customobjects/{apiName} | companies | programmembers | programmembers/delete
            | lists | lists/remove                                    (static lists: add, remove leads)
            | bulk/leads | bulk/customobjects/{apiName} | bulk/programmembers/{programId}   (Bulk Import jobs)
      [--report FILE]                          write the file's JSON report (report.json) there
      [--rows-with-issues FILE]                write rows not accepted or warned there as CSV (original columns + reason)
      [--format csv|tsv|ssv|json|ndjson]       default: from the file name (.csv, .tsv, .json, .ndjson[.gz])
      [--priority normal|high] [--partition NAME] [--dedupe-fields email[,field2]]     persons
      [--dedupe-by dedupeFields|marketoGUID|idField] [--action createOnly|updateOnly|createOrUpdate]
      [--status STATUS]                        program member status when the file has no status column
      [--field-types name:number,flag:boolean,day:date]
      [--mode bulk|ingestion]                  bulk: persons, customobjects, programmembers as Bulk Import jobs
      [--list-id ID]                           lists, lists/remove: the list of rows without a listId column
      [--lookup-field FIELD] [--list-id ID] [--partition NAME]                    bulk leads
      [--program-member-status STATUS] [--program-id ID]                          bulk program members
      [--options FILE]                         a sidecar options JSON (flags above win over it)
      [--log FILE]                             write the handlers' log items there, one JSON line each
      [--verbose]                              print those JSON lines on stderr too (default: warnings as
                                               short sentences, and a progress line)

  marketo-ingest send FILE.ndjson --object TYPE   each line as one message on the intake queue (records from
                                               other AWS services), run locally to the end like \`run\`
      [option flags of run]                    sent as every message's options
      [--queue-url URL]                        send to a deployed intake queue instead (stack output
                                               IntakeQueueUrl; or MARKETO_INGEST_INTAKE_QUEUE_URL)
      [--stack NAME]                           the same, the queue read from that stack's outputs
                                               (AWS credentials and region from the environment)

  marketo-ingest status KEY --bucket WORK_BUCKET   the report of a file dropped on a deployed stack
      [--message]                              KEY is an intake message's producer id or SQS message id
      [--version ID] [--json]                  (AWS credentials from the environment; exit 0 complete,
                                               1 complete with failures, 3 running, 4 no such file)

Locally means: an in-process S3/SQS emulator and the real Lambda handlers. Marketo is the bundled simulator
unless MARKETO_CLIENT_ID, MARKETO_CLIENT_SECRET and MARKETO_MUNCHKIN_ID are set (then that instance;
MARKETO_IDENTITY_URL, MARKETO_INGESTION_URL and MARKETO_REST_URL override its hosts).
Exit status: 0 when every row was accepted, 1 otherwise, 2 on a usage error.`;

// This CLI runs on Node 20+; the Lambdas run the newest Node runtime. The SDK's Node 20 notice is noise here.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= "true";

async function main(argv: string[]): Promise<number> {
  let parsed: ReturnType<typeof parseCliArgs>;
  try {
    parsed = parseCliArgs(argv);
  } catch (error) {
    console.error(`${error instanceof Error ? error.message : String(error)}\n`);
    console.error(USAGE);
    return 2;
  }
  const { positionals, values } = parsed;
  const [command, file] = positionals;
  if (values.help || !command || command === "help") {
    console.log(USAGE);
    return command || values.help ? 0 : 2;
  }
  if (command === "demo") {
    const sample = fileURLToPath(new URL("../samples/persons.csv", import.meta.url));
    return runFile(sample, "persons", values);
  }
  // The object routes (and zod with them) load only for the commands that check --object: `--help` answers
  // from the entry chunk alone.
  if (command === "run") {
    const [{ BULK_PREFIXES, bulkRouteForKey, isBulkKey }, { OBJECT_NAMES, routeForObjectName }] = await Promise.all([
      import("../shared/options/bulk-route.ts"),
      import("../shared/options/object-route.ts"),
    ]);
    if (!file || !values.object) {
      console.error(`run needs a FILE and --object (${OBJECT_NAMES}, ${BULK_PREFIXES})\n`);
      console.error(USAGE);
      return 2;
    }
    try {
      if (isBulkKey(values.object)) bulkRouteForKey(`${values.object}/file`);
      else routeForObjectName(values.object);
    } catch (error) {
      console.error(`--object: ${(error as Error).message}\n`);
      return 2;
    }
    return runFile(file, values.object, values);
  }
  if (command === "send") {
    const { OBJECT_NAMES, routeForObjectName } = await import("../shared/options/object-route.ts");
    if (!file || !values.object) {
      console.error(`send needs an NDJSON FILE and --object (${OBJECT_NAMES})\n`);
      console.error(USAGE);
      return 2;
    }
    try {
      routeForObjectName(values.object);
    } catch (error) {
      console.error(`--object: ${(error as Error).message}\n`);
      return 2;
    }
    if (values.stack !== undefined && values["queue-url"] !== undefined) {
      console.error("send takes --queue-url or --stack, not both\n");
      return 2;
    }
    const { sendCommand } = await import("./send.ts");
    return sendCommand(file, values.object, metadataOf(values), values, process.env);
  }
  if (command === "status") {
    if (!file) {
      console.error("status needs the KEY of a dropped file (e.g. persons/2026-11-23.csv)\n");
      console.error(USAGE);
      return 2;
    }
    const { statusCommand } = await import("./status.ts");
    return statusCommand(file, values, process.env);
  }
  console.error(`unknown command "${command}"\n`);
  console.error(USAGE);
  return 2;
}

function parseCliArgs(argv: string[]) {
  return parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      object: { type: "string" },
      report: { type: "string" },
      priority: { type: "string" },
      partition: { type: "string" },
      "dedupe-fields": { type: "string" },
      "dedupe-by": { type: "string" },
      action: { type: "string" },
      status: { type: "string" },
      "field-types": { type: "string" },
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
      stack: { type: "string" },
      message: { type: "boolean" },
      version: { type: "string" },
      json: { type: "boolean" },
      help: { type: "boolean", short: "h" },
    },
  });
}

type RunFlags = Partial<
  Record<
    | "report"
    | "rows-with-issues"
    | "priority"
    | "partition"
    | "dedupe-fields"
    | "dedupe-by"
    | "action"
    | "status"
    | "field-types"
    | "format"
    | "options"
    | "mode"
    | "lookup-field"
    | "list-id"
    | "program-member-status"
    | "program-id"
    | "log",
    string | undefined
  >
> & { verbose?: boolean | undefined };

/** Option flags travel as S3 object metadata, as a data team's upload would carry them. */
const METADATA_FLAGS = {
  priority: "priority",
  partition: "partition-name",
  "dedupe-fields": "dedupe-fields",
  "dedupe-by": "dedupe-by",
  action: "action",
  status: "status",
  "field-types": "field-types",
  format: "format",
  mode: "mode",
  "lookup-field": "lookup-field",
  "list-id": "list-id",
  "program-member-status": "program-member-status",
  "program-id": "program-id",
} as const;

/** The option flags given, as S3 metadata names them (`send` turns them into each message's options). */
function metadataOf(flags: RunFlags): Record<string, string> {
  return Object.fromEntries(
    Object.entries(METADATA_FLAGS).flatMap(([flag, key]) => {
      const value = flags[flag as keyof typeof METADATA_FLAGS];
      return value === undefined ? [] : [[key, value]];
    }),
  );
}

async function runFile(path: string, objectType: string, flags: RunFlags): Promise<number> {
  // Loaded here, not at the top: `--help` and argument errors answer without loading the AWS SDK and emulators.
  const [
    { startLocalAws },
    { runPipelineLocally },
    { readS3Text },
    { setLogSink },
    { resolveMarketoTarget },
    { formatProblems, formatSummaryLine },
    { RunOutput },
  ] = await Promise.all([
    import("../local/local-aws.ts"),
    import("../local/run-pipeline-locally.ts"),
    import("../shared/aws/s3-object-source.ts"),
    import("../shared/lambda/logger.ts"),
    import("./marketo-target.ts"),
    import("./format-summary.ts"),
    import("./run-output.ts"),
  ]);
  const output = new RunOutput({
    stream: process.stderr,
    verbose: flags.verbose === true,
    ...(flags.log !== undefined ? { logFile: flags.log } : {}),
  });
  // The handlers' JSON log lines are for CloudWatch; here they go to the output (sentences, --log, --verbose).
  setLogSink(output.sink);
  const marketo = await resolveMarketoTarget(process.env);
  const aws = await startLocalAws();
  const key = `${objectType}/${basename(path)}`;
  console.error(`marketo-ingest: ${path} → s3://${aws.dropBucket}/${key} → ${marketo.label}`);
  try {
    const result = await runPipelineLocally({
      aws,
      source: { path },
      key,
      marketo: marketo.secret,
      metadata: metadataOf(flags),
      ...(flags.options ? { sidecar: await readFile(flags.options, "utf8") } : {}),
      onProgress: (progress) => output.progress(progress),
    });
    output.close();
    for (const line of formatProblems(result)) console.error(`  ${line}`);
    console.log(formatSummaryLine(result));
    if (flags.report) {
      await writeFile(flags.report, `${JSON.stringify(result.report, null, 2)}\n`);
      console.error(`report written to ${flags.report}`);
    }
    if (flags["rows-with-issues"]) {
      const key = result.report?.rowsWithIssues?.key;
      await writeFile(flags["rows-with-issues"], key ? await readS3Text(aws.s3, aws.workBucket, key) : "");
      console.error(`rows with issues written to ${flags["rows-with-issues"]}`);
    }
    const { summary } = result;
    return summary.status === "complete" && summary.accepted === summary.rowsRead ? 0 : 1;
  } finally {
    setLogSink(undefined);
    output.close();
    await aws.close();
    await marketo.close();
  }
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    console.error(`marketo-ingest: ${error instanceof Error ? error.message : String(error)}`);
    process.exitCode = 1;
  },
);
