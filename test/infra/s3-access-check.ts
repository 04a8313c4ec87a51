import { createServer, request as httpRequest, type Server } from "node:http";
import type { AddressInfo } from "node:net";

/** One S3 request as it went over the wire (path-style: `/{bucket}/{key}`). */
export interface S3Request {
  method: string;
  bucket: string;
  /** Decoded object key; empty for a bucket-level request. */
  key: string;
  query: URLSearchParams;
  /** The `x-amz-tagging` header, when the request tags the object it writes. */
  tagging?: string;
}

/** A loopback HTTP proxy in front of the S3 emulator that records every request a bundle makes. */
export interface S3RequestRecorder {
  readonly url: string;
  readonly requests: S3Request[];
  close(): Promise<void>;
}

export async function startS3RequestRecorder(upstream: string): Promise<S3RequestRecorder> {
  const target = new URL(upstream);
  const requests: S3Request[] = [];
  const server: Server = createServer((incoming, outgoing) => {
    const url = new URL(incoming.url ?? "/", "http://recorder");
    const [bucket = "", ...keyParts] = url.pathname.slice(1).split("/");
    requests.push({
      method: incoming.method ?? "GET",
      bucket: decodeURIComponent(bucket),
      key: keyParts.map(decodeURIComponent).join("/"),
      query: url.searchParams,
      ...(typeof incoming.headers["x-amz-tagging"] === "string" ? { tagging: incoming.headers["x-amz-tagging"] } : {}),
    });
    const forwarded = httpRequest(
      {
        host: target.hostname,
        port: target.port,
        method: incoming.method,
        path: incoming.url,
        headers: incoming.headers,
      },
      (answer) => {
        outgoing.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(outgoing);
      },
    );
    forwarded.on("error", () => outgoing.destroy());
    incoming.pipe(forwarded);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    requests,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** The IAM actions S3 authorizes a request against (the REST API's documented mapping, for the calls we make). */
export function s3ActionsOf(request: S3Request): string[] {
  const { method, key, query } = request;
  if (!key) return ["s3:ListBucket"];
  if (method === "GET" || method === "HEAD") return [query.has("versionId") ? "s3:GetObjectVersion" : "s3:GetObject"];
  if (method === "DELETE") return [query.has("uploadId") ? "s3:AbortMultipartUpload" : "s3:DeleteObject"];
  // PUT (object, part) and POST (create or complete a multipart upload); tagging on write needs its own action.
  return request.tagging ? ["s3:PutObject", "s3:PutObjectTagging"] : ["s3:PutObject"];
}

interface Statement {
  Effect: string;
  Action: string | string[];
  Resource: unknown;
}

/**
 * The requests `statements` do not allow: actions and resources matched the way IAM matches them (`*` and `?`
 * wildcards); template references rendered by `renderReference` (e.g. a bucket's `Fn::GetAtt` to its local ARN).
 */
export function requestsNotAllowed(
  requests: readonly S3Request[],
  statements: readonly Statement[],
  renderReference: (reference: Record<string, unknown>) => string,
): string[] {
  const render = (value: unknown): string => {
    if (typeof value === "string") return value;
    const node = value as Record<string, unknown>;
    if ("Fn::Join" in node) {
      const [separator, parts] = node["Fn::Join"] as [string, unknown[]];
      return parts.map(render).join(separator);
    }
    return renderReference(node);
  };
  const glob = (pattern: string) =>
    new RegExp(
      `^${pattern
        .replace(/[.+^${}()|[\]\\]/g, "\\$&")
        .replace(/\*/g, ".*")
        .replace(/\?/g, ".")}$`,
    );
  const allows = statements
    .filter((statement) => statement.Effect === "Allow")
    .map((statement) => ({
      actions: [statement.Action].flat().map(glob),
      resources: [statement.Resource].flat().map((resource) => glob(render(resource))),
    }));
  return requests.flatMap((request) => {
    const arn = `arn:aws:s3:::${request.bucket}${request.key ? `/${request.key}` : ""}`;
    return s3ActionsOf(request)
      .filter(
        (action) =>
          !allows.some(
            (allow) => allow.actions.some((a) => a.test(action)) && allow.resources.some((r) => r.test(arn)),
          ),
      )
      .map((action) => `${action} on ${arn}`);
  });
}
