import type { Context, SQSBatchResponse, SQSEvent } from "aws-lambda";
import { createS3Client, createSecretsClient, createSqsClient } from "../../shared/aws/clients.ts";
import { S3ClaimStore } from "../../shared/aws/s3-claim-store.ts";
import { readOptionalS3Text } from "../../shared/aws/s3-object-source.ts";
import { S3ReportStore } from "../../shared/aws/s3-report-store.ts";
import { S3FleetPause } from "../../shared/aws/s3-fleet-pause.ts";
import { SqsQueueControl } from "../../shared/aws/sqs-queue-control.ts";
import { readSettings } from "../../shared/config/settings.ts";
import { SenderSettingsSchema } from "./settings.ts";
import { createLogger, withLambdaContext } from "../../shared/lambda/logger.ts";
import { FunctionMetrics, withMetrics } from "../../shared/lambda/metrics.ts";
import { metered } from "../../shared/marketo/metered.ts";
import { createMarketoDispatcher } from "../../shared/marketo/http.ts";
import { IngestionClient } from "../../shared/marketo/ingestion-client.ts";
import { lazyMarketoClient } from "../../shared/marketo/lazy-client.ts";
import { processIngestionMessages, type SenderDeps } from "./process-ingestion-messages.ts";
import { systemClock } from "../../shared/time/clock.ts";

const logger = createLogger("marketo-ingest-sender");
const metrics = new FunctionMetrics("marketo-ingest-sender");

function createRuntime(env: Record<string, string | undefined>): SenderDeps {
  const settings = readSettings(SenderSettingsSchema, env);
  const sqs = createSqsClient(env);
  const s3 = createS3Client(env);
  const secrets = createSecretsClient(env);
  const dispatcher = createMarketoDispatcher({ timeoutMs: settings.REQUEST_TIMEOUT_MS });
  const marketo = lazyMarketoClient(
    secrets,
    settings.MARKETO_SECRET_ID,
    dispatcher,
    ({ endpoints, tokens }) => {
      return new IngestionClient({
        endpoints,
        tokens,
        dispatcher,
        clock: systemClock,
        requestSource: settings.REQUEST_SOURCE,
      });
    },
    { secretMaxAgeMs: settings.SECRET_MAX_AGE_MS },
  );
  return {
    client: async () => {
      const client = await marketo();
      return { submit: (request) => metered(metrics, systemClock, () => client.submit(request)) };
    },
    reports: new S3ReportStore(s3, settings.WORK_BUCKET),
    claims: new S3ClaimStore(s3, settings.WORK_BUCKET),
    claimTtlMs: settings.CLAIM_TTL_MS,
    claimRecheckMs: settings.CLAIM_RECHECK_SECONDS * 1000,
    queue: new SqsQueueControl(sqs, settings.INGESTION_QUEUE_URL, settings.INGESTION_DLQ_URL),
    readBody: (key) => readOptionalS3Text(s3, settings.WORK_BUCKET, key),
    fleetPause: new S3FleetPause(s3, {
      bucket: settings.WORK_BUCKET,
      cacheMs: settings.FLEET_PAUSE_CACHE_MS,
      clock: systemClock,
    }),
    clock: systemClock,
    random: Math.random,
    maxAttempts: settings.MAX_ATTEMPTS,
    logger,
    metrics,
    policy: {
      inProcessAttempts: settings.IN_PROCESS_ATTEMPTS,
      inProcessMaxDelayMs: settings.IN_PROCESS_MAX_DELAY_MS,
      backoff: { baseMs: settings.RETRY_BASE_MS, capMs: settings.RETRY_CAP_MS },
      quotaDelayMs: settings.QUOTA_DELAY_MS,
      quotaPauseMaxMs: settings.QUOTA_PAUSE_MAX_MS,
      maxRequestBytes: settings.MAX_REQUEST_BYTES,
      requestTimeoutMs: settings.REQUEST_TIMEOUT_MS,
    },
  };
}

export type SenderHandler = (event: SQSEvent, context: Context) => Promise<SQSBatchResponse>;

/**
 * Builds the handler from an environment; configuration is read and validated on the first event (cold start).
 * The deployed `handler` uses the process environment; the local runner passes its own.
 */
export function createSenderHandler(env: Record<string, string | undefined>): SenderHandler {
  let runtime: SenderDeps | undefined;
  return withLambdaContext(
    logger,
    withMetrics(metrics, async (event, context) => {
      runtime ??= createRuntime(env);
      const response = await processIngestionMessages(event.Records, runtime, () => context.getRemainingTimeInMillis());
      logger.info("batch processed", { messages: event.Records.length, retries: response.batchItemFailures.length });
      return response;
    }),
  );
}

/** SQS batch → one Data Ingestion request per message; only the messages to retry are returned. */
export const handler: SenderHandler = createSenderHandler(process.env);
