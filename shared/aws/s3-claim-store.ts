import type { S3Client } from "@aws-sdk/client-s3";
import type { ClaimStore, Versioned, WriteCondition } from "../contracts/claim-store.ts";
import { putJsonIf, readVersionedJson } from "./s3-conditional.ts";

/** Claims as small JSON objects in one bucket, written with S3 conditional writes (no table, no lock service). */
export class S3ClaimStore<T> implements ClaimStore<T> {
  constructor(
    private readonly s3: S3Client,
    private readonly bucket: string,
  ) {}

  read(key: string): Promise<Versioned<T> | undefined> {
    return readVersionedJson<T>(this.s3, this.bucket, key);
  }

  write(key: string, value: T, condition: WriteCondition): Promise<string | undefined> {
    return putJsonIf(this.s3, this.bucket, key, value, condition);
  }
}
