import { randomUUID } from "node:crypto";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";

export interface SecretsManagerEmulator {
  /** Endpoint for AWS_ENDPOINT_URL_SECRETS_MANAGER. */
  readonly url: string;
  /** Creates the secret or rotates it: a new value and version, as `PutSecretValue` or a rotation would. */
  putSecret(name: string, value: string): void;
  /** GetSecretValue calls answered for `name` so far (how often the functions read it). */
  readCount(name: string): number;
  close(): Promise<void>;
}

/**
 * The one Secrets Manager call the sender makes (GetSecretValue, AWS JSON 1.1), on 127.0.0.1, so local runs and
 * tests exercise the real SDK path. The S3/SQS emulator has no Secrets Manager.
 */
export async function startSecretsManagerEmulator(): Promise<SecretsManagerEmulator> {
  const secrets = new Map<string, { value: string; versionId: string }>();
  const reads = new Map<string, number>();
  const server: Server = createServer((req, res) => {
    void handle(req, res, secrets, (name) => reads.set(name, (reads.get(name) ?? 0) + 1));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  server.unref();
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    putSecret: (name, value) => secrets.set(name, { value, versionId: randomUUID() }),
    readCount: (name) => reads.get(name) ?? 0,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

async function handle(
  req: IncomingMessage,
  res: ServerResponse,
  secrets: Map<string, { value: string; versionId: string }>,
  countRead: (name: string) => void,
): Promise<void> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  const reply = (status: number, body: unknown) => {
    res.writeHead(status, { "content-type": "application/x-amz-json-1.1" });
    res.end(JSON.stringify(body));
  };
  if (req.headers["x-amz-target"] !== "secretsmanager.GetSecretValue") {
    return reply(400, { __type: "UnknownOperationException", message: "only GetSecretValue is emulated" });
  }
  let secretId: unknown;
  try {
    secretId = (JSON.parse(Buffer.concat(chunks).toString("utf8")) as { SecretId?: unknown }).SecretId;
  } catch {
    return reply(400, { __type: "InvalidRequestException", message: "body is not JSON" });
  }
  const secret = typeof secretId === "string" ? secrets.get(secretId) : undefined;
  if (!secret || typeof secretId !== "string") {
    return reply(400, {
      __type: "ResourceNotFoundException",
      message: "Secrets Manager can't find the specified secret.",
    });
  }
  countRead(secretId);
  reply(200, {
    ARN: `arn:aws:secretsmanager:us-east-1:000000000000:secret:${secretId}`,
    Name: secretId,
    SecretString: secret.value,
    VersionId: secret.versionId,
    VersionStages: ["AWSCURRENT"],
    CreatedDate: Date.now() / 1000,
  });
}
