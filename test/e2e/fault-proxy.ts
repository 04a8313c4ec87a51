import { createServer, type IncomingMessage, request } from "node:http";
import type { AddressInfo } from "node:net";

export interface FaultProxy {
  url: string;
  /** Requests seen per AWS JSON operation (`SendMessageBatch`, …). */
  seen: Map<string, number>;
  /** From now on, answer 500 to the operation once it has been passed `after` times in all. */
  failAfter(operation: string, after: number): void;
  heal(): void;
  close(): Promise<void>;
}

/**
 * An HTTP proxy on 127.0.0.1 in front of the emulator that fails one AWS JSON operation (by its X-Amz-Target)
 * after a number of calls: how a test stops a handler mid-work at a real network boundary.
 */
export async function startFaultProxy(target: string): Promise<FaultProxy> {
  const upstream = new URL(target);
  const seen = new Map<string, number>();
  let rule: { operation: string; after: number } | undefined;

  const server = createServer((req, res) => {
    const operation =
      String(req.headers["x-amz-target"] ?? "")
        .split(".")
        .pop() ?? "";
    const count = (seen.get(operation) ?? 0) + 1;
    seen.set(operation, count);
    if (rule && operation === rule.operation && count > rule.after) {
      req.resume();
      res.writeHead(500, { "content-type": "application/x-amz-json-1.0" });
      res.end(JSON.stringify({ __type: "com.amazonaws.sqs#InternalError", message: "injected by the fault proxy" }));
      return;
    }
    forward(req, upstream).then(
      (answer) => {
        res.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(res);
      },
      () => res.writeHead(502).end(),
    );
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  server.unref();
  const lifetime = setTimeout(() => server.close(), 5 * 60_000);
  lifetime.unref();
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    seen,
    failAfter: (operation, after) => {
      rule = { operation, after };
    },
    heal: () => {
      rule = undefined;
    },
    close: () =>
      new Promise<void>((resolve) => {
        clearTimeout(lifetime);
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

function forward(req: IncomingMessage, upstream: URL): Promise<IncomingMessage> {
  return new Promise((resolve, reject) => {
    const out = request(
      {
        host: upstream.hostname,
        port: upstream.port,
        method: req.method,
        path: req.url,
        headers: { ...req.headers, host: upstream.host },
      },
      resolve,
    );
    out.on("error", reject);
    req.pipe(out);
  });
}
