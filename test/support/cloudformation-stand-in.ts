import { randomUUID } from "node:crypto";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";

export interface CloudFormationStandIn {
  /** Endpoint for AWS_ENDPOINT_URL_CLOUDFORMATION. */
  readonly url: string;
  /** A deployed stack and its outputs (key → value). */
  putStack(name: string, outputs: Record<string, string>): void;
  close(): Promise<void>;
}

const xml = (text: string) =>
  text.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;");

/**
 * DescribeStacks as CloudFormation answers it (AWS query protocol: a form-encoded request, an XML answer; a missing
 * stack is a 400 ValidationError), on 127.0.0.1, so the CLI's stack lookup runs through the real SDK.
 */
export async function startCloudFormationStandIn(): Promise<CloudFormationStandIn> {
  const stacks = new Map<string, Record<string, string>>();
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (chunk: Buffer) => chunks.push(chunk));
    req.on("end", () => {
      const form = new URLSearchParams(Buffer.concat(chunks).toString("utf8"));
      const requestId = randomUUID();
      const reply = (status: number, body: string) => {
        res.writeHead(status, { "content-type": "text/xml", "x-amzn-requestid": requestId });
        res.end(`<?xml version="1.0" encoding="UTF-8"?>\n${body}`);
      };
      const error = (code: string, message: string) =>
        reply(
          400,
          `<ErrorResponse xmlns="http://cloudformation.amazonaws.com/doc/2010-05-15/"><Error><Type>Sender</Type><Code>${code}</Code><Message>${xml(message)}</Message></Error><RequestId>${requestId}</RequestId></ErrorResponse>`,
        );
      if (form.get("Action") !== "DescribeStacks") return error("InvalidAction", "only DescribeStacks is emulated");
      const name = form.get("StackName") ?? "";
      const outputs = stacks.get(name);
      if (!outputs) return error("ValidationError", `Stack with id ${name} does not exist`);
      const members = Object.entries(outputs)
        .map(
          ([key, value]) =>
            `<member><OutputKey>${xml(key)}</OutputKey><OutputValue>${xml(value)}</OutputValue></member>`,
        )
        .join("");
      reply(
        200,
        `<DescribeStacksResponse xmlns="http://cloudformation.amazonaws.com/doc/2010-05-15/"><DescribeStacksResult><Stacks><member><StackName>${xml(name)}</StackName><StackId>arn:aws:cloudformation:us-east-1:000000000000:stack/${xml(name)}/${requestId}</StackId><CreationTime>2026-12-01T00:00:00.000Z</CreationTime><StackStatus>CREATE_COMPLETE</StackStatus><Outputs>${members}</Outputs></member></Stacks></DescribeStacksResult><ResponseMetadata><RequestId>${requestId}</RequestId></ResponseMetadata></DescribeStacksResponse>`,
      );
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  server.unref();
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    putStack: (name, outputs) => void stacks.set(name, outputs),
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
