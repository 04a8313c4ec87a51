import { createServer, type IncomingMessage } from "node:http";
import type { AddressInfo } from "node:net";

/** A CloudWatch alarm as DescribeAlarms lists it (the fields `doctor` reads). */
export interface EmulatedAlarm {
  AlarmName: string;
  AlarmActions: string[];
  StateValue?: "OK" | "ALARM" | "INSUFFICIENT_DATA";
}

export interface StackEmulator {
  readonly url: string;
  /** Environment that points the SDK's CloudFormation and CloudWatch clients here. */
  readonly awsEnv: Record<string, string>;
  close(): Promise<void>;
}

const escapeXml = (text: string) =>
  text.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;");

/**
 * What a deployed stack adds to the S3/SQS emulator: CloudFormation `DescribeStacks` (AWS Query protocol, XML)
 * answering each stack's outputs, and CloudWatch `DescribeAlarms` (JSON 1.0) answering its alarms. The local
 * emulator has neither service; the CLI reaches both through the real SDK clients.
 */
export async function startStackEmulator(config: {
  stacks: Record<string, Record<string, string>>;
  alarms?: EmulatedAlarm[];
  /** Stack names whose DescribeStacks answers AccessDenied, as for a caller without the permission. */
  denied?: string[];
}): Promise<StackEmulator> {
  const server = createServer((req, res) => {
    void readBody(req).then((body) => {
      const target = req.headers["x-amz-target"];
      if (typeof target === "string" && target.endsWith(".DescribeAlarms")) {
        const prefix = (JSON.parse(body || "{}") as { AlarmNamePrefix?: string }).AlarmNamePrefix ?? "";
        const alarms = (config.alarms ?? []).filter((alarm) => alarm.AlarmName.startsWith(prefix));
        res.writeHead(200, { "content-type": "application/x-amz-json-1.0" });
        res.end(JSON.stringify({ MetricAlarms: alarms.map((alarm) => ({ StateValue: "OK", ...alarm })) }));
        return;
      }
      const params = new URLSearchParams(body);
      if (params.get("Action") !== "DescribeStacks") {
        res.writeHead(400, { "content-type": "text/xml" });
        res.end(queryError("InvalidAction", `${params.get("Action") ?? "?"} is not emulated`));
        return;
      }
      const name = params.get("StackName") ?? "";
      if (config.denied?.includes(name)) {
        res.writeHead(403, { "content-type": "text/xml" });
        res.end(queryError("AccessDenied", "User is not authorized to perform: cloudformation:DescribeStacks"));
        return;
      }
      const outputs = config.stacks[name];
      if (!outputs) {
        res.writeHead(400, { "content-type": "text/xml" });
        res.end(queryError("ValidationError", `Stack with id ${name} does not exist`));
        return;
      }
      const members = Object.entries(outputs)
        .map(
          ([key, value]) =>
            `<member><OutputKey>${escapeXml(key)}</OutputKey><OutputValue>${escapeXml(value)}</OutputValue></member>`,
        )
        .join("");
      res.writeHead(200, { "content-type": "text/xml" });
      res.end(
        `<DescribeStacksResponse xmlns="http://cloudformation.amazonaws.com/doc/2010-05-15/"><DescribeStacksResult><Stacks><member>` +
          `<StackName>${escapeXml(name)}</StackName><StackStatus>CREATE_COMPLETE</StackStatus>` +
          `<CreationTime>2026-01-01T00:00:00Z</CreationTime><Outputs>${members}</Outputs>` +
          `</member></Stacks></DescribeStacksResult><ResponseMetadata><RequestId>local</RequestId></ResponseMetadata></DescribeStacksResponse>`,
      );
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  server.unref();
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    url,
    awsEnv: { AWS_ENDPOINT_URL_CLOUDFORMATION: url, AWS_ENDPOINT_URL_CLOUDWATCH: url },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

function queryError(code: string, message: string): string {
  return `<ErrorResponse xmlns="http://cloudformation.amazonaws.com/doc/2010-05-15/"><Error><Type>Sender</Type><Code>${code}</Code><Message>${escapeXml(message)}</Message></Error><RequestId>local</RequestId></ErrorResponse>`;
}

async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString("utf8");
}
