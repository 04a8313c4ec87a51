import { readFile, writeFile } from "node:fs/promises";
import { basename } from "node:path";
import { fileURLToPath } from "node:url";
import { metadataFromFlags, parseCliArgs } from "./args.ts";
import { CliError } from "./cli-error.ts";

const USAGE = `marketo-ingest — move person data into Adobe Marketo Engage

Usage:
  marketo-ingest demo                          run the bundled 5,000-person sample end to end, locally
      [--log FILE] [--verbose] [--split-seconds N]   as for run (below)
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
      [--field-map '{"Email Address":"email","Notes":null}']   rename (or drop: null) columns, every TYPE
      [--field-check reject|off]               reject: the splitter rejects a file with a column Marketo does
                                               not have (its describe field list), naming the field meant
      [--mode bulk|ingestion]                  bulk: persons, customobjects, programmembers as Bulk Import jobs
      [--list-id ID]                           lists, lists/remove: the list of rows without a listId column
      [--lookup-field FIELD] [--list-id ID] [--partition NAME]                    bulk leads
      [--program-member-status STATUS] [--program-id ID]                          bulk program members
      [--options FILE]                         a sidecar options JSON (flags above win over it)
      [--log FILE]                             write the handlers' log items there, one JSON line each
      [--verbose]                              print those JSON lines on stderr too (default: warnings as
                                               short sentences, and a progress line)
      [--split-seconds N]                      give each local splitter invocation N seconds before it pauses
                                               (in AWS: 15 min less SPLIT_SAFETY_MARGIN_MS), to watch a long
                                               split pause and go on in fresh invocations; the outcome is the same

  marketo-ingest send FILE.ndjson --object TYPE   each line as one message on the intake queue (records from
                                               other AWS services), run locally to the end like \`run\`
      [option flags of run]                    sent as every message's options
      [--queue-url URL]                        send to a deployed intake queue instead (stack output
                                               IntakeQueueUrl; or MARKETO_INGEST_INTAKE_QUEUE_URL)
      [--stack NAME]                           the same, the queue read from that stack's outputs
                                               (AWS credentials and region from the environment)

  marketo-ingest check FILE --object TYPE      pre-flight: the request plan (requests, bytes, rows rejected with
      [option flags as for run] [--options FILE]   reasons) without sending anything; with MARKETO_CLIENT_ID,
      [--json]                                 MARKETO_CLIENT_SECRET, MARKETO_MUNCHKIN_ID set, the columns are
                                               compared with Marketo's field list (unknown fields, wrong types);
                                               exit 0 clean, 1 problems found

  marketo-ingest simulator [--port N]          the bundled Marketo simulator on 127.0.0.1 for your own tests:
                                               prints the MARKETO_* variables to point a client at it; runs
                                               until Ctrl-C (SIGINT) or SIGTERM

Against a deployed stack (AWS credentials and region from the environment; resources from the stack's
CloudFormation outputs with --stack NAME or MARKETO_INGEST_STACK, or from --drop-bucket / --bucket):
  marketo-ingest drop FILE --object TYPE       upload FILE to TYPE/{file name} (multipart, with progress), option
      [option flags as for run] [--options FILE] [--key KEY]   flags as metadata; prints the key and how to watch it
  marketo-ingest ls [--since 24h]              files dropped recently (30m, 24h, 7d), with status and counts
  marketo-ingest status KEY [--watch] [--interval 10]   the file's report; --watch follows it to the end
      [--bucket WORK_BUCKET] [--version ID] [--json]      (exit 0 complete, 1 complete with failures,
                                               3 running, 4 no such file, 5 the split failed: redrive --failed-splits)
      [--message]                              KEY is an intake message's producer id or SQS message id
  marketo-ingest rejects KEY > rows.csv        the file's rows with issues, as CSV on stdout
  marketo-ingest dlq [--queue NAME]            each DLQ's count and its messages' reason attributes (NAME:
      [--max 10] [--bodies]                    ingestion, bulk, report, intake, splitter); bodies only with
                                               --bodies
  marketo-ingest redrive [--queue NAME]        move DLQ messages back to their queue, with progress; the
                                               splitter DLQ's files are dropped again (a new version)
      [--failed-splits] [--since 24h]          instead: drop again every file of the period whose split failed
  marketo-ingest doctor [--secret ID]          secret, token, Marketo, alarms, queues: one line each, ✓ or ✗
      [--sample-seconds 5]                     with what to do (exit 0 when all pass)

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
  if (command === "run" || command === "check") {
    const [{ BULK_PREFIXES, bulkRouteForKey, isBulkKey }, { OBJECT_NAMES, routeForObjectName }] = await Promise.all([
      import("../shared/options/bulk-route.ts"),
      import("../shared/options/object-route.ts"),
    ]);
    if (!file || !values.object) {
      console.error(`${command} needs a FILE and --object (${OBJECT_NAMES}, ${BULK_PREFIXES})\n`);
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
    if (command === "check") {
      const { checkCommand } = await import("./check-command.ts");
      return checkCommand(file, values.object, values, process.env);
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
    return sendCommand(file, values.object, metadataFromFlags(values), values, process.env);
  }
  if (command === "simulator") {
    const { simulatorCommand } = await import("./simulator-command.ts");
    return simulatorCommand(values);
  }
  // Loaded here, not at the top: `--help` and argument errors answer without loading the AWS SDK.
  const stackCommands = await import("./stack-commands.ts");
  if (command === "status" || command === "rejects") {
    if (!file) {
      console.error(`${command} needs the KEY of a dropped file (e.g. persons/2026-11-23.csv)\n`);
      console.error(USAGE);
      return 2;
    }
    return command === "status"
      ? stackCommands.statusOnStack(file, values, process.env)
      : stackCommands.rejectsCommand(file, values, process.env);
  }
  if (command === "drop") {
    if (!file) {
      console.error("drop needs a FILE and --object TYPE\n");
      return 2;
    }
    return stackCommands.dropCommand(file, values, process.env);
  }
  if (command === "ls") return stackCommands.lsCommand(values, process.env);
  if (command === "dlq") return stackCommands.dlqCommand(values, process.env);
  if (command === "redrive") return stackCommands.redriveCommand(values, process.env);
  if (command === "doctor") return stackCommands.doctorCommand(values, process.env);
  console.error(`unknown command "${command}"\n`);
  console.error(USAGE);
  return 2;
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
    | "field-map"
    | "format"
    | "options"
    | "mode"
    | "lookup-field"
    | "list-id"
    | "program-member-status"
    | "program-id"
    | "log"
    | "split-seconds",
    string | undefined
  >
> & { verbose?: boolean | undefined };

async function runFile(path: string, objectType: string, flags: RunFlags): Promise<number> {
  const splitSeconds = flags["split-seconds"] === undefined ? undefined : Number(flags["split-seconds"]);
  if (splitSeconds !== undefined && !(splitSeconds >= 0 && splitSeconds <= 840)) {
    console.error(`--split-seconds: expected a number of seconds from 0 to 840, not "${flags["split-seconds"]}"\n`);
    return 2;
  }
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
      metadata: metadataFromFlags(flags),
      ...(flags.options ? { sidecar: await readFile(flags.options, "utf8") } : {}),
      onProgress: (progress) => output.progress(progress),
      ...(splitSeconds !== undefined
        ? {
            splitterEnv: { SPLIT_SAFETY_MARGIN_MS: String(SPLIT_MARGIN_MS) },
            splitterTime: () => invocationTime(splitSeconds),
          }
        : {}),
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

/** The splitter's safety margin in a `--split-seconds` run (SPLIT_SAFETY_MARGIN_MS; the deployed default). */
const SPLIT_MARGIN_MS = 60_000;

/**
 * A splitter invocation's remaining time (Lambda's `getRemainingTimeInMillis`): below the margin, so the split
 * pauses, once `seconds` have passed since it started (at once for 0).
 */
function invocationTime(seconds: number): () => number {
  const startedAt = Date.now();
  return () => SPLIT_MARGIN_MS - 1 + seconds * 1_000 - (Date.now() - startedAt);
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    console.error(`marketo-ingest: ${error instanceof Error ? error.message : String(error)}`);
    process.exitCode = error instanceof CliError ? error.exitCode : 1;
  },
);
