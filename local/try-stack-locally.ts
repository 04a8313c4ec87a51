import { randomUUID } from "node:crypto";
import { parseArgs } from "node:util";
import { ListObjectsV2Command, type _Object } from "@aws-sdk/client-s3";
import { SendMessageCommand } from "@aws-sdk/client-sqs";
import type { S3Event } from "aws-lambda";
import { createIntakeHandler } from "../functions/splitter/intake-handler.ts";
import { createSplitterHandler } from "../functions/splitter/handler.ts";
import { DEPLOYMENT_DEFAULTS } from "../shared/config/deployment-defaults.ts";
import { setLogSink } from "../shared/lambda/logger.ts";
import { type Clock, systemClock } from "../shared/time/clock.ts";
import { lambdaContext } from "./lambda-context.ts";
import { createQueueWithDlq, type LocalAws, startLocalAws } from "./local-aws.ts";
import { type MarketoSimulator, simulatorSecret, startMarketoSimulator } from "./marketo-simulator/index.ts";
import { downstreamHandlers, invokeAsLambdaRetries, localSplitterEnv, SECRET_ID } from "./run-pipeline-locally.ts";
import { objectCreatedEvent } from "./s3-notification.ts";
import { splitFailureEvent } from "./split-failure-event.ts";
import { runSqsEventSource, type SqsHandler } from "./sqs-event-source.ts";
import { startStackEmulator } from "./stack-emulator.ts";

const USAGE = `npx tsx local/try-stack-locally.ts [--stack NAME] [--verbose]

A "deployed" marketo-ingest stack on 127.0.0.1, to try the operator commands (drop, ls, status, rejects, dlq,
redrive, doctor) without AWS: the S3/SQS emulator with the stack's buckets and queues, a CloudFormation and
CloudWatch stand-in answering the stack's outputs and alarms, the Marketo simulator with the secret filled, and
the pipeline's handlers consuming the drop bucket and the queues as Lambda would. Prints the variables to point
the CLI at it (export lines on stdout); runs until Ctrl-C (SIGINT) or SIGTERM.

  --stack NAME   the stack name the outputs answer to (default MarketoIngest)
  --verbose      the handlers' JSON log lines on stderr (default: warnings and errors only)`;

const LOGGED_LEVELS = new Set(["WARN", "ERROR", "CRITICAL"]);
/** How often the drop bucket is listed for new objects (the stand-in for its S3 notification). */
const DROP_POLL_MS = 1_000;
/** An idle event source looks again this often (Lambda long-polls; a tight local loop would burn the CPU). */
const IDLE_POLL_MS = 250;

export interface LocalStack {
  readonly stackName: string;
  /** The variables that point the CLI (and the AWS SDK) at this stack and the simulator. */
  readonly env: Record<string, string>;
  stop(): Promise<void>;
}

/**
 * Starts the local "deployed" stack: everything `cdk deploy` would have created that the CLI talks to, and the
 * functions that would be running, consuming until stop().
 */
export async function startLocalStack(
  options: {
    stackName?: string;
    /** Extra configuration of the intake function (a test's safety margin, say). */
    intakeEnv?: Record<string, string>;
  } = {},
): Promise<LocalStack> {
  const stackName = options.stackName ?? "MarketoIngest";
  const aws = await startLocalAws({ visibilityTimeoutSeconds: 30 });
  const sim = await startMarketoSimulator({ tokenTtlSeconds: 3600, maxLifetimeMs: Number.POSITIVE_INFINITY });
  const secret = simulatorSecret(sim);
  aws.secrets.putSecret(SECRET_ID, JSON.stringify(secret));
  // The split-failures queue (the splitter's on-failure destination) and behind it the splitter DLQ.
  const splitFailures = await createQueueWithDlq(aws.sqs, "marketo-ingest-split-failures", {
    visibilityTimeoutSeconds: 30,
    maxReceiveCount: DEPLOYMENT_DEFAULTS.redriveMaxReceiveCount,
  });
  const alarmTopic = `arn:aws:sns:us-east-1:000000000000:${stackName}-alarms`;
  const stack = await startStackEmulator({
    stacks: {
      [stackName]: {
        DropBucketName: aws.dropBucket,
        WorkBucketName: aws.workBucket,
        IngestionQueueUrl: aws.ingestionQueueUrl,
        IngestionDeadLetterQueueUrl: aws.ingestionDlqUrl,
        BulkQueueUrl: aws.bulkQueueUrl,
        BulkDeadLetterQueueUrl: aws.bulkDlqUrl,
        ReportQueueUrl: aws.reportQueueUrl,
        ReportDeadLetterQueueUrl: aws.reportDlqUrl,
        SplitterDeadLetterQueueUrl: splitFailures.dlqUrl,
        SplitFailuresQueueUrl: splitFailures.queueUrl,
        IntakeQueueUrl: aws.intakeQueueUrl,
        IntakeDeadLetterQueueUrl: aws.intakeDlqUrl,
        MarketoSecretArn: SECRET_ID,
        AlarmTopicArn: alarmTopic,
      },
    },
    // A stand-in for the stack's alarms: names only, each with the alarm topic as its action.
    alarms: ["IngestionDlq", "BulkDlq", "ReportDlq", "IntakeDlq", "SplitterDlq", "SplitFailed"].map((name) => ({
      AlarmName: `${stackName}-${name}Alarm`,
      AlarmActions: [alarmTopic],
    })),
  });
  const functions = startFunctions(aws, splitFailures.queueUrl, options.intakeEnv);
  return {
    stackName,
    env: {
      ...aws.awsEnv,
      ...stack.awsEnv,
      // The AWS CLI (v1) reads its region from here, not AWS_REGION.
      AWS_DEFAULT_REGION: aws.awsEnv.AWS_REGION as string,
      MARKETO_INGEST_STACK: stackName,
      MARKETO_CLIENT_ID: secret.clientId,
      MARKETO_CLIENT_SECRET: secret.clientSecret,
      MARKETO_MUNCHKIN_ID: secret.munchkinId,
      MARKETO_IDENTITY_URL: sim.identityUrl,
      MARKETO_INGESTION_URL: sim.ingestionUrl,
      MARKETO_REST_URL: sim.restUrl,
    },
    stop: async () => {
      await functions.stop();
      await stack.close();
      await closeAll(aws, sim);
    },
  };
}

async function closeAll(aws: LocalAws, sim: MarketoSimulator): Promise<void> {
  await aws.close();
  await sim.close();
}

/**
 * The deployed functions, locally: the splitter on every object created in the drop bucket (listed each second,
 * as its S3 notification would announce it, with Lambda's two retries and then the split-failures queue), and
 * an event source per queue (intake, ingestion, bulk, report, split-failures, split-continuation), each until stop().
 */
function startFunctions(
  aws: LocalAws,
  splitFailuresQueueUrl: string,
  intakeEnv: Record<string, string> = {},
): { stop(): Promise<void> } {
  let running = true;
  const keepPolling = () => running;
  const idleClock: Clock = { now: systemClock.now, sleep: (ms) => systemClock.sleep(Math.max(ms, IDLE_POLL_MS)) };
  const splitter = createSplitterHandler(localSplitterEnv(aws, { REPORT_FIRST_CHECK_SECONDS: "1" }));
  const intake = createIntakeHandler({
    ...localSplitterEnv(aws, { REPORT_FIRST_CHECK_SECONDS: "1", ...intakeEnv }),
    INTAKE_QUEUE_URL: aws.intakeQueueUrl,
    INTAKE_DLQ_URL: aws.intakeDlqUrl,
  });
  const { sender, bulkImporter, reportWriter } = downstreamHandlers(aws, {});
  const splitterOnQueue: SqsHandler = async (event, context) => {
    await splitter(event, context);
    return { batchItemFailures: [] };
  };
  const source = (
    name: string,
    queueUrl: string,
    handler: SqsHandler,
    settings: { batchSize: number; maxConcurrency: number; timeoutSeconds: number; batchingWindowMs?: number },
  ) =>
    runSqsEventSource({
      functionName: name,
      sqs: aws.sqs,
      queueUrl,
      handler,
      batchSize: settings.batchSize,
      maxConcurrency: settings.maxConcurrency,
      functionTimeoutMs: settings.timeoutSeconds * 1000,
      ...(settings.batchingWindowMs === undefined ? {} : { batchingWindowMs: settings.batchingWindowMs }),
      keepPolling,
      deadlineMs: Number.POSITIVE_INFINITY,
      clock: idleClock,
    });
  const d = DEPLOYMENT_DEFAULTS;
  // One concurrent invocation per function: enough for trying the commands, light on a shared machine.
  const sources = [
    source("intake", aws.intakeQueueUrl, intake, {
      batchSize: d.intakeBatchSize,
      maxConcurrency: 1,
      timeoutSeconds: d.intakeTimeoutSeconds,
      batchingWindowMs: d.intakeBatchingWindowSeconds * 1000,
    }),
    source("ingestion-sender", aws.ingestionQueueUrl, sender, {
      batchSize: d.senderBatchSize,
      maxConcurrency: 1,
      timeoutSeconds: d.senderTimeoutSeconds,
    }),
    source("bulk-importer", aws.bulkQueueUrl, bulkImporter, {
      batchSize: d.bulkImporterBatchSize,
      maxConcurrency: 1,
      timeoutSeconds: d.bulkImporterTimeoutSeconds,
    }),
    source("report-writer", aws.reportQueueUrl, reportWriter, {
      batchSize: d.reportWriterBatchSize,
      maxConcurrency: 1,
      timeoutSeconds: d.reportWriterTimeoutSeconds,
    }),
    source("splitter", splitFailuresQueueUrl, splitterOnQueue, {
      batchSize: 1,
      maxConcurrency: 1,
      timeoutSeconds: d.splitterTimeoutSeconds,
    }),
    // Splits that would outlast an invocation, the splitter's own and the intake function's, go on here.
    source("splitter", aws.splitContinuationQueueUrl, splitterOnQueue, {
      batchSize: 1,
      maxConcurrency: 1,
      timeoutSeconds: d.splitterTimeoutSeconds,
    }),
  ];

  // Each object version is announced once: a re-drop (a copy onto itself) has a new LastModified.
  const announced = new Set<string>();
  const split = async (object: _Object): Promise<void> => {
    const event = objectCreatedEvent({
      bucket: aws.dropBucket,
      key: object.Key as string,
      size: object.Size ?? 0,
      eTag: (object.ETag ?? "").replace(/"/g, ""),
    });
    const attempt: { requestId: string; count: number } = { requestId: randomUUID(), count: 0 };
    const invoke = (created: S3Event, requestId: string) => {
      attempt.count++;
      attempt.requestId = requestId;
      return splitter(created, lambdaContext("splitter", { requestId }));
    };
    try {
      await invokeAsLambdaRetries(invoke, event);
    } catch (error) {
      // Lambda's retries are spent: the event and the error go to the splitter's on-failure destination.
      const failure = splitFailureEvent(event, error, attempt.requestId, attempt.count).Records[0]!.body;
      await aws.sqs.send(new SendMessageCommand({ QueueUrl: splitFailuresQueueUrl, MessageBody: failure }));
    }
  };
  const watchDropBucket = async () => {
    while (running) {
      try {
        let token: string | undefined;
        do {
          const page = await aws.s3.send(
            new ListObjectsV2Command({ Bucket: aws.dropBucket, ContinuationToken: token }),
          );
          for (const object of page.Contents ?? []) {
            const id = `${object.Key}\u0000${object.LastModified?.toISOString()}\u0000${object.ETag}`;
            if (announced.has(id)) continue;
            announced.add(id);
            await split(object);
          }
          token = page.NextContinuationToken;
        } while (token && running);
      } catch (error) {
        if (running) console.error(`drop bucket watch: ${(error as Error).name}: ${(error as Error).message}`);
      }
      await systemClock.sleep(DROP_POLL_MS);
    }
  };
  const watching = watchDropBucket();
  return {
    stop: async () => {
      running = false;
      // An event source stops once its queue is empty; anything left stays on the queue when the emulator closes.
      await Promise.race([Promise.all([watching, ...sources]), systemClock.sleep(3_000)]);
    },
  };
}

async function main(): Promise<number> {
  let flags: { stack?: string; verbose?: boolean; help?: boolean };
  try {
    flags = parseArgs({
      options: { stack: { type: "string" }, verbose: { type: "boolean" }, help: { type: "boolean", short: "h" } },
    }).values;
  } catch (error) {
    console.error(`${(error as Error).message}\n\n${USAGE}`);
    return 2;
  }
  if (flags.help) {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = "true";
  // stdout is for the export lines only; the handlers' log items (CloudWatch's, when deployed) go to stderr.
  const verbose = flags.verbose === true;
  setLogSink((record, jsonLine) => {
    if (verbose || LOGGED_LEVELS.has(record.level)) console.error(jsonLine);
  });
  const stack = await startLocalStack({ stackName: flags.stack ?? "MarketoIngest" });
  console.error(`stack ${stack.stackName} running locally on 127.0.0.1 (S3, SQS, CloudFormation, CloudWatch,`);
  console.error("Secrets Manager, Marketo simulator; the functions consume the drop bucket and the queues).");
  console.error("Point the CLI at it with these variables (Ctrl-C stops it):");
  for (const [name, value] of Object.entries(stack.env)) process.stdout.write(`export ${name}=${value}\n`);
  const keepAlive = setInterval(() => {}, 1 << 30);
  const signal = await new Promise<string>((resolve) => {
    process.once("SIGINT", () => resolve("SIGINT"));
    process.once("SIGTERM", () => resolve("SIGTERM"));
  });
  clearInterval(keepAlive);
  await stack.stop();
  console.error(`stack ${stack.stackName} stopped (${signal})`);
  return 0;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  process.exitCode = await main();
}
