import { EventBridgeClient } from "@aws-sdk/client-eventbridge";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import {
  EventBridgeWindowEvents,
  putEventsWithRetries,
  PutEventsError,
} from "../../../shared/aws/eventbridge-window-events.ts";
import {
  WINDOW_EVENT_DETAIL_TYPE,
  WINDOW_EVENT_SOURCE,
  type WindowFinishedDetail,
} from "../../../shared/contracts/intake-window-event.ts";
import { type EventBridgeEmulator, startEventBridgeEmulator } from "../../../local/eventbridge-emulator.ts";
import { FakeClock } from "../../support/fake-clock.ts";

let events: EventBridgeEmulator;
let client: EventBridgeClient;
beforeAll(async () => {
  events = await startEventBridgeEmulator();
  events.createEventBus("producers");
  // The real SDK, over HTTP to the loopback stand-in; its own whole-call retries are off so counts are exact.
  client = new EventBridgeClient({
    endpoint: events.url,
    region: "us-east-1",
    credentials: { accessKeyId: "local", secretAccessKey: "local" },
    maxAttempts: 1,
  });
});
afterAll(async () => {
  client.destroy();
  await events.close();
});

const detail: WindowFinishedDetail = {
  v: 1,
  windowKey: "intake/2026-12-02/req-1/1-persons.ndjson",
  windowId: "req-1",
  objectType: "persons",
  status: "complete",
  bucket: "work",
  reportKey: "reports/intake/2026-12-02/req-1/1-persons.ndjson/e1/report.json",
  messages: 1,
  records: { read: 1, accepted: 1, rejected: 0, failed: 0, deadLettered: 0 },
  failedMessageIds: [],
  rejectedMessageIds: [],
  deadLetteredMessageIds: [],
  messageIdsTruncated: false,
  finishedAt: "2026-12-02T01:00:00.000Z",
};
const entry = (n: number) => ({
  EventBusName: "producers",
  Source: "test",
  DetailType: "t",
  Detail: JSON.stringify({ n }),
});
let clock: FakeClock;
const retries = () => ({ maxAttempts: 4, backoff: { baseMs: 100, capMs: 1_000 }, clock, random: () => 0.5 });
let before: number;
beforeEach(() => {
  clock = new FakeClock(0);
  before = events.events().length;
});
const newEvents = () => events.events().slice(before);

describe("window events on EventBridge (PutEvents through the real SDK)", () => {
  it("publishes the window's detail once, from the versioned source and detail-type, to the named bus", async () => {
    const publisher = new EventBridgeWindowEvents(client, "producers", retries());
    await publisher.publish(detail);
    expect(newEvents()).toEqual([
      expect.objectContaining({
        bus: "producers",
        source: WINDOW_EVENT_SOURCE,
        detailType: WINDOW_EVENT_DETAIL_TYPE,
        detail,
      }),
    ]);
  });

  it("a bus named by its ARN is the same bus", async () => {
    const arn = "arn:aws:events:us-east-1:111122223333:event-bus/producers";
    await new EventBridgeWindowEvents(client, arn, retries()).publish(detail);
    expect(newEvents().map((e) => e.bus)).toEqual(["producers"]);
  });

  it("retries only the entries EventBridge failed one by one, with backoff, until each is in", async () => {
    events.failNextEntries(1, "ThrottlingException");
    // Entry 0 fails on the first call (1 and 2 get in); the second call carries entry 0 alone.
    const calls = events.putEventsCalls;
    await putEventsWithRetries(client, [entry(0), entry(1), entry(2)], retries());
    expect(newEvents().map((e) => (e.detail as { n: number }).n)).toEqual([1, 2, 0]);
    expect(events.putEventsCalls - calls).toBe(2);
    expect(clock.sleeps).toEqual([expect.any(Number)]);
    expect(clock.sleeps[0]).toBeGreaterThanOrEqual(50);
  });

  it("stops after maxAttempts for an entry that keeps failing, naming the bus, the attempts and the last code", async () => {
    events.failNextEntries(4, "InternalFailure");
    const calls = events.putEventsCalls;
    const error = await new EventBridgeWindowEvents(client, "producers", retries()).publish(detail).catch((e) => e);
    expect(error).toBeInstanceOf(PutEventsError);
    expect(error).toMatchObject({
      busName: "producers",
      attempts: 4,
      failures: [{ index: 0, code: "InternalFailure" }],
    });
    expect(events.putEventsCalls - calls).toBe(4);
    expect(newEvents()).toEqual([]);
  });

  it("an entry failed for good (MalformedDetail) is not retried", async () => {
    const calls = events.putEventsCalls;
    const error = await putEventsWithRetries(client, [{ ...entry(0), Detail: "[1]" }], retries()).catch((e) => e);
    expect(error).toMatchObject({ attempts: 1, failures: [{ code: "MalformedDetail" }] });
    expect(events.putEventsCalls - calls).toBe(1);
  });

  it("a bus that does not exist fails the whole call", async () => {
    const error = await new EventBridgeWindowEvents(client, "nobody", retries()).publish(detail).catch((e) => e);
    expect(error).toMatchObject({ name: "ResourceNotFoundException" });
  });
});
