import type { AddressInfo } from "node:net";
import { CreateBucketCommand, S3Client } from "@aws-sdk/client-s3";
import { CreateQueueCommand, GetQueueAttributesCommand, SQSClient } from "@aws-sdk/client-sqs";
import { buildApp } from "fauxqs";
import { DEPLOYMENT_DEFAULTS } from "../shared/config/deployment-defaults.ts";
import { type EventBridgeEmulator, startEventBridgeEmulator } from "./eventbridge-emulator.ts";
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
  /** EventBridge's PutEvents (the intake window events), on its own loopback port. */
  readonly events: EventBridgeEmulator;
  readonly dropBucket: string;
  readonly workBucket: string;
  readonly ingestionQueueUrl: string;
  readonly ingestionDlqUrl: string;
  readonly bulkQueueUrl: string;
  readonly bulkDlqUrl: string;
  readonly reportQueueUrl: string;
  readonly reportDlqUrl: string;
  /** The producers' queue and its DLQ (invalid messages, and the redrive of failing ones). */
  readonly intakeQueueUrl: string;
  readonly intakeDlqUrl: string;
  /** Where a split that runs out of time asks for a fresh invocation, and its DLQ. */
  readonly splitContinuationQueueUrl: string;
  readonly splitContinuationDlqUrl: string;
  /** Requests made to the emulator so far, by service and operation (`s3:GET`, `sqs:SendMessageBatch`, …). */
  requestCounts(): Record<string, number>;
  /**
   * Response body bytes the emulator has sent, by the same names (`s3:GET` is every byte of every object read,
   * ranged reads included): what "S3 bytes read" is counted from, on the server side.
   */
  responseBytes(): Record<string, number>;
  /** Environment that points the SDK (and so the handlers) at the emulators. */
  readonly awsEnv: Record<string, string>;
  close(): Promise<void>;
}

// The emulators accept any credentials; the SDK still insists on having some.
const LOCAL_CREDENTIALS = { accessKeyId: "local", secretAccessKey: "local" };
const REGION = "us-east-1";

/**
 * An in-process S3/SQS emulator plus Secrets Manager and EventBridge stand-ins on 127.0.0.1, with the buckets and queues the
 * CDK stack defines (same redrive and visibility settings unless overridden).
 */
export async function startLocalAws(options: LocalAwsOptions = {}): Promise<LocalAws> {
  // fauxqs's own start helper binds every interface; build its app and bind loopback only.
  const app = buildApp({ logger: false });
  const requestCounts = new Map<string, number>();
  const responseBytes = new Map<string, number>();
  countRequests(app, requestCounts, responseBytes);
  addConditionalWrites(app);
  await app.listen({ port: 0, host: "127.0.0.1" });
  app.server.unref();
  const endpoint = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
  const secrets = await startSecretsManagerEmulator();
  const events = await startEventBridgeEmulator();
  const awsEnv = {
    AWS_REGION: REGION,
    AWS_ACCESS_KEY_ID: LOCAL_CREDENTIALS.accessKeyId,
    AWS_SECRET_ACCESS_KEY: LOCAL_CREDENTIALS.secretAccessKey,
    AWS_ENDPOINT_URL_S3: endpoint,
    AWS_ENDPOINT_URL_SQS: endpoint,
    AWS_ENDPOINT_URL_SECRETS_MANAGER: secrets.url,
    AWS_ENDPOINT_URL_EVENTBRIDGE: events.url,
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
  const ingestion = await createQueueWithDlq(sqs, "marketo-ingest-ingestion", {
    visibilityTimeoutSeconds: options.visibilityTimeoutSeconds ?? DEPLOYMENT_DEFAULTS.ingestionQueueVisibilitySeconds,
    maxReceiveCount: options.redriveMaxReceiveCount ?? DEPLOYMENT_DEFAULTS.ingestionRedriveMaxReceiveCount,
  });
  const bulk = await createQueueWithDlq(sqs, "marketo-ingest-bulk", {
    visibilityTimeoutSeconds: options.visibilityTimeoutSeconds ?? DEPLOYMENT_DEFAULTS.bulkQueueVisibilitySeconds,
    maxReceiveCount: options.redriveMaxReceiveCount ?? DEPLOYMENT_DEFAULTS.redriveMaxReceiveCount,
  });
  const report = await createQueueWithDlq(sqs, "marketo-ingest-report", {
    visibilityTimeoutSeconds: options.visibilityTimeoutSeconds ?? DEPLOYMENT_DEFAULTS.reportQueueVisibilitySeconds,
    maxReceiveCount: options.redriveMaxReceiveCount ?? DEPLOYMENT_DEFAULTS.redriveMaxReceiveCount,
  });
  // Always the stack's visibility: a short one would return messages to the queue while a window still gathers.
  const intake = await createQueueWithDlq(sqs, "marketo-ingest-intake", {
    visibilityTimeoutSeconds: DEPLOYMENT_DEFAULTS.intakeQueueVisibilitySeconds,
    maxReceiveCount: options.redriveMaxReceiveCount ?? DEPLOYMENT_DEFAULTS.redriveMaxReceiveCount,
  });
  const continuation = await createQueueWithDlq(sqs, "marketo-ingest-split-continuation", {
    visibilityTimeoutSeconds:
      options.visibilityTimeoutSeconds ?? DEPLOYMENT_DEFAULTS.splitContinuationVisibilitySeconds,
    maxReceiveCount: DEPLOYMENT_DEFAULTS.splitContinuationMaxReceiveCount,
  });
  return {
    endpoint,
    s3,
    sqs,
    secrets,
    events,
    dropBucket,
    workBucket,
    ingestionQueueUrl: ingestion.queueUrl,
    ingestionDlqUrl: ingestion.dlqUrl,
    bulkQueueUrl: bulk.queueUrl,
    bulkDlqUrl: bulk.dlqUrl,
    reportQueueUrl: report.queueUrl,
    reportDlqUrl: report.dlqUrl,
    intakeQueueUrl: intake.queueUrl,
    intakeDlqUrl: intake.dlqUrl,
    splitContinuationQueueUrl: continuation.queueUrl,
    splitContinuationDlqUrl: continuation.dlqUrl,
    awsEnv,
    requestCounts: () => Object.fromEntries(requestCounts),
    responseBytes: () => Object.fromEntries(responseBytes),
    close: async () => {
      s3.destroy();
      sqs.destroy();
      await secrets.close();
      await events.close();
      await app.close();
    },
  };
}

/** A queue with the stack's redrive to its own DLQ, created through the SDK as a deployment would have it. */
export async function createQueueWithDlq(
  sqs: SQSClient,
  name: string,
  settings: { visibilityTimeoutSeconds: number; maxReceiveCount: number },
): Promise<{ queueUrl: string; dlqUrl: string }> {
  const dlq = await sqs.send(
    new CreateQueueCommand({
      QueueName: `${name}-dlq`,
      Attributes: { MessageRetentionPeriod: String(DEPLOYMENT_DEFAULTS.dlqRetentionDays * 86_400) },
    }),
  );
  const dlqUrl = dlq.QueueUrl as string;
  const dlqArn = (await sqs.send(new GetQueueAttributesCommand({ QueueUrl: dlqUrl, AttributeNames: ["QueueArn"] })))
    .Attributes?.QueueArn as string;
  const queue = await sqs.send(
    new CreateQueueCommand({
      QueueName: name,
      Attributes: {
        VisibilityTimeout: String(settings.visibilityTimeoutSeconds),
        MessageRetentionPeriod: String(DEPLOYMENT_DEFAULTS.ingestionQueueRetentionDays * 86_400),
        RedrivePolicy: JSON.stringify({ deadLetterTargetArn: dlqArn, maxReceiveCount: settings.maxReceiveCount }),
      },
    }),
  );
  return { queueUrl: queue.QueueUrl as string, dlqUrl };
}

const PRECONDITION_FAILED =
  '<?xml version="1.0" encoding="UTF-8"?><Error><Code>PreconditionFailed</Code><Message>At least one of the pre-conditions you specified did not hold</Message></Error>';
const NO_SUCH_KEY =
  '<?xml version="1.0" encoding="UTF-8"?><Error><Code>NoSuchKey</Code><Message>The specified key does not exist.</Message></Error>';

const INTERNAL_HEADER = "x-local-aws-internal";

/**
 * Counts the requests clients make, by service and operation (`s3:PUT`, `sqs:SendMessageBatch`), and the response
 * body bytes sent for them, for the bench.
 */
function countRequests(
  app: ReturnType<typeof buildApp>,
  counts: Map<string, number>,
  responseBytes: Map<string, number>,
): void {
  const names = new WeakMap<object, string>();
  app.addHook("onRequest", async (request) => {
    if (request.headers[INTERNAL_HEADER]) return;
    const target = request.headers["x-amz-target"];
    const url = new URL(request.raw.url ?? "/", "http://local");
    const name =
      typeof target === "string"
        ? `sqs:${target.split(".").pop()}`
        : url.searchParams.has("list-type")
          ? "s3:LIST"
          : `s3:${request.method}`;
    counts.set(name, (counts.get(name) ?? 0) + 1);
    names.set(request, name);
  });
  app.addHook("onSend", async (request, _reply, payload) => {
    const name = names.get(request);
    if (name === undefined) return payload;
    // The emulator answers with Buffers and strings (an object's body is one Buffer, or its ranged slice).
    const bytes = Buffer.isBuffer(payload)
      ? payload.length
      : typeof payload === "string"
        ? Buffer.byteLength(payload)
        : 0;
    responseBytes.set(name, (responseBytes.get(name) ?? 0) + bytes);
    return payload;
  });
}

/**
 * The emulator ignores S3's conditional writes (`If-None-Match: *` / `If-Match` on PutObject and DeleteObject),
 * which the bulk job slots rely on. This adds them the way S3 has them: writes to one key are serialized, and a
 * write whose condition fails answers 412 PreconditionFailed (If-Match on a missing key: 404 NoSuchKey).
 */
function addConditionalWrites(app: ReturnType<typeof buildApp>): void {
  const locks = new Map<string, Promise<void>>();
  const releases = new WeakMap<object, () => void>();
  app.addHook("preHandler", async (request, reply) => {
    const url = new URL(request.raw.url ?? "/", "http://local");
    // Object writes only; multipart part uploads do not create the object and need no ordering.
    const isObjectWrite =
      (request.method === "PUT" || request.method === "DELETE") &&
      url.pathname.split("/").filter(Boolean).length >= 2 &&
      !url.searchParams.has("uploadId");
    if (!isObjectWrite) return;
    const path = url.pathname;
    const previous = locks.get(path) ?? Promise.resolve();
    let release: () => void = () => {};
    const mine = new Promise<void>((resolve) => {
      release = resolve;
    });
    const chained = previous.then(() => mine);
    locks.set(path, chained);
    releases.set(request, () => {
      release();
      if (locks.get(path) === chained) locks.delete(path);
    });
    await previous;
    const ifNoneMatch = request.headers["if-none-match"];
    const ifMatch = request.headers["if-match"];
    if (ifNoneMatch === undefined && ifMatch === undefined) return;
    const head = await app.inject({ method: "HEAD", url: path, headers: { [INTERNAL_HEADER]: "1" } });
    const exists = head.statusCode === 200;
    const etag = String(head.headers.etag ?? "").replace(/"/g, "");
    const fail = (status: number, body: string) =>
      reply.code(status).header("content-type", "application/xml").send(body);
    if (ifNoneMatch === "*" && exists) return fail(412, PRECONDITION_FAILED);
    if (ifMatch !== undefined && !exists) return fail(404, NO_SUCH_KEY);
    if (ifMatch !== undefined && String(ifMatch).replace(/"/g, "") !== etag) return fail(412, PRECONDITION_FAILED);
  });
  const releaseLock = async (request: object) => {
    releases.get(request)?.();
    releases.delete(request);
  };
  app.addHook("onResponse", releaseLock);
  app.addHook("onRequestAbort", releaseLock);
}
