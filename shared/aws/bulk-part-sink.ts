import { PutObjectCommand, type S3Client } from "@aws-sdk/client-s3";
import type { SQSClient } from "@aws-sdk/client-sqs";
import type { BulkPartSink } from "../contracts/batch-publisher.ts";
import { SqsBatchPublisher } from "./sqs-batch-publisher.ts";

/** Parts into the work bucket, their messages onto the bulk queue (a part is stored before it is announced). */
export function createBulkPartSink(s3: S3Client, sqs: SQSClient, workBucket: string, queueUrl: string): BulkPartSink {
  const publisher = new SqsBatchPublisher(sqs, { queueUrl });
  return {
    putPart: async (key, text) => {
      await s3.send(
        new PutObjectCommand({ Bucket: workBucket, Key: key, Body: text, ContentType: "text/csv; charset=utf-8" }),
      );
    },
    publish: (message) => publisher.publish(message),
    flush: () => publisher.flush(),
  };
}
