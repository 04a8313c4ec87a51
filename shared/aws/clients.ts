import { EventBridgeClient } from "@aws-sdk/client-eventbridge";
import { S3Client } from "@aws-sdk/client-s3";
import { SecretsManagerClient } from "@aws-sdk/client-secrets-manager";
import { SQSClient } from "@aws-sdk/client-sqs";

type Env = Record<string, string | undefined>;

/** An explicit endpoint only when configured: in Lambda the SDK's regional defaults apply. */
const endpointFor = (env: Env, service: string): { endpoint?: string } => {
  const endpoint = env[`AWS_ENDPOINT_URL_${service}`] ?? env.AWS_ENDPOINT_URL;
  return endpoint ? { endpoint } : {};
};

/** S3_FORCE_PATH_STYLE=true is needed for S3-compatible emulators on 127.0.0.1. */
export function createS3Client(env: Env = process.env): S3Client {
  return new S3Client({ ...endpointFor(env, "S3"), forcePathStyle: env.S3_FORCE_PATH_STYLE === "true" });
}

export function createSqsClient(env: Env = process.env): SQSClient {
  return new SQSClient({ ...endpointFor(env, "SQS") });
}

export function createSecretsClient(env: Env = process.env): SecretsManagerClient {
  return new SecretsManagerClient({ ...endpointFor(env, "SECRETS_MANAGER") });
}

export function createEventBridgeClient(env: Env = process.env): EventBridgeClient {
  return new EventBridgeClient({ ...endpointFor(env, "EVENTBRIDGE") });
}
