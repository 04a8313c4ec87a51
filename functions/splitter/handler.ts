import type { Context } from "aws-lambda";
import { createS3Client, createSqsClient } from "../../shared/aws/clients.ts";
import { readSettings } from "../../shared/config/settings.ts";
import { SplitterSettingsSchema } from "./settings.ts";
import { createLogger, withLambdaContext } from "../../shared/lambda/logger.ts";
import { isSidecarKey } from "./process-dropped-file.ts";
import { droppedFiles } from "../../shared/contracts/s3-event.ts";
import { splitDroppedFileOnce } from "./split-once.ts";
import { createSplitOnceDeps } from "./split-runtime.ts";

const logger = createLogger("marketo-ingest-splitter");

export type SplitterHandler = (event: unknown, context: Context) => Promise<void>;

function createRuntime(env: Record<string, string | undefined>) {
  const settings = readSettings(SplitterSettingsSchema, env);
  const s3 = createS3Client(env);
  const sqs = createSqsClient(env);
  return { deps: createSplitOnceDeps(settings, s3, sqs) };
}
type SplitterRuntime = ReturnType<typeof createRuntime>;

/**
 * Builds the handler from an environment; configuration is read and validated on the first event (cold start).
 * The deployed `handler` uses the process environment; the local runner passes its own.
 */
export function createSplitterHandler(env: Record<string, string | undefined>): SplitterHandler {
  let runtime: SplitterRuntime | undefined;
  return withLambdaContext(logger, async (event, context) => {
    runtime ??= createRuntime(env);
    await splitEvent(event, runtime, context);
  });
}

/** S3 ObjectCreated → batches on the ingestion queue + a manifest in the work bucket. */
export const handler: SplitterHandler = createSplitterHandler(process.env);

async function splitEvent(event: unknown, runtime: SplitterRuntime, context: Context): Promise<void> {
  const { deps } = runtime;
  const invocationId = context.awsRequestId;
  for (const file of droppedFiles(event)) {
    if (isSidecarKey(file.key)) {
      // Options for a data file, read when that file arrives (upload the sidecar first).
      logger.info("sidecar options file, not split", { key: file.key });
      continue;
    }
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
    logger.info("file processed", {
      key: file.key,
      versionId: file.versionId,
      as: result.as,
      status: manifest.status,
      rowsRead: manifest.rowsRead,
      rowsQueued: manifest.rowsQueued,
      rowsRejected: manifest.rejectedRows.length,
      batches: manifest.batches,
      error: manifest.error?.code,
    });
  }
}
