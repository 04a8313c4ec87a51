import { HeadObjectCommand, ListObjectsV2Command, type S3Client } from "@aws-sdk/client-s3";
import { readVersionedJson } from "../shared/aws/s3-conditional.ts";
import { S3ReportStore } from "../shared/aws/s3-report-store.ts";
import {
  INTAKE_PREFIX,
  type IntakeMessageClaim,
  type IntakeWindow,
  IntakeWindowSchema,
  intakeClaimKey,
  intakeWindowDescriptorKey,
} from "../shared/contracts/intake-window.ts";
import { fileRefFor } from "../shared/contracts/s3-event.ts";
import { type IntakeMessageOutcome, windowMessageOutcomes } from "../shared/report/intake-outcomes.ts";

export type IntakeLookup =
  | { found: "window"; windowKey: string; outcome: IntakeMessageOutcome }
  | { found: "pointer"; source: IntakeMessageClaim["source"]; messageId: string }
  | { found: "none" };

/**
 * Where a producer message's records ended, by its producer `id` or its SQS message id: the claim names its window
 * (or, for an S3 pointer, the object); a message with a producer id asked for by its SQS id is found by reading
 * the window descriptors. Invalid messages are never claimed: they are in the intake DLQ.
 */
export async function lookUpIntakeMessage(s3: S3Client, bucket: string, name: string): Promise<IntakeLookup> {
  const claim =
    (await readVersionedJson<IntakeMessageClaim>(s3, bucket, intakeClaimKey(`id:${name}`))) ??
    (await readVersionedJson<IntakeMessageClaim>(s3, bucket, intakeClaimKey(`sqs:${name}`)));
  const candidates = claim
    ? claim.value.source.bucket === bucket
      ? [claim.value.source.key]
      : undefined
    : await listWindowKeys(s3, bucket);
  if (claim && !candidates) return { found: "pointer", source: claim.value.source, messageId: claim.value.messageId };
  for (const windowKey of candidates ?? []) {
    const descriptor = await readVersionedJson<unknown>(s3, bucket, intakeWindowDescriptorKey(windowKey));
    if (!descriptor) continue;
    const window: IntakeWindow = IntakeWindowSchema.parse(descriptor.value);
    if (!window.messages.some((m) => m.messageId === name || m.id === name)) continue;
    const head = await s3.send(new HeadObjectCommand({ Bucket: bucket, Key: windowKey }));
    const file = fileRefFor({ bucket, key: windowKey, eTag: (head.ETag ?? "").replace(/"/g, "") });
    const reports = new S3ReportStore(s3, bucket);
    // As the report writer computes report.json's listing and the window event: the three agree.
    const outcomes = await windowMessageOutcomes(
      window,
      await reports.getManifest(file),
      await reports.listBatchOutcomes(file),
      (parts) => reports.readRejectedRows(file, parts),
    );
    const outcome = outcomes.find((m) => m.messageId === name || m.id === name);
    if (outcome) return { found: "window", windowKey, outcome };
  }
  return { found: "none" };
}

async function listWindowKeys(s3: S3Client, bucket: string): Promise<string[]> {
  const keys: string[] = [];
  let token: string | undefined;
  do {
    const page = await s3.send(
      new ListObjectsV2Command({ Bucket: bucket, Prefix: INTAKE_PREFIX, ContinuationToken: token }),
    );
    for (const object of page.Contents ?? []) if (object.Key?.endsWith(".ndjson")) keys.push(object.Key);
    token = page.NextContinuationToken;
  } while (token);
  return keys;
}
