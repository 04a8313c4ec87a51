import type { S3Client } from "@aws-sdk/client-s3";
import { z } from "zod";
import { createS3Client } from "../shared/aws/clients.ts";
import { readOptionalS3Text } from "../shared/aws/s3-object-source.ts";
import { SPLIT_CLAIM_FILE } from "../shared/report/build-file-report.ts";
import { lookUpIntakeMessage } from "./intake-status.ts";
import { listReportPrefixes, S3ReportStore } from "../shared/aws/s3-report-store.ts";
import { findFileReport } from "../shared/report/find-file-report.ts";
import { formatReportLines } from "./format-summary.ts";

/** `status` exit code of a file whose split failed for good (retries exhausted, timeout, crash). */
export const STATUS_EXIT_SPLIT_FAILED = 5;

/** Lambda stops an invocation at 15 minutes; a split claim older than this has no invocation behind it. */
const STALE_SPLIT_CLAIM_MS = 16 * 60_000;

export interface StatusFlags {
  bucket?: string;
  /** Look up an intake message (producer `id` or SQS message id) instead of a file. */
  message?: boolean;
  version?: string;
  json?: boolean;
}

/**
 * `marketo-ingest status KEY`: the report of a dropped file, read from a deployed stack's work bucket (or any
 * S3-compatible endpoint named by AWS_ENDPOINT_URL). Exit 0 complete, 1 complete with failures or rejected,
 * 3 still running, 4 no such file, 5 the split failed for good, or stalled (no manifest, and its claim is older than
 * any invocation lasts): nobody works on the file.
 */
export async function statusCommand(key: string, flags: StatusFlags, env: NodeJS.ProcessEnv): Promise<number> {
  const bucket = flags.bucket ?? env.MARKETO_INGEST_WORK_BUCKET;
  if (!bucket) {
    console.error(
      "status needs the work bucket: --bucket NAME or MARKETO_INGEST_WORK_BUCKET (stack output WorkBucketName)",
    );
    return 2;
  }
  const s3 = createS3Client(env);
  try {
    if (flags.message) return await intakeStatus(s3, bucket, key, flags, env);
    const found = await findFileReport(key, flags.version, {
      reports: new S3ReportStore(s3, bucket),
      listReportPrefixes: (fileKey) => listReportPrefixes(s3, bucket, fileKey),
      now: () => Date.now(),
    });
    if (found.found === "none") {
      if (found.versions === 0) {
        console.error(`${key}: no report in s3://${bucket}/reports/ (never dropped, or its report expired)`);
        return 4;
      }
      const claimedAt = await newestSplitClaim(s3, bucket, key, flags.version);
      if (claimedAt !== undefined && Date.now() - claimedAt > STALE_SPLIT_CLAIM_MS) {
        // Longer than any invocation lasts, and nothing written: nobody is splitting the file.
        console.error(
          `${key}: stalled: no invocation has worked on it since ${new Date(claimedAt).toISOString()} and it has no manifest: its split failed and its failure could not be reported (see the splitter DLQ), or Lambda still holds a retry`,
        );
        return STATUS_EXIT_SPLIT_FAILED;
      }
      console.error(`${key}: the splitter is still working on it (no manifest yet)`);
      return 3;
    }
    const { report } = found;
    if (flags.json) console.log(JSON.stringify(report, null, 2));
    else for (const line of formatReportLines(report, found.source)) console.log(line);
    if (report.status === "running") return 3;
    if (report.status === "failed") return STATUS_EXIT_SPLIT_FAILED;
    return report.status === "complete" ? 0 : 1;
  } finally {
    s3.destroy();
  }
}

/** When the newest split claim of `key` (or of its version `version`) was taken, or undefined without one. */
async function newestSplitClaim(
  s3: S3Client,
  bucket: string,
  key: string,
  version: string | undefined,
): Promise<number | undefined> {
  const prefixes = (await listReportPrefixes(s3, bucket, key)).filter(
    (prefix) => !version || prefix.endsWith(`/${version}/`),
  );
  const times = await Promise.all(
    prefixes.map(async (prefix) => {
      const text = await readOptionalS3Text(s3, bucket, `${prefix}${SPLIT_CLAIM_FILE}`);
      const claim = text === undefined ? undefined : SplitClaimSchema.safeParse(JSON.parse(text));
      return claim?.success ? Date.parse(claim.data.claimedAt) : undefined;
    }),
  );
  const known = times.filter((time): time is number => time !== undefined);
  return known.length ? Math.max(...known) : undefined;
}

const SplitClaimSchema = z.object({ claimedAt: z.iso.datetime() });
/** `status --message ID`: one producer message's records, by state, with the reasons of those not accepted. */
async function intakeStatus(
  s3: S3Client,
  bucket: string,
  name: string,
  flags: StatusFlags,
  env: NodeJS.ProcessEnv,
): Promise<number> {
  const found = await lookUpIntakeMessage(s3, bucket, name);
  if (found.found === "none") {
    console.error(
      `${name}: no intake message with this id in s3://${bucket}/intake/ (invalid ones are in the intake DLQ)`,
    );
    return 4;
  }
  if (found.found === "pointer") {
    // Its records were split as the file it names: that file's report is the message's, and so is its exit code.
    console.log(`message ${found.messageId}: its records are s3://${found.source.bucket}/${found.source.key}`);
    return statusCommand(found.source.key, { ...flags, message: false, bucket }, env);
  }
  const { outcome } = found;
  if (flags.json) console.log(JSON.stringify({ window: found.windowKey, ...outcome }, null, 2));
  else {
    const r = outcome.records;
    console.log(`message ${outcome.messageId}${outcome.id ? ` (id ${outcome.id})` : ""}: ${outcome.status}`);
    console.log(
      `records accepted ${r.accepted} · rejected ${r.rejected} · failed ${r.failed} · dead-lettered ${r["dead-lettered"]} · pending ${r.pending}`,
    );
    console.log(`window ${found.windowKey}`);
    for (const issue of outcome.issues.slice(0, 10))
      console.log(`  record ${issue.record} ${issue.state}: ${issue.reason}`);
  }
  if (outcome.status === "running") return 3;
  return outcome.status === "complete" ? 0 : 1;
}
