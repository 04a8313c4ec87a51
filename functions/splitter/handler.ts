import type { Context } from "aws-lambda";
import { createS3Client, createSqsClient } from "../../shared/aws/clients.ts";
import { readSettings } from "../../shared/config/settings.ts";
import { SplitterSettingsSchema } from "./settings.ts";
import { createLogger, withLambdaContext } from "../../shared/lambda/logger.ts";
import { FunctionMetrics, withMetrics } from "../../shared/lambda/metrics.ts";
import { isSidecarKey } from "./process-dropped-file.ts";
import { droppedFiles } from "../../shared/contracts/s3-event.ts";
import { splitDroppedFileOnce } from "./split-once.ts";
import { addSplitMetrics, createFieldLists, createSplitOnceDeps } from "./split-runtime.ts";
import { systemClock } from "../../shared/time/clock.ts";
import { jsonOf } from "../../shared/text/json-text.ts";
import { SplitFailureRecordSchema } from "../../shared/contracts/split-failure.ts";
import { rejectedCountOf } from "../../shared/report/file-report.ts";
import { recordSplitFailure } from "./record-split-failure.ts";
import { z } from "zod";

const logger = createLogger("marketo-ingest-splitter");
const metrics = new FunctionMetrics("marketo-ingest-splitter");

export type SplitterHandler = (event: unknown, context: Context) => Promise<void>;

function createRuntime(env: Record<string, string | undefined>) {
  const settings = readSettings(SplitterSettingsSchema, env);
  const s3 = createS3Client(env);
  const sqs = createSqsClient(env);
  return { settings, s3, sqs, fieldLists: createFieldLists(settings, env) };
}
type SplitterRuntime = ReturnType<typeof createRuntime>;

/**
 * Builds the handler from an environment; configuration is read and validated on the first event (cold start).
 * The deployed `handler` uses the process environment; the local runner passes its own.
 */
export function createSplitterHandler(env: Record<string, string | undefined>): SplitterHandler {
  let runtime: SplitterRuntime | undefined;
  return withLambdaContext(
    logger,
    withMetrics(metrics, async (event, context) => {
      runtime ??= createRuntime(env);
      await splitEvent(event, runtime, context);
    }),
  );
}

/**
 * S3 ObjectCreated → batches on the ingestion queue + a manifest in the work bucket; and, from the split-failures
 * queue (the splitter's own on-failure destination), a `failed` manifest for each file whose split failed for good.
 */
export const handler: SplitterHandler = createSplitterHandler(process.env);

/** Records of the split-failures queue (batch size 1); an S3 notification's records say `aws:s3`. */
const SplitFailureEventSchema = z.object({
  Records: z.array(z.object({ eventSource: z.literal("aws:sqs"), messageId: z.string(), body: z.string() })).min(1),
});
const SplitFailureText = jsonOf(SplitFailureRecordSchema);

async function splitEvent(event: unknown, runtime: SplitterRuntime, context: Context): Promise<void> {
  const failures = SplitFailureEventSchema.safeParse(event);
  if (failures.success) {
    for (const record of failures.data.Records) {
      // A record that is not a failure record throws: SQS retries it, then keeps it in the splitter DLQ.
      const failure = SplitFailureText.parse(record.body);
      const { reports, announce } = createSplitOnceDeps(runtime.settings, runtime.s3, runtime.sqs);
      const written = await recordSplitFailure(failure, { reports, clock: systemClock, announce });
      logger.error("split failed for good; failed report requested", {
        messageId: record.messageId,
        failedRequestId: failure.requestContext.requestId,
        condition: failure.requestContext.condition,
        files: written.map((manifest) => manifest.file.reportPrefix),
      });
    }
    return;
  }
  const invocationId = context.awsRequestId;
  for (const file of droppedFiles(event)) {
    if (isSidecarKey(file.key)) {
      // Options for a data file, read when that file arrives (upload the sidecar first).
      logger.info("sidecar options file, not split", { key: file.key });
      continue;
    }
    const deps = createSplitOnceDeps(runtime.settings, runtime.s3, runtime.sqs, runtime.fieldLists);
    const result = await splitDroppedFileOnce(file, invocationId, deps);
    if (result.status === "skipped") {
      logger.info("file already split or being split; event ignored", {
        key: file.key,
        versionId: file.versionId,
        why: result.why,
      });
      continue;
    }
    const { manifest } = result;
    addSplitMetrics(metrics, manifest);
    logger.info("file processed", {
      key: file.key,
      versionId: file.versionId,
      as: result.as,
      status: manifest.status,
      rowsRead: manifest.rowsRead,
      rowsQueued: manifest.rowsQueued,
      rowsRejected: rejectedCountOf(manifest),
      batches: manifest.batches,
      error: manifest.error?.code,
      fieldCheck: manifest.fieldCheck?.result,
    });
    if (manifest.fieldCheck?.result === "skipped") {
      logger.warn("field check skipped; the file was sent unchecked", {
        key: file.key,
        reason: manifest.fieldCheck.reason,
      });
    }
  }
}
