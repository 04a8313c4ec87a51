import { readFile } from "node:fs/promises";
import { createSqsClient } from "../shared/aws/clients.ts";
import { optionsFromMetadata } from "../shared/options/file-options.ts";
import { sendIntakeMessages } from "../local/intake-producer.ts";
import { startLocalAws } from "../local/local-aws.ts";
import { type IntakeRunProgress, type IntakeRunResult, runIntakeLocally } from "../local/run-intake-locally.ts";
import { setLogSink } from "../shared/lambda/logger.ts";
import { resolveMarketoTarget } from "./marketo-target.ts";
import { RunOutput } from "./run-output.ts";
import { readStackOutput, StackOutputError } from "./stack-outputs.ts";

/** The stack output that names the intake queue. */
export const INTAKE_QUEUE_OUTPUT = "IntakeQueueUrl";

export interface SendFlags {
  "queue-url"?: string;
  /** A deployed stack whose IntakeQueueUrl output names the queue. */
  stack?: string;
  /** As for `run`: the handlers' log items as JSON lines to this file, and on stderr only with `verbose`. */
  log?: string;
  verbose?: boolean;
}

const n = (value: number): string => value.toLocaleString("en-US");

/**
 * The intake messages of an NDJSON file: one message per line, the line as its single record, the flags' options
 * on every message. A line that is not JSON is sent as it is, and so lands in the intake DLQ like any producer's
 * invalid message would.
 */
export function intakeBodiesOf(text: string, objectType: string, metadata: Record<string, string>): string[] {
  const { options } = optionsFromMetadata(metadata);
  const withOptions = Object.keys(options).length > 0 ? { options } : {};
  return text
    .split(/\r?\n/)
    .filter((line) => line.trim() !== "")
    .map((line) => {
      try {
        const record: unknown = JSON.parse(line);
        return JSON.stringify({ v: 1, objectType, ...withOptions, records: [record] });
      } catch {
        return line;
      }
    });
}

/**
 * `marketo-ingest send FILE.ndjson --object TYPE`: locally, each line onto the emulated intake queue and the
 * pipeline run to its end; with `--queue-url` (or MARKETO_INGEST_INTAKE_QUEUE_URL), or `--stack NAME` (the
 * stack's output IntakeQueueUrl), onto a deployed intake queue with the AWS credentials of the environment.
 */
export async function sendCommand(
  path: string,
  objectType: string,
  metadata: Record<string, string>,
  flags: SendFlags,
  env: NodeJS.ProcessEnv,
): Promise<number> {
  const bodies = intakeBodiesOf(await readFile(path, "utf8"), objectType, metadata);
  let queueUrl = flags["queue-url"] ?? env.MARKETO_INGEST_INTAKE_QUEUE_URL;
  if (flags.stack) {
    try {
      queueUrl = await readStackOutput(flags.stack, INTAKE_QUEUE_OUTPUT, env);
    } catch (error) {
      if (!(error instanceof StackOutputError)) throw error;
      console.error(`marketo-ingest: ${error.message}`);
      return 1;
    }
  }
  if (queueUrl) {
    const sqs = createSqsClient(env);
    try {
      const ids = await sendIntakeMessages(sqs, queueUrl, bodies);
      console.error(`marketo-ingest: ${n(ids.length)} messages sent to ${queueUrl}`);
      console.log(`messages sent ${n(ids.length)} · first ${ids[0] ?? "-"} · last ${ids.at(-1) ?? "-"}`);
      return 0;
    } finally {
      sqs.destroy();
    }
  }
  const output = new RunOutput({
    stream: process.stderr,
    verbose: flags.verbose === true,
    ...(flags.log !== undefined ? { logFile: flags.log } : {}),
  });
  // As for `run`: the handlers' JSON log lines are for CloudWatch; here they go to the output.
  setLogSink(output.sink);
  const marketo = await resolveMarketoTarget(env);
  const aws = await startLocalAws();
  console.error(`marketo-ingest: ${path} → ${n(bodies.length)} messages → ${aws.intakeQueueUrl} → ${marketo.label}`);
  try {
    await sendIntakeMessages(aws.sqs, aws.intakeQueueUrl, bodies);
    console.error(`  sent ${n(bodies.length)} messages to the intake queue`);
    const result = await runIntakeLocally({ aws, marketo: marketo.secret, onProgress: createProgressPrinter() });
    for (const line of formatIntakeProblems(result)) console.error(`  ${line}`);
    console.log(formatIntakeSummaryLine(result, bodies.length));
    const { summary } = result;
    return result.intakeDeadLetters === 0 && summary.accepted === summary.rowsRead && summary.pending === 0 ? 0 : 1;
  } finally {
    output.close();
    setLogSink(undefined);
    await aws.close();
    await marketo.close();
  }
}

/** `run`'s summary line, with the messages and the invalid ones in front. */
export function formatIntakeSummaryLine(result: IntakeRunResult, messages: number): string {
  const { summary } = result;
  const seconds = result.elapsedMs / 1000;
  return [
    `messages ${n(messages)}`,
    `invalid ${n(result.intakeDeadLetters)}`,
    `windows ${n(result.windows.length)}`,
    `rows read ${n(summary.rowsRead)}`,
    `requests ${n(summary.requests)}`,
    `accepted ${n(summary.accepted)}`,
    `rejected ${n(summary.rejected)}`,
    `failed ${n(summary.failed)}`,
    `dead-lettered ${n(summary.deadLettered)}`,
    `elapsed ${seconds.toFixed(1)} s`,
  ].join(" · ");
}

/** Which messages did not get all their records in, and why: ids and reasons only, never record contents. */
function formatIntakeProblems(result: IntakeRunResult, limit = 10): string[] {
  const lines: string[] = [];
  if (result.intakeDeadLetters > 0) {
    lines.push(`${n(result.intakeDeadLetters)} invalid messages in the intake DLQ (code, path, message as attributes)`);
  }
  const troubled = result.windows.flatMap((window) => window.messages).filter((m) => m.status !== "complete");
  for (const message of troubled.slice(0, limit)) {
    const issue = message.issues[0];
    lines.push(`message ${message.messageId}: ${message.status}${issue ? ` (${issue.state}: ${issue.reason})` : ""}`);
  }
  if (troubled.length > limit) lines.push(`… ${n(troubled.length)} messages with issues in all`);
  return lines;
}

function createProgressPrinter(): (progress: IntakeRunProgress) => void {
  return (progress) => {
    if (progress.phase === "intake") {
      console.error(
        `  intake: window ${progress.stats.invocations} (${n(progress.stats.messagesReceived)} messages taken)`,
      );
    } else if (process.stderr.isTTY) {
      process.stderr.write(`\r  sent ${progress.batchesDone} batches`);
    }
  };
}
