import { randomUUID } from "node:crypto";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";

/** An event as a bus received it (its detail parsed), in arrival order. */
export interface ReceivedEvent {
  id: string;
  bus: string;
  source: string;
  detailType: string;
  detail: unknown;
  resources: string[];
}

export interface EventBridgeEmulator {
  /** Endpoint for AWS_ENDPOINT_URL_EVENTBRIDGE. */
  readonly url: string;
  /** A bus that takes events (`default` always exists); PutEvents to any other bus is refused. */
  createEventBus(name: string): void;
  /** Events accepted so far, on every bus. */
  events(): ReceivedEvent[];
  /** The next `count` entries fail one by one with `code` (retryable ones: InternalFailure, ThrottlingException). */
  failNextEntries(count: number, code?: string): void;
  /** PutEvents calls answered so far (failed entries included). */
  readonly putEventsCalls: number;
  close(): Promise<void>;
}

/** PutEvents takes 1..10 entries and at most 256 KB in all (the sizes as EventBridge counts them). */
const MAX_ENTRIES = 10;
const MAX_REQUEST_BYTES = 256 * 1024;

interface RequestEntry {
  EventBusName?: unknown;
  Source?: unknown;
  DetailType?: unknown;
  Detail?: unknown;
  Resources?: unknown;
  Time?: unknown;
}

/**
 * The one EventBridge call the report writer makes (PutEvents, AWS JSON 1.1), on 127.0.0.1, so tests and local
 * runs go through the real `@aws-sdk/client-eventbridge`. The S3/SQS emulator has no EventBridge. Entries are
 * checked as the service checks them: a whole request refused (400) for a bad shape, an unknown bus or its size;
 * an entry refused alone (200, `FailedEntryCount`) for a detail that is not a JSON object or an injected fault.
 */
export async function startEventBridgeEmulator(): Promise<EventBridgeEmulator> {
  const buses = new Set(["default"]);
  const received: ReceivedEvent[] = [];
  const faults: string[] = [];
  let calls = 0;
  const server: Server = createServer((req, res) => {
    void readBody(req).then((body) => {
      calls++;
      handlePutEvents(req, body, res, { buses, received, faults });
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  server.unref();
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    createEventBus: (name) => void buses.add(name),
    events: () => [...received],
    failNextEntries: (count, code = "InternalFailure") => {
      for (let i = 0; i < count; i++) faults.push(code);
    },
    get putEventsCalls() {
      return calls;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

async function readBody(req: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

function handlePutEvents(
  req: IncomingMessage,
  body: Buffer,
  res: ServerResponse,
  state: { buses: Set<string>; received: ReceivedEvent[]; faults: string[] },
): void {
  const reply = (status: number, payload: unknown) => {
    res.writeHead(status, { "content-type": "application/x-amz-json-1.1" });
    res.end(JSON.stringify(payload));
  };
  const refuse = (type: string, message: string) => reply(400, { __type: type, message });
  if (req.headers["x-amz-target"] !== "AWSEvents.PutEvents") {
    return refuse("UnknownOperationException", "only PutEvents is emulated");
  }
  let entries: RequestEntry[];
  try {
    entries = (JSON.parse(body.toString("utf8")) as { Entries?: RequestEntry[] }).Entries ?? [];
  } catch {
    return refuse("SerializationException", "body is not JSON");
  }
  if (!Array.isArray(entries) || entries.length < 1 || entries.length > MAX_ENTRIES) {
    return refuse("ValidationException", `Entries must hold 1 to ${MAX_ENTRIES} entries`);
  }
  if (entrySizes(entries) > MAX_REQUEST_BYTES) {
    return refuse("ValidationException", `Total size of the entries in the request is over the limit`);
  }
  for (const entry of entries) {
    if (typeof entry.Source !== "string" || typeof entry.DetailType !== "string" || typeof entry.Detail !== "string") {
      return refuse("ValidationException", "each entry needs Source, DetailType and Detail");
    }
    const bus = busName(entry.EventBusName);
    if (!state.buses.has(bus)) return refuse("ResourceNotFoundException", `Event bus ${bus} does not exist.`);
  }
  const answers = entries.map((entry) => {
    const fault = state.faults.shift();
    if (fault) return { ErrorCode: fault, ErrorMessage: `injected ${fault}` };
    let detail: unknown;
    try {
      detail = JSON.parse(entry.Detail as string);
    } catch {
      detail = undefined;
    }
    if (detail === null || typeof detail !== "object" || Array.isArray(detail)) {
      return { ErrorCode: "MalformedDetail", ErrorMessage: "Detail is malformed." };
    }
    const id = randomUUID();
    state.received.push({
      id,
      bus: busName(entry.EventBusName),
      source: entry.Source as string,
      detailType: entry.DetailType as string,
      detail,
      resources: Array.isArray(entry.Resources) ? (entry.Resources as string[]) : [],
    });
    return { EventId: id };
  });
  reply(200, { FailedEntryCount: answers.filter((a) => !("EventId" in a)).length, Entries: answers });
}

/** A bus is named by its name or its ARN (`arn:aws:events:{region}:{account}:event-bus/{name}`). */
const busName = (value: unknown): string =>
  typeof value === "string" && value !== ""
    ? value.replace(/^arn:[^:]+:events:[^:]*:[^:]*:event-bus\//, "")
    : "default";

/** How EventBridge sizes entries: Source, DetailType, Detail and Resources in UTF-8, plus 14 bytes for a Time. */
function entrySizes(entries: RequestEntry[]): number {
  const text = (value: unknown) => (typeof value === "string" ? Buffer.byteLength(value) : 0);
  return entries.reduce(
    (sum, entry) =>
      sum +
      (entry.Time !== undefined ? 14 : 0) +
      text(entry.Source) +
      text(entry.DetailType) +
      text(entry.Detail) +
      (Array.isArray(entry.Resources) ? entry.Resources.reduce<number>((n, r) => n + text(r), 0) : 0),
    0,
  );
}
