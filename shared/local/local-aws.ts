import type { AddressInfo } from "node:net";
import { CreateBucketCommand, S3Client } from "@aws-sdk/client-s3";
import { CreateQueueCommand, GetQueueAttributesCommand, SQSClient } from "@aws-sdk/client-sqs";
import { buildApp } from "fauxqs";
import { DEPLOYMENT_DEFAULTS } from "../config/deployment-defaults.ts";
import { type SecretsManagerEmulator, startSecretsManagerEmulator } from "./secrets-manager-emulator.ts";

export interface LocalAwsOptions {
  visibilityTimeoutSeconds?: number;
  redriveMaxReceiveCount?: number;
}

export interface LocalAws {
  readonly endpoint: string;
  readonly s3: S3Client;
  readonly sqs: SQSClient;
  readonly secrets: SecretsManagerEmulator;
  readonly dropBucket: string;
  readonly workBucket: string;
  readonly ingestionQueueUrl: string;
  readonly ingestionDlqUrl: string;
  /** Environment that points the SDK (and so the handlers) at the emulators. */
  readonly awsEnv: Record<string, string>;
  close(): Promise<void>;
}

// The emulators accept any credentials; the SDK still insists on having some.
const LOCAL_CREDENTIALS = { accessKeyId: "local", secretAccessKey: "local" };
const REGION = "us-east-1";

/**
 * An in-process S3/SQS emulator plus a Secrets Manager stand-in on 127.0.0.1, with the buckets and queues the
 * CDK stack defines (same redrive and visibility settings unless overridden).
 */
export async function startLocalAws(options: LocalAwsOptions = {}): Promise<LocalAws> {
  // fauxqs's own start helper binds every interface; build its app and bind loopback only.
  const app = buildApp({ logger: false });
  await app.listen({ port: 0, host: "127.0.0.1" });
  app.server.unref();
  const endpoint = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
  const secrets = await startSecretsManagerEmulator();
  const awsEnv = {
    AWS_REGION: REGION,
    AWS_ACCESS_KEY_ID: LOCAL_CREDENTIALS.accessKeyId,
    AWS_SECRET_ACCESS_KEY: LOCAL_CREDENTIALS.secretAccessKey,
    AWS_ENDPOINT_URL_S3: endpoint,
    AWS_ENDPOINT_URL_SQS: endpoint,
    AWS_ENDPOINT_URL_SECRETS_MANAGER: secrets.url,
    S3_FORCE_PATH_STYLE: "true",
  };
  // Handlers build SDK clients from the default credential chain: give it the emulators' dummy credentials.
  Object.assign(process.env, { AWS_REGION: REGION, AWS_ACCESS_KEY_ID: "local", AWS_SECRET_ACCESS_KEY: "local" });
  const clientConfig = { endpoint, region: REGION, credentials: LOCAL_CREDENTIALS };
  const s3 = new S3Client({ ...clientConfig, forcePathStyle: true });
  const sqs = new SQSClient(clientConfig);

  // Created through the SDK, with the stack's settings, as a deployment would have them.
  const dropBucket = "marketo-ingest-drop";
  const workBucket = "marketo-ingest-work";
  await s3.send(new CreateBucketCommand({ Bucket: dropBucket }));
  await s3.send(new CreateBucketCommand({ Bucket: workBucket }));
  const dlq = await sqs.send(
    new CreateQueueCommand({
      QueueName: "marketo-ingest-ingestion-dlq",
      Attributes: { MessageRetentionPeriod: String(DEPLOYMENT_DEFAULTS.dlqRetentionDays * 86_400) },
    }),
  );
  const dlqUrl = dlq.QueueUrl as string;
  const dlqArn = (await sqs.send(new GetQueueAttributesCommand({ QueueUrl: dlqUrl, AttributeNames: ["QueueArn"] })))
    .Attributes?.QueueArn as string;
  const queue = await sqs.send(
    new CreateQueueCommand({
      QueueName: "marketo-ingest-ingestion",
      Attributes: {
        VisibilityTimeout: String(
          options.visibilityTimeoutSeconds ?? DEPLOYMENT_DEFAULTS.ingestionQueueVisibilitySeconds,
        ),
        MessageRetentionPeriod: String(DEPLOYMENT_DEFAULTS.ingestionQueueRetentionDays * 86_400),
        RedrivePolicy: JSON.stringify({
          deadLetterTargetArn: dlqArn,
          maxReceiveCount: options.redriveMaxReceiveCount ?? DEPLOYMENT_DEFAULTS.redriveMaxReceiveCount,
        }),
      },
    }),
  );
  return {
    endpoint,
    s3,
    sqs,
    secrets,
    dropBucket,
    workBucket,
    ingestionQueueUrl: queue.QueueUrl as string,
    ingestionDlqUrl: dlqUrl,
    awsEnv,
    close: async () => {
      s3.destroy();
      sqs.destroy();
      await secrets.close();
      await app.close();
    },
  };
}
