import type { S3Event } from "aws-lambda";

/**
 * The notification S3 sends after a PutObject (the emulator sends none): key URL-encoded with `+` for spaces,
 * as S3 does.
 */
export function objectCreatedEvent(object: {
  bucket: string;
  key: string;
  size: number;
  eTag?: string;
  versionId?: string;
}): S3Event {
  const encodedKey = encodeURIComponent(object.key).replace(/%20/g, "+").replace(/%2F/g, "/");
  return {
    Records: [
      {
        eventVersion: "2.1",
        eventSource: "aws:s3",
        awsRegion: "us-east-1",
        eventTime: new Date().toISOString(),
        eventName: "ObjectCreated:Put",
        userIdentity: { principalId: "local" },
        requestParameters: { sourceIPAddress: "127.0.0.1" },
        responseElements: { "x-amz-request-id": "local", "x-amz-id-2": "local" },
        s3: {
          s3SchemaVersion: "1.0",
          configurationId: "marketo-ingest-drop",
          bucket: {
            name: object.bucket,
            ownerIdentity: { principalId: "local" },
            arn: `arn:aws:s3:::${object.bucket}`,
          },
          object: {
            key: encodedKey,
            size: object.size,
            eTag: object.eTag ?? "",
            ...(object.versionId ? { versionId: object.versionId } : {}),
            sequencer: Date.now().toString(16).toUpperCase(),
          },
        },
      },
    ],
  };
}
