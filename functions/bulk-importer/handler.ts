import type { Context, SQSBatchResponse, SQSEvent } from "aws-lambda";
import { createS3Client, createSecretsClient, createSqsClient } from "../../shared/aws/clients.ts";
import { S3ClaimStore } from "../../shared/aws/s3-claim-store.ts";
import { S3JobSlots } from "../../shared/aws/s3-job-slots.ts";
import { S3ReportStore } from "../../shared/aws/s3-report-store.ts";
import { readS3Text } from "../../shared/aws/s3-object-source.ts";
import { SqsQueueControl } from "../../shared/aws/sqs-queue-control.ts";
import { JOB_SLOT_PREFIX } from "../../shared/contracts/job-slots.ts";
import { type BulkImporterDeps, processBulkMessages } from "./process-bulk-messages.ts";
import { readSettings } from "../../shared/config/settings.ts";
import { BulkImporterSettingsSchema } from "./settings.ts";
import { createLogger, withLambdaContext } from "../../shared/lambda/logger.ts";
import { FunctionMetrics, withMetrics } from "../../shared/lambda/metrics.ts";
import { metered } from "../../shared/marketo/metered.ts";
import { BulkImportClient } from "../../shared/marketo/bulk-import-client.ts";
import { lazyMarketoClient } from "../../shared/marketo/lazy-client.ts";
import { createMarketoDispatcher } from "../../shared/marketo/http.ts";
import type { BatchClaim } from "../../shared/claims/batch-claim.ts";
import { systemClock } from "../../shared/time/clock.ts";

const logger = createLogger("marketo-ingest-bulk-importer");
const metrics = new FunctionMetrics("marketo-ingest-bulk-importer");

function createRuntime(env: Record<string, string | undefined>): BulkImporterDeps {
  const settings = readSettings(BulkImporterSettingsSchema, env);
  const s3 = createS3Client(env);
  const secrets = createSecretsClient(env);
  // Few sockets: the instance allows 10 concurrent REST calls for every integration together.
  const dispatcher = createMarketoDispatcher({ timeoutMs: settings.REQUEST_TIMEOUT_MS, connectionsPerOrigin: 2 });
  const marketo = lazyMarketoClient(
    secrets,
    settings.MARKETO_SECRET_ID,
    dispatcher,
    ({ endpoints, tokens }) => new BulkImportClient({ endpoints, tokens, dispatcher, clock: systemClock }),
    { secretMaxAgeMs: settings.SECRET_MAX_AGE_MS },
  );
  return {
    // Every call to Marketo is counted, timed and its throttles recorded.
    client: async () => {
      const client = await marketo();
      return {
        submit: (...args) => metered(metrics, systemClock, () => client.submit(...args)),
        status: (...args) => metered(metrics, systemClock, () => client.status(...args)),
        rowsFile: (...args) => metered(metrics, systemClock, () => client.rowsFile(...args)),
      };
    },
    slots: new S3JobSlots(s3, {
      bucket: settings.WORK_BUCKET,
      prefix: JOB_SLOT_PREFIX,
      capacity: settings.BULK_JOB_SLOTS,
      leaseTtlMs: settings.BULK_SLOT_LEASE_MS,
      clock: systemClock,
    }),
    claims: new S3ClaimStore<BatchClaim>(s3, settings.WORK_BUCKET),
    claimTtlMs: settings.CLAIM_TTL_MS,
    claimRecheckMs: settings.CLAIM_RECHECK_SECONDS * 1000,
    readPart: (key) => readS3Text(s3, settings.WORK_BUCKET, key),
    reports: new S3ReportStore(s3, settings.WORK_BUCKET),
    queue: new SqsQueueControl(createSqsClient(env), settings.BULK_QUEUE_URL, settings.BULK_DLQ_URL),
    clock: systemClock,
    random: Math.random,
    logger,
    metrics,
    policy: {
      maxAttempts: settings.MAX_ATTEMPTS,
      backoff: { baseMs: settings.RETRY_BASE_MS, capMs: settings.RETRY_CAP_MS },
      slotWaitSeconds: settings.BULK_SLOT_WAIT_SECONDS,
      pollFirstSeconds: settings.BULK_POLL_FIRST_SECONDS,
      pollMaxSeconds: settings.BULK_POLL_MAX_SECONDS,
      quotaWaitSeconds: settings.QUOTA_WAIT_SECONDS,
      rateLimitWaitMs: settings.RATE_LIMIT_WAIT_MS,
    },
  };
}

export type BulkImporterHandler = (event: SQSEvent, context: Context) => Promise<SQSBatchResponse>;

/** Builds the handler from an environment, read and validated on the first event (cold start). */
export function createBulkImporterHandler(env: Record<string, string | undefined>): BulkImporterHandler {
  let runtime: BulkImporterDeps | undefined;
  return withLambdaContext(
    logger,
    withMetrics(metrics, async (event) => {
      runtime ??= createRuntime(env);
      const response = await processBulkMessages(event.Records, runtime);
      logger.info("bulk messages processed", {
        messages: event.Records.length,
        redeliveries: response.batchItemFailures.length,
      });
      return response;
    }),
  );
}

/** Bulk queue → one step (submit or poll) per message for each part of a bulk file. */
export const handler: BulkImporterHandler = createBulkImporterHandler(process.env);
