import { createS3Client } from "../shared/aws/clients.ts";
import { listReportPrefixes, S3ReportStore } from "../shared/aws/s3-report-store.ts";
import { findFileReport } from "../shared/report/find-file-report.ts";
import { formatReportLines } from "./format-summary.ts";

/** `status` exit code of a file whose split failed for good (retries exhausted, timeout, crash). */
export const STATUS_EXIT_SPLIT_FAILED = 5;

export interface StatusFlags {
  bucket?: string;
  version?: string;
  json?: boolean;
}

/**
 * `marketo-ingest status KEY`: the report of a dropped file, read from a deployed stack's work bucket (or any
 * S3-compatible endpoint named by AWS_ENDPOINT_URL). Exit 0 complete, 1 complete with failures or rejected,
 * 3 still running, 4 no such file, 5 the split failed for good (nobody works on the file: drop it again).
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
    const found = await findFileReport(key, flags.version, {
      reports: new S3ReportStore(s3, bucket),
      listReportPrefixes: (fileKey) => listReportPrefixes(s3, bucket, fileKey),
      now: () => Date.now(),
    });
    if (found.found === "none") {
      console.error(
        found.versions > 0
          ? `${key}: the splitter is still working on it (no manifest yet)`
          : `${key}: no report in s3://${bucket}/reports/ (never dropped, or its report expired)`,
      );
      return found.versions > 0 ? 3 : 4;
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
