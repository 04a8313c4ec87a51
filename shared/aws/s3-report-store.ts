import { ListObjectsV2Command, PutObjectCommand, type S3Client } from "@aws-sdk/client-s3";
import { readOptionalS3Text, readS3Text } from "./s3-object-source.ts";
import type { FileRef } from "../contracts/batch-message.ts";
import { ROW_MARKS_FILE, type RowMarks, RowMarksSchema } from "../contracts/split-checkpoint.ts";
import { type FileReport, REPORT_FILE } from "../report/build-file-report.ts";
import { type RejectedRowsStore, type ReportStore, ROW_DATA_TAGGING } from "../contracts/report-store.ts";
import { type BatchOutcome, RejectedRowSchema, type RejectedRow, type SplitManifest } from "../report/file-report.ts";

/** Report objects in the work bucket: `{reportPrefix}manifest.json` and `{reportPrefix}batches/{index}.json`. */
export class S3ReportStore implements ReportStore, RejectedRowsStore {
  constructor(
    private readonly s3: S3Client,
    private readonly bucket: string,
  ) {}

  putManifest(file: FileRef, manifest: SplitManifest): Promise<void> {
    return this.putJson(`${file.reportPrefix}manifest.json`, manifest);
  }

  getManifest(file: FileRef): Promise<SplitManifest | undefined> {
    return this.getJson<SplitManifest>(`${file.reportPrefix}manifest.json`);
  }

  putBatchOutcome(file: FileRef, outcome: BatchOutcome): Promise<void> {
    return this.putJson(batchKey(file, outcome.index), outcome);
  }

  getBatchOutcome(file: FileRef, index: number): Promise<BatchOutcome | undefined> {
    return this.getJson<BatchOutcome>(batchKey(file, index));
  }

  putFileReport(file: FileRef, report: FileReport): Promise<void> {
    return this.putJson(`${file.reportPrefix}${REPORT_FILE}`, report);
  }

  getFileReport(file: FileRef): Promise<FileReport | undefined> {
    return this.getJson<FileReport>(`${file.reportPrefix}${REPORT_FILE}`);
  }

  putRowMarks(file: FileRef, marks: RowMarks): Promise<void> {
    return this.putJson(`${file.reportPrefix}${ROW_MARKS_FILE}`, marks);
  }

  async getRowMarks(file: FileRef): Promise<RowMarks | undefined> {
    const marks = await this.getJson<unknown>(`${file.reportPrefix}${ROW_MARKS_FILE}`);
    return marks === undefined ? undefined : RowMarksSchema.parse(marks);
  }

  async putRejectedRowsPart(file: FileRef, index: number, ndjson: string): Promise<void> {
    await this.s3.send(
      new PutObjectCommand({
        Bucket: this.bucket,
        Key: rejectedRowsKey(file, index),
        Body: ndjson,
        ContentType: "application/x-ndjson",
        Tagging: ROW_DATA_TAGGING,
      }),
    );
  }

  async *readRejectedRows(file: FileRef, parts: number): AsyncGenerator<RejectedRow> {
    for (let index = 0; index < parts; index++) {
      const text = await readS3Text(this.s3, this.bucket, rejectedRowsKey(file, index));
      for (const line of text.split("\n")) if (line) yield RejectedRowSchema.parse(JSON.parse(line));
    }
  }

  async listBatchOutcomes(file: FileRef): Promise<BatchOutcome[]> {
    const keys = (await this.listOutcomeObjects(file)).map((object) => object.key);
    const outcomes = (await this.readOutcomes(keys)).map(([, outcome]) => outcome);
    return outcomes.sort((a, b) => a.index - b.index);
  }

  /**
   * The batch outcomes written since the last call with the same `seen` (keys already read, updated here): a live
   * view costs one listing plus one read per new outcome, never a re-read of all of them.
   */
  async readNewBatchOutcomes(file: FileRef, seen: Set<string>): Promise<BatchOutcome[]> {
    const fresh = (await this.listOutcomeObjects(file)).map((object) => object.key).filter((key) => !seen.has(key));
    const read = await this.readOutcomes(fresh);
    for (const [key] of read) seen.add(key);
    return read.map(([, outcome]) => outcome);
  }

  async lastOutcomeWrittenAt(file: FileRef): Promise<number | undefined> {
    const times = (await this.listOutcomeObjects(file)).map((object) => object.modifiedAt);
    return times.length ? Math.max(...times) : undefined;
  }

  private async listOutcomeObjects(file: FileRef): Promise<Array<{ key: string; modifiedAt: number }>> {
    const objects: Array<{ key: string; modifiedAt: number }> = [];
    const prefix = `${file.reportPrefix}batches/`;
    let token: string | undefined;
    do {
      const page = await this.s3.send(
        new ListObjectsV2Command({
          Bucket: this.bucket,
          Prefix: prefix,
          ...(token ? { ContinuationToken: token } : {}),
        }),
      );
      for (const object of page.Contents ?? []) {
        // Rebuilt from the prefix asked for: a listing is XML, whose parsers turn a CR in a key into LF.
        const name = object.Key?.slice(object.Key.lastIndexOf("/") + 1);
        if (name) objects.push({ key: `${prefix}${name}`, modifiedAt: object.LastModified?.getTime() ?? 0 });
      }
      token = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (token);
    return objects;
  }

  private async readOutcomes(keys: readonly string[]): Promise<Array<[key: string, outcome: BatchOutcome]>> {
    const read: Array<[string, BatchOutcome]> = [];
    // Bounded parallel reads: a 10 GB file has ~50k batches.
    for (let i = 0; i < keys.length; i += 32) {
      const chunk = keys.slice(i, i + 32);
      const outcomes = await Promise.all(chunk.map((key) => this.getJson<BatchOutcome>(key)));
      outcomes.forEach((outcome, k) => {
        if (outcome) read.push([chunk[k] as string, outcome]);
      });
    }
    return read;
  }

  private async putJson(key: string, value: unknown): Promise<void> {
    await this.s3.send(
      new PutObjectCommand({
        Bucket: this.bucket,
        Key: key,
        Body: JSON.stringify(value),
        ContentType: "application/json",
      }),
    );
  }

  private async getJson<T>(key: string): Promise<T | undefined> {
    const text = await readOptionalS3Text(this.s3, this.bucket, key);
    return text === undefined ? undefined : (JSON.parse(text) as T);
  }
}

const rejectedRowsKey = (file: FileRef, index: number): string =>
  `${file.reportPrefix}rejected-rows/${String(index).padStart(6, "0")}.ndjson`;

const batchKey = (file: FileRef, index: number): string =>
  `${file.reportPrefix}batches/${String(index).padStart(6, "0")}.json`;

/** `reports/{key}/{version}/` for every version of `key` that has report objects. */
export async function listReportPrefixes(s3: S3Client, bucket: string, key: string): Promise<string[]> {
  const prefixes: string[] = [];
  let token: string | undefined;
  do {
    const page = await s3.send(
      new ListObjectsV2Command({
        Bucket: bucket,
        Prefix: `reports/${key}/`,
        Delimiter: "/",
        ...(token ? { ContinuationToken: token } : {}),
      }),
    );
    for (const common of page.CommonPrefixes ?? []) {
      // The version segment, under the key as given: the XML listing may have turned a CR in the key into LF.
      const version = common.Prefix?.slice(0, -1).split("/").at(-1);
      if (version) prefixes.push(`reports/${key}/${version}/`);
    }
    token = page.IsTruncated ? page.NextContinuationToken : undefined;
  } while (token);
  return prefixes;
}
