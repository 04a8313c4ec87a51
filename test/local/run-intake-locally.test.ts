import { describe, expect, it } from "vitest";
import { sendIntakeMessages } from "../../local/intake-producer.ts";
import { runIntakeLocally } from "../../local/run-intake-locally.ts";
import { useHarness } from "../e2e/harness.ts";

const h = useHarness();

describe("the local intake run, as the bench measures it", () => {
  it("reports every intake invocation with its SQS message ids, when it started and when it returned", async () => {
    const bodies = [1, 2, 3].map((i) =>
      JSON.stringify({ v: 1, objectType: "persons", records: [{ email: `t${i}@example.com` }] }),
    );
    const ids = await sendIntakeMessages(h().aws.sqs, h().aws.intakeQueueUrl, bodies);
    const invocations: Array<{ messageIds: string[]; invokedAt: number; returnedAt: number }> = [];
    const startedAt = Date.now();
    await runIntakeLocally({
      aws: h().aws,
      marketo: h().secret,
      intakeEventSource: { batchingWindowMs: 1_000 },
      onIntakeInvocation: (invocation) => invocations.push(invocation),
    });

    expect(invocations.flatMap((i) => i.messageIds).sort()).toEqual([...ids].sort());
    for (const { invokedAt, returnedAt } of invocations) {
      expect(invokedAt).toBeGreaterThanOrEqual(startedAt);
      expect(returnedAt).toBeGreaterThanOrEqual(invokedAt);
    }
    // Each message reached Marketo after its invocation returned (the bench's "sender" stage is never negative).
    const lastReturn = Math.max(...invocations.map((i) => i.returnedAt));
    expect(h().sim.requests.every((r) => r.receivedAt >= Math.min(...invocations.map((i) => i.returnedAt)))).toBe(true);
    expect(lastReturn).toBeLessThanOrEqual(Date.now());
  });
});
