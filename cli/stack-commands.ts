import { createReadStream } from "node:fs";
import { readFile, stat } from "node:fs/promises";
import { basename } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { CloudWatchClient, DescribeAlarmsCommand } from "@aws-sdk/client-cloudwatch";
import {
  CopyObjectCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  type S3Client,
} from "@aws-sdk/client-s3";
import {
  ChangeMessageVisibilityCommand,
  DeleteMessageBatchCommand,
  GetQueueAttributesCommand,
  ListMessageMoveTasksCommand,
  type Message,
  ReceiveMessageCommand,
  SendMessageBatchCommand,
  type SQSClient,
  StartMessageMoveTaskCommand,
} from "@aws-sdk/client-sqs";
import { Upload } from "@aws-sdk/lib-storage";
import { createS3Client, createSecretsClient, createSqsClient } from "../shared/aws/clients.ts";
import { listReportPrefixes, S3ReportStore } from "../shared/aws/s3-report-store.ts";
import { readS3Text } from "../shared/aws/s3-object-source.ts";
import { loadMarketoSecret } from "../shared/aws/secrets.ts";
import { describeFields } from "../shared/marketo/describe-client.ts";
import { resolveEndpoints } from "../shared/marketo/endpoints.ts";
import { createMarketoDispatcher } from "../shared/marketo/http.ts";
import { requestAccessToken } from "../shared/marketo/identity-client.ts";
import { TokenProvider } from "../shared/marketo/token-provider.ts";
import { findFileReport, type FoundReport } from "../shared/report/find-file-report.ts";
import { type DroppedFile, droppedFiles } from "../shared/contracts/s3-event.ts";
import { type SplitFailureRecord, SplitFailureRecordSchema } from "../shared/contracts/split-failure.ts";
import { systemClock } from "../shared/time/clock.ts";
import { metadataFromFlags } from "./args.ts";
import {
  checkRegion,
  CliError,
  explainAwsError,
  QUEUE_NAMES,
  type QueueName,
  required,
  resolveStack,
  type StackFlags,
  type StackResources,
} from "./stack.ts";
import { statusCommand } from "./status.ts";

export type StackCommandFlags = StackFlags & Partial<Record<string, string | boolean | undefined>>;

const n = (value: number) => value.toLocaleString("en-US");
const str = (value: unknown): string | undefined => (typeof value === "string" ? value : undefined);

/** Large files go up in parts of this size (S3's minimum is 5 MiB), several at once. */
const PART_BYTES = 8 * 1024 * 1024;

/** `drop FILE --object TYPE`: uploads to `{TYPE}/{file name}` with the option flags as metadata. */
export async function dropCommand(file: string, flags: StackCommandFlags, env: NodeJS.ProcessEnv): Promise<number> {
  const objectType = str(flags.object);
  if (!objectType) throw new CliError("drop needs --object TYPE (persons, customobjects/{apiName}, …)", 2);
  checkRegion(env);
  const stack = await resolveStack(flags, env);
  const bucket = required(stack.dropBucket, "drop bucket", "--drop-bucket NAME");
  const key = str(flags.key) ?? `${objectType}/${basename(file)}`;
  const size = (await stat(file)).size;
  const s3 = createS3Client(env);
  try {
    const options = str(flags.options);
    if (options) {
      // The sidecar first: the splitter reads it when the file's event arrives.
      await s3.send(
        new PutObjectCommand({ Bucket: bucket, Key: `${key}.options.json`, Body: await readFile(options) }),
      );
    }
    const upload = new Upload({
      client: s3,
      params: { Bucket: bucket, Key: key, Body: createReadStream(file), Metadata: metadataFromFlags(flags) },
      partSize: PART_BYTES,
      queueSize: 4,
    });
    let shown = -1;
    upload.on("httpUploadProgress", ({ loaded = 0 }) => {
      const percent = size === 0 ? 100 : Math.floor((loaded / size) * 100);
      if (percent === shown) return;
      shown = percent;
      process.stderr.write(`uploading ${key}: ${n(loaded)} of ${n(size)} bytes (${percent}%)\n`);
    });
    const done = await upload.done();
    console.log(key);
    const version = done.VersionId ? ` (version ${done.VersionId})` : "";
    const where = stack.stackName ? `--stack ${stack.stackName}` : `--bucket ${stack.workBucket ?? "WORK_BUCKET"}`;
    console.error(`dropped s3://${bucket}/${key}${version}; watch it: marketo-ingest status ${key} ${where} --watch`);
    return 0;
  } catch (error) {
    throw explainAwsError(error, `uploading to s3://${bucket}/${key}`);
  } finally {
    s3.destroy();
  }
}

function reportLookup(s3: S3Client, bucket: string) {
  return {
    reports: new S3ReportStore(s3, bucket),
    listReportPrefixes: (fileKey: string) => listReportPrefixes(s3, bucket, fileKey),
    now: () => Date.now(),
  };
}

function parseSince(text: string): number {
  const match = /^(\d+)\s*(m|h|d)$/.exec(text.trim());
  if (!match) throw new CliError(`--since takes a duration such as 30m, 24h or 7d, not "${text}"`, 2);
  return Number(match[1]) * { m: 60_000, h: 3_600_000, d: 86_400_000 }[match[2] as "m" | "h" | "d"];
}

function summaryOf(found: FoundReport): string {
  if (found.found === "none") return "splitting (no manifest yet)";
  const r = found.report;
  return `${r.status} · rows ${n(r.rowsRead)} · accepted ${n(r.accepted)} · rejected ${n(r.rejected)} · failed ${n(r.failed)} · dead-lettered ${n(r.deadLettered)}${r.pending ? ` · pending ${n(r.pending)}` : ""}`;
}

/** Data files (not sidecars) in the drop bucket modified since `cutoff`, newest first. */
async function recentDrops(s3: S3Client, bucket: string, cutoff: number): Promise<Array<{ key: string; at: Date }>> {
  const files: Array<{ key: string; at: Date }> = [];
  let token: string | undefined;
  do {
    const page = await s3.send(new ListObjectsV2Command({ Bucket: bucket, ContinuationToken: token }));
    for (const object of page.Contents ?? []) {
      if (!object.Key || object.Key.endsWith(".options.json") || !object.LastModified) continue;
      if (object.LastModified.getTime() >= cutoff) files.push({ key: object.Key, at: object.LastModified });
    }
    token = page.NextContinuationToken;
  } while (token);
  return files.sort((a, b) => b.at.getTime() - a.at.getTime());
}

/** `ls [--since 24h]`: files dropped recently, newest first, each with its status and counts. */
export async function lsCommand(flags: StackCommandFlags, env: NodeJS.ProcessEnv): Promise<number> {
  const sinceMs = parseSince(str(flags.since) ?? "24h");
  checkRegion(env);
  const stack = await resolveStack(flags, env);
  const dropBucket = required(stack.dropBucket, "drop bucket", "--drop-bucket NAME");
  const workBucket = required(stack.workBucket, "work bucket", "--bucket NAME");
  const s3 = createS3Client(env);
  try {
    const files = await recentDrops(s3, dropBucket, Date.now() - sinceMs);
    if (files.length === 0) {
      console.error(`no files dropped in s3://${dropBucket} in the last ${str(flags.since) ?? "24h"}`);
      return 0;
    }
    for (const file of files) {
      const found = await findFileReport(file.key, undefined, reportLookup(s3, workBucket));
      console.log(`${file.at.toISOString().slice(0, 16).replace("T", " ")}  ${file.key}  ${summaryOf(found)}`);
    }
    return 0;
  } catch (error) {
    throw explainAwsError(error, `listing s3://${dropBucket}`);
  } finally {
    s3.destroy();
  }
}

/** `status KEY [--watch]`: the report; with --watch, a line per change until the file is no longer running. */
export async function statusOnStack(key: string, flags: StackCommandFlags, env: NodeJS.ProcessEnv): Promise<number> {
  const needsStack = flags.stack !== undefined || env.MARKETO_INGEST_STACK !== undefined;
  const stack = needsStack ? (checkRegion(env), await resolveStack(flags, env)) : undefined;
  const bucket = str(flags.bucket) ?? stack?.workBucket;
  const statusFlags = {
    ...(bucket ? { bucket } : {}),
    ...(str(flags.version) ? { version: str(flags.version) as string } : {}),
    ...(flags.json === true ? { json: true } : {}),
    ...(flags.message === true ? { message: true } : {}),
  };
  if (flags.watch !== true || !bucket || statusFlags.message) return statusCommand(key, statusFlags, env);
  const intervalMs = Number(str(flags.interval) ?? "10") * 1000;
  if (!Number.isFinite(intervalMs) || intervalMs <= 0) throw new CliError("--interval takes seconds, e.g. 10", 2);
  const s3 = createS3Client(env);
  const dropBucket = stack?.dropBucket ?? str(flags["drop-bucket"]);
  const waitUntil = Date.now() + PICKUP_WAIT_MS;
  try {
    let last = "";
    for (;;) {
      const found = await findFileReport(key, statusFlags.version, reportLookup(s3, bucket));
      if (found.found === "none" && found.versions === 0) {
        // Right after a drop the splitter may not have started yet (S3 events take seconds, a cold start more):
        // a file that is in the drop bucket is waited for, a key that is not there ends the watch at once.
        if (Date.now() > waitUntil || !dropBucket || !(await objectExists(s3, dropBucket, key))) break;
        const line = "dropped, not picked up by the splitter yet";
        if (line !== last) console.error(`${new Date().toISOString().slice(11, 19)}  ${key}: ${line}`);
        last = line;
        await sleep(intervalMs);
        continue;
      }
      const line = summaryOf(found);
      if (line !== last) console.error(`${new Date().toISOString().slice(11, 19)}  ${key}: ${line}`);
      last = line;
      if (found.found === "report" && found.report.status !== "running") break;
      await sleep(intervalMs);
    }
  } finally {
    s3.destroy();
  }
  return statusCommand(key, statusFlags, env);
}

/** How long `status --watch` waits for a dropped file's split to start before saying there is no such file. */
const PICKUP_WAIT_MS = 5 * 60_000;

/** Whether `key` is in `bucket` now; any answer but a found object (404, 403) counts as not there. */
async function objectExists(s3: S3Client, bucket: string, key: string): Promise<boolean> {
  try {
    await s3.send(new HeadObjectCommand({ Bucket: bucket, Key: key }));
    return true;
  } catch {
    return false;
  }
}

/** `rejects KEY > rows.csv`: the file's rows with issues (its own columns plus row, line, outcome, code, reason). */
export async function rejectsCommand(key: string, flags: StackCommandFlags, env: NodeJS.ProcessEnv): Promise<number> {
  checkRegion(env);
  const stack = await resolveStack(flags, env);
  const bucket = required(stack.workBucket, "work bucket", "--bucket NAME");
  const s3 = createS3Client(env);
  try {
    const found = await findFileReport(key, str(flags.version), reportLookup(s3, bucket));
    if (found.found === "none") {
      console.error(found.versions > 0 ? `${key}: still being split` : `${key}: no report (never dropped, or expired)`);
      return found.versions > 0 ? 3 : 4;
    }
    const rows = found.report.rowsWithIssues;
    if (found.report.status === "running") {
      console.error(`${key}: still running; rows-with-issues.csv is written when every batch is final`);
      return 3;
    }
    if (!rows) {
      console.error(`${key}: no rows with issues (every row was accepted)`);
      return 0;
    }
    process.stdout.write(await readS3Text(s3, bucket, rows.key));
    console.error(`${n(rows.rows)} ${rows.rows === 1 ? "row" : "rows"} with issues (s3://${bucket}/${rows.key})`);
    return 0;
  } catch (error) {
    throw explainAwsError(error, `reading the report of ${key}`);
  } finally {
    s3.destroy();
  }
}

function selectedQueues(
  stack: StackResources,
  flags: StackCommandFlags,
): Array<[QueueName, { url?: string; dlqUrl: string }]> {
  const wanted = str(flags.queue);
  if (wanted !== undefined && !(QUEUE_NAMES as readonly string[]).includes(wanted)) {
    throw new CliError(`--queue takes one of ${QUEUE_NAMES.join(", ")}, not "${wanted}"`, 2);
  }
  const queues = Object.entries(stack.queues).filter(([name]) => !wanted || name === wanted) as Array<
    [QueueName, { url?: string; dlqUrl: string }]
  >;
  if (queues.length === 0) {
    throw new CliError(
      `no ${wanted ?? ""} dead-letter queue known: pass --stack NAME (its outputs name the queues)`,
      2,
    );
  }
  return queues;
}

async function queueCounts(sqs: SQSClient, url: string): Promise<{ visible: number; inFlight: number; arn: string }> {
  const answer = await sqs.send(
    new GetQueueAttributesCommand({
      QueueUrl: url,
      AttributeNames: ["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible", "QueueArn"],
    }),
  );
  const a = answer.Attributes ?? {};
  return {
    visible: Number(a.ApproximateNumberOfMessages ?? 0),
    inFlight: Number(a.ApproximateNumberOfMessagesNotVisible ?? 0),
    arn: a.QueueArn ?? "",
  };
}

/** The reason attributes the pipeline puts on a dead-lettered message, or what a Lambda failure record says. */
function describeMessage(queue: QueueName, message: Message): string {
  const attributes = Object.entries(message.MessageAttributes ?? {}).map(
    ([name, value]) => `${name}=${JSON.stringify(value.StringValue ?? value.BinaryValue?.length ?? "")}`,
  );
  if (queue === "splitter") {
    // A Lambda on-failure record: the condition, the attempts and the S3 keys of the event, never a row.
    const record = failureRecordOf(message);
    if (record) {
      attributes.push(
        `condition=${JSON.stringify(record.requestContext.condition)}`,
        `attempts=${record.requestContext.approximateInvokeCount ?? "?"}`,
        `error=${JSON.stringify(record.responsePayload?.errorType ?? "")}`,
        `files=${JSON.stringify(filesOf(record).map((file) => file.key))}`,
      );
    } else attributes.push("(body is not a Lambda failure record)");
  }
  const receives = message.Attributes?.ApproximateReceiveCount;
  return `${message.MessageId} receives=${receives ?? "?"} ${attributes.join(" ")}`.trimEnd();
}

/** `dlq [--queue NAME]`: each DLQ's count and its messages' reason attributes; bodies only with --bodies. */
export async function dlqCommand(flags: StackCommandFlags, env: NodeJS.ProcessEnv): Promise<number> {
  checkRegion(env);
  const stack = await resolveStack(flags, env);
  const queues = selectedQueues(stack, flags);
  const max = Number(str(flags.max) ?? "10");
  const sqs = createSqsClient(env);
  let total = 0;
  try {
    for (const [name, queue] of queues) {
      const counts = await queueCounts(sqs, queue.dlqUrl);
      total += counts.visible + counts.inFlight;
      console.log(
        `${name} DLQ: ${n(counts.visible)} message${counts.visible === 1 ? "" : "s"}${counts.inFlight ? ` (+${n(counts.inFlight)} in flight)` : ""}`,
      );
      if (name === "splitter" && queue.url) {
        // Lambda's records of failed splits wait here until the splitter has reported each file as failed.
        const waiting = await queueCounts(sqs, queue.url);
        console.log(
          `split-failures queue: ${n(waiting.visible + waiting.inFlight)} waiting (failed splits not yet reported)`,
        );
      }
      const seen: Message[] = [];
      while (seen.length < Math.min(max, counts.visible)) {
        const got = await sqs.send(
          new ReceiveMessageCommand({
            QueueUrl: queue.dlqUrl,
            MaxNumberOfMessages: Math.min(10, max - seen.length),
            VisibilityTimeout: 30,
            WaitTimeSeconds: 0,
            MessageAttributeNames: ["All"],
            MessageSystemAttributeNames: ["ApproximateReceiveCount", "SentTimestamp"],
          }),
        );
        if (!got.Messages?.length) break;
        seen.push(...got.Messages);
      }
      for (const message of seen) {
        console.log(`  ${describeMessage(name, message)}`);
        if (flags.bodies === true) console.log(`    body: ${message.Body ?? ""}`);
      }
      // Looked at, not taken: the messages are visible again at once for a redrive.
      for (const message of seen) {
        await sqs.send(
          new ChangeMessageVisibilityCommand({
            QueueUrl: queue.dlqUrl,
            ReceiptHandle: message.ReceiptHandle,
            VisibilityTimeout: 0,
          }),
        );
      }
    }
    return total === 0 ? 0 : 1;
  } catch (error) {
    throw explainAwsError(error, "reading the dead-letter queues (sqs:ReceiveMessage, sqs:GetQueueAttributes)");
  } finally {
    sqs.destroy();
  }
}

const MOVE_TASK_MISSING = /InvalidAction|UnsupportedOperation|UnknownOperation|not supported|Unknown action/i;

/**
 * `redrive [--queue NAME]`: moves each DLQ's messages back to its queue with SQS StartMessageMoveTask (progress
 * from ListMessageMoveTasks); where that API is missing (the local emulator), receive, send, delete in batches.
 * The splitter's DLQ holds failed invocations: each named file is copied onto itself, a new version, split again.
 */
export async function redriveCommand(flags: StackCommandFlags, env: NodeJS.ProcessEnv): Promise<number> {
  checkRegion(env);
  const stack = await resolveStack(flags, env);
  if (flags["failed-splits"] === true) return resplitReportedFailures(stack, flags, env);
  const queues = selectedQueues(stack, flags);
  const sqs = createSqsClient(env);
  const s3 = createS3Client(env);
  try {
    for (const [name, queue] of queues) {
      if (name === "splitter") {
        await resplitFailedFiles(sqs, s3, queue.dlqUrl);
        continue;
      }
      if (!queue.url)
        throw new CliError(`the ${name} queue's URL is not among the stack outputs: cannot redrive it here`);
      const source = await queueCounts(sqs, queue.dlqUrl);
      if (source.visible === 0) {
        console.error(`${name} DLQ: empty, nothing to redrive`);
        continue;
      }
      const destination = await queueCounts(sqs, queue.url);
      try {
        await moveWithTask(sqs, name, source.arn, destination.arn);
      } catch (error) {
        if (!MOVE_TASK_MISSING.test(`${(error as Error).name} ${(error as Error).message}`)) throw error;
        console.error(`${name} DLQ: StartMessageMoveTask is not available here; moving by receive, send, delete`);
        await moveByHand(sqs, name, queue.dlqUrl, queue.url, source.visible);
      }
    }
    return 0;
  } catch (error) {
    throw explainAwsError(error, "redriving (sqs:StartMessageMoveTask, or Receive/Send/DeleteMessage)");
  } finally {
    sqs.destroy();
    s3.destroy();
  }
}

/** SQS's own redrive: one move task, followed until it ends, a progress line per look. */
export async function moveWithTask(
  sqs: Pick<SQSClient, "send">,
  name: string,
  sourceArn: string,
  destinationArn: string,
  pollMs = 2_000,
): Promise<void> {
  await sqs.send(new StartMessageMoveTaskCommand({ SourceArn: sourceArn, DestinationArn: destinationArn }));
  for (;;) {
    const tasks = await sqs.send(new ListMessageMoveTasksCommand({ SourceArn: sourceArn, MaxResults: 1 }));
    const task = tasks.Results?.[0];
    const moved = task?.ApproximateNumberOfMessagesMoved ?? 0;
    const toMove = task?.ApproximateNumberOfMessagesToMove ?? 0;
    console.error(`${name} DLQ: moved ${n(moved)} of ${n(toMove)} (${task?.Status ?? "?"})`);
    if (task?.Status === "COMPLETED") return;
    if (task?.Status === "FAILED" || task?.Status === "CANCELLED") {
      throw new CliError(
        `${name} DLQ: the move task ${task.Status.toLowerCase()}: ${task.FailureReason ?? "no reason given"}`,
      );
    }
    await sleep(pollMs);
  }
}

async function moveByHand(sqs: SQSClient, name: string, from: string, to: string, expected: number): Promise<void> {
  let moved = 0;
  for (;;) {
    const got = await sqs.send(
      new ReceiveMessageCommand({
        QueueUrl: from,
        MaxNumberOfMessages: 10,
        VisibilityTimeout: 120,
        WaitTimeSeconds: 0,
        MessageAttributeNames: ["All"],
      }),
    );
    const messages = got.Messages ?? [];
    if (messages.length === 0) break;
    const sent = await sqs.send(
      new SendMessageBatchCommand({
        QueueUrl: to,
        Entries: messages.map((message, i) => ({
          Id: String(i),
          MessageBody: message.Body ?? "",
          ...(message.MessageAttributes ? { MessageAttributes: message.MessageAttributes } : {}),
        })),
      }),
    );
    // Only what arrived at the queue leaves the DLQ; a refused entry stays and shows up again.
    const ok = new Set((sent.Successful ?? []).map((entry) => entry.Id));
    const done = messages.filter((_, i) => ok.has(String(i)));
    if (done.length > 0) {
      await sqs.send(
        new DeleteMessageBatchCommand({
          QueueUrl: from,
          Entries: done.map((message, i) => ({ Id: String(i), ReceiptHandle: message.ReceiptHandle })),
        }),
      );
    }
    moved += done.length;
    console.error(`${name} DLQ: moved ${n(moved)} of ~${n(Math.max(expected, moved))}`);
    if (sent.Failed?.length)
      throw new CliError(
        `${name} DLQ: ${sent.Failed.length} messages refused by the queue: ${sent.Failed[0]?.Message ?? ""}`,
      );
  }
}

/** The Lambda on-failure record a split-failures or splitter DLQ message carries, or undefined. */
function failureRecordOf(message: Message): SplitFailureRecord | undefined {
  try {
    const parsed = SplitFailureRecordSchema.safeParse(JSON.parse(message.Body ?? ""));
    return parsed.success ? parsed.data : undefined;
  } catch {
    return undefined;
  }
}

/** The dropped files a failed split's event named (none when the event is not an S3 event). */
function filesOf(record: SplitFailureRecord): DroppedFile[] {
  try {
    return droppedFiles(record.requestPayload);
  } catch {
    return [];
  }
}

/**
 * The splitter DLQ holds failed splits whose failure could not even be reported: each file its event named is
 * copied onto itself (same metadata), a new version, so a new event splits it again with a report of its own.
 */
async function resplitFailedFiles(sqs: SQSClient, s3: S3Client, dlqUrl: string): Promise<void> {
  let files = 0;
  for (;;) {
    const got = await sqs.send(
      new ReceiveMessageCommand({ QueueUrl: dlqUrl, MaxNumberOfMessages: 10, VisibilityTimeout: 120 }),
    );
    if (!got.Messages?.length) break;
    for (const message of got.Messages) {
      const record = failureRecordOf(message);
      if (!record) {
        // Left in the DLQ for a person to read (marketo-ingest dlq --queue splitter --bodies).
        console.error(`splitter DLQ: message ${message.MessageId} is not a Lambda failure record; left there`);
        continue;
      }
      for (const file of filesOf(record)) {
        files++;
        const version = await dropAgain(s3, file.bucket, file.key);
        console.error(
          `splitter DLQ: ${file.key} dropped again${version ? ` (version ${version})` : ""}; it is split anew`,
        );
      }
      await sqs.send(
        new DeleteMessageBatchCommand({
          QueueUrl: dlqUrl,
          Entries: [{ Id: "0", ReceiptHandle: message.ReceiptHandle }],
        }),
      );
    }
  }
  console.error(
    files === 0 ? "splitter DLQ: empty, nothing to re-split" : `splitter DLQ: ${n(files)} file(s) re-dropped`,
  );
}

/**
 * `redrive --failed-splits [--since 24h]`: the files dropped since then whose newest report says the split failed
 * for good (the splitter read Lambda's record from its split-failures queue and reported it; `status` exits 5) are
 * dropped again, each a new version split anew with a report of its own. Fix the cause the report names first.
 */
async function resplitReportedFailures(
  stack: StackResources,
  flags: StackCommandFlags,
  env: NodeJS.ProcessEnv,
): Promise<number> {
  const since = str(flags.since) ?? "24h";
  const sinceMs = parseSince(since);
  const dropBucket = required(stack.dropBucket, "drop bucket", "--drop-bucket NAME");
  const workBucket = required(stack.workBucket, "work bucket", "--bucket NAME");
  const s3 = createS3Client(env);
  try {
    let again = 0;
    for (const file of await recentDrops(s3, dropBucket, Date.now() - sinceMs)) {
      const found = await findFileReport(file.key, undefined, reportLookup(s3, workBucket));
      if (found.found !== "report" || found.report.status !== "failed") continue;
      const version = await dropAgain(s3, dropBucket, file.key);
      again++;
      console.error(
        `failed split: ${file.key} dropped again${version ? ` (version ${version})` : ""}; it is split anew`,
      );
    }
    console.error(
      again === 0
        ? `no failed splits among the files dropped in the last ${since}`
        : `${n(again)} failed split(s) re-dropped`,
    );
    return 0;
  } catch (error) {
    throw explainAwsError(error, "re-dropping failed splits (s3:ListBucket, s3:GetObject, s3:PutObject)");
  } finally {
    s3.destroy();
  }
}

/** Copies an object onto itself with its metadata: a new version, a new ObjectCreated event. */
async function dropAgain(s3: S3Client, bucket: string, key: string): Promise<string | undefined> {
  const head = await s3.send(new HeadObjectCommand({ Bucket: bucket, Key: key }));
  const copy = await s3.send(
    new CopyObjectCommand({
      Bucket: bucket,
      Key: key,
      CopySource: `${bucket}/${encodeURIComponent(key)}`,
      MetadataDirective: "REPLACE",
      Metadata: head.Metadata ?? {},
      ...(head.ContentType ? { ContentType: head.ContentType } : {}),
      ...(head.ContentEncoding ? { ContentEncoding: head.ContentEncoding } : {}),
    }),
  );
  return copy.VersionId;
}

/** The queue in front of a DLQ, as an operator knows it (the splitter's is its split-failures queue). */
const queueLabel = (name: QueueName): string => (name === "splitter" ? "split-failures" : name);

/** `doctor`: one line per check, ✓ or ✗ with what to do; exit 0 when every check passed. */
export async function doctorCommand(flags: StackCommandFlags, env: NodeJS.ProcessEnv): Promise<number> {
  checkRegion(env);
  const stack = await resolveStack(flags, env);
  const results: boolean[] = [];
  const line = (ok: boolean, text: string) => {
    results.push(ok);
    console.log(`${ok ? "✓" : "✗"} ${text}`);
  };
  const secretId = str(flags.secret) ?? stack.secretId ?? env.MARKETO_INGEST_SECRET ?? "marketo-ingest/marketo";
  const secrets = createSecretsClient(env);
  const sqs = createSqsClient(env);
  const dispatcher = createMarketoDispatcher({ timeoutMs: 15_000 });
  try {
    let secret: Awaited<ReturnType<typeof loadMarketoSecret>> | undefined;
    try {
      secret = await loadMarketoSecret(secrets, secretId);
      line(true, `secret ${secretId} is readable and well formed (munchkin ${secret.munchkinId})`);
    } catch (error) {
      line(
        false,
        `secret ${secretId}: ${(error as Error).name}: ${(error as Error).message} — create it (the platform teams' docs show its JSON) or pass --secret ID; the caller needs secretsmanager:GetSecretValue`,
      );
    }
    if (secret) {
      const endpoints = resolveEndpoints(secret);
      let token: string | undefined;
      try {
        token = (await requestAccessToken(endpoints, secret, dispatcher)).accessToken;
        line(true, "a Marketo access token can be had (identity service)");
      } catch (error) {
        line(
          false,
          `no access token: ${(error as Error).message} — check clientId/clientSecret in the secret and the API user's role`,
        );
      }
      if (token) {
        const issued = token;
        try {
          const tokens = new TokenProvider(async () => ({ accessToken: issued, expiresInSeconds: 3600 }), {
            clock: systemClock,
          });
          const fields = await describeFields(
            { endpoints, tokens, dispatcher, clock: systemClock },
            "/rest/v1/leads/describe2.json",
          );
          line(true, `Marketo answers (REST at ${endpoints.restUrl}: ${n(fields.length)} lead fields)`);
        } catch (error) {
          line(
            false,
            `Marketo does not answer: ${(error as Error).message} — check restUrl in the secret and Marketo's status`,
          );
        }
      }
    }
    await checkAlarms(stack, line);
    for (const [name, queue] of Object.entries(stack.queues) as Array<[QueueName, { url?: string; dlqUrl: string }]>) {
      const dlq = await queueCounts(sqs, queue.dlqUrl);
      if (dlq.visible + dlq.inFlight > 0) {
        line(
          false,
          `${name} DLQ holds ${n(dlq.visible + dlq.inFlight)} messages — see why with: marketo-ingest dlq --queue ${name}; fix the cause, then: marketo-ingest redrive --queue ${name}`,
        );
      } else line(true, `${name} DLQ is empty`);
      if (queue.url) {
        const label = queueLabel(name);
        const first = await queueCounts(sqs, queue.url);
        if (first.visible === 0) {
          line(true, `${label} queue: ${first.inFlight ? `${n(first.inFlight)} in flight, none waiting` : "empty"}`);
          continue;
        }
        await sleep(Number(str(flags["sample-seconds"]) ?? "5") * 1000);
        const second = await queueCounts(sqs, queue.url);
        const draining = second.visible < first.visible || second.inFlight > 0;
        line(
          draining,
          draining
            ? `${label} queue is draining (${n(second.visible)} waiting, ${n(second.inFlight)} in flight)`
            : `${label} queue is not draining (${n(second.visible)} waiting, none in flight) — check the consumer function's logs and its event source mapping`,
        );
      }
    }
  } finally {
    secrets.destroy();
    sqs.destroy();
    await dispatcher.close();
  }
  return results.every(Boolean) ? 0 : 1;
}

async function checkAlarms(stack: StackResources, line: (ok: boolean, text: string) => void): Promise<void> {
  if (!stack.stackName) {
    line(false, "alarms not checked: pass --stack NAME (alarms are found by the stack's name)");
    return;
  }
  const cloudwatch = new CloudWatchClient({});
  try {
    const answer = await cloudwatch.send(new DescribeAlarmsCommand({ AlarmNamePrefix: stack.stackName }));
    const alarms = answer.MetricAlarms ?? [];
    if (alarms.length === 0) {
      line(false, `no CloudWatch alarms named ${stack.stackName}…: was the stack deployed with its alarms?`);
      return;
    }
    const silent = alarms.filter((alarm) => (alarm.AlarmActions ?? []).length === 0);
    line(
      silent.length === 0,
      silent.length === 0
        ? `${alarms.length} alarms, each with an action`
        : `${silent.length} of ${alarms.length} alarms have no action (${silent.map((a) => a.AlarmName).join(", ")}) — give the stack an alarm topic so someone is told`,
    );
    const firing = alarms.filter((alarm) => alarm.StateValue === "ALARM");
    if (firing.length > 0)
      line(false, `in ALARM: ${firing.map((a) => a.AlarmName).join(", ")} — see the operators' runbook for that alarm`);
  } catch (error) {
    line(false, `alarms not readable: ${explainAwsError(error, "cloudwatch:DescribeAlarms").message}`);
  } finally {
    cloudwatch.destroy();
  }
}
