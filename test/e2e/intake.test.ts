import { describe, expect, it } from "vitest";
import { sendIntakeMessages } from "../../local/intake-producer.ts";
import { type IntakeRunOptions, runIntakeLocally } from "../../local/run-intake-locally.ts";
import { FAST_RETRIES, useHarness } from "./harness.ts";

const h = useHarness();

const send = (messages: unknown[]) =>
  sendIntakeMessages(
    h().aws.sqs,
    h().aws.intakeQueueUrl,
    messages.map((m) => (typeof m === "string" ? m : JSON.stringify(m))),
  );
const runIntake = (extra: Partial<IntakeRunOptions> = {}) =>
  runIntakeLocally({
    aws: h().aws,
    marketo: h().secret,
    senderEnv: FAST_RETRIES,
    eventSource: { deadlineMs: 120_000 },
    intakeEventSource: { batchingWindowMs: 1_000 },
    ...extra,
  });
const accepted = () => h().sim.requests.filter((r) => r.status === 202);
const person = (i: number) => ({ email: `p${i}@example.com`, firstName: `P${i}` });

describe("intake: producers put records on the intake queue", () => {
  it("10,000 single-record persons messages reach Marketo in ≤ 11 requests, each within 1,000 objects and 1 MB", async () => {
    const messages = Array.from({ length: 10_000 }, (_, i) => ({ v: 1, objectType: "persons", records: [person(i)] }));
    const ids = await send(messages);
    const result = await runIntake();

    const requests = accepted();
    expect(requests.length).toBeLessThanOrEqual(11);
    for (const request of requests) {
      expect(request.objectCount).toBeLessThanOrEqual(1_000);
      expect(request.bodyBytes).toBeLessThanOrEqual(1_000_000);
    }
    expect(requests.reduce((sum, r) => sum + r.objectCount, 0)).toBe(10_000);
    const stored = h().sim.persons();
    expect(stored).toHaveLength(10_000);
    expect(stored.every((p) => p.writes === 1)).toBe(true);
    expect(result.summary).toMatchObject({ rowsRead: 10_000, accepted: 10_000, rejected: 0, failed: 0, pending: 0 });
    const outcomes = result.windows.flatMap((w) => w.messages);
    expect(new Set(outcomes.map((m) => m.messageId))).toEqual(new Set(ids));
    expect(outcomes.every((m) => m.status === "complete" && m.records.accepted === 1)).toBe(true);
  });
});
