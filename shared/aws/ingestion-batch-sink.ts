import { PutObjectCommand, type S3Client } from "@aws-sdk/client-s3";
import type { SQSClient } from "@aws-sdk/client-sqs";
import type { BatchSink } from "../contracts/batch-publisher.ts";
import { SqsBatchPublisher } from "./sqs-batch-publisher.ts";

/** Batch messages onto the ingestion queue; bodies too large for a message into the work bucket, stored first. */
export function createIngestionBatchSink(
  s3: S3Client,
  sqs: SQSClient,
  workBucket: string,
  queueUrl: string,
): BatchSink {
  const publisher = new SqsBatchPublisher(sqs, { queueUrl });
  return {
    storeBody: async (key, text) => {
      await s3.send(
        new PutObjectCommand({
          Bucket: workBucket,
          Key: key,
          Body: text,
          ContentType: "application/json; charset=utf-8",
        }),
      );
    },
    publish: (message) => publisher.publish(message),
    flush: () => publisher.flush(),
  };
}
