import type { S3Client } from "@aws-sdk/client-s3";
import type { BatchClaim, BatchClaimStore, ClaimedBatch } from "../pipeline/batch-claim.ts";
import type { FileRef } from "../pipeline/batch-message.ts";
import { putJsonIf, readVersionedJson } from "./s3-conditional.ts";

/** Batch claims as `{reportPrefix}claims/{index}.json` in the work bucket, written with S3 conditional writes. */
export class S3BatchClaims implements BatchClaimStore {
  constructor(
    private readonly s3: S3Client,
    private readonly bucket: string,
  ) {}

  async read(file: FileRef, index: number): Promise<ClaimedBatch | undefined> {
    const current = await readVersionedJson<BatchClaim>(this.s3, this.bucket, claimKey(file, index));
    return current && { claim: current.value, etag: current.etag };
  }

  write(
    file: FileRef,
    index: number,
    claim: BatchClaim,
    condition: { ifAbsent: true } | { ifMatch: string },
  ): Promise<boolean> {
    return putJsonIf(
      this.s3,
      this.bucket,
      claimKey(file, index),
      claim,
      "ifMatch" in condition ? { IfMatch: condition.ifMatch } : { IfNoneMatch: "*" },
    );
  }
}

const claimKey = (file: FileRef, index: number): string =>
  `${file.reportPrefix}claims/${String(index).padStart(6, "0")}.json`;
