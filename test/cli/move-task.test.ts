import {
  ListMessageMoveTasksCommand,
  type ListMessageMoveTasksResultEntry,
  StartMessageMoveTaskCommand,
} from "@aws-sdk/client-sqs";
import { afterEach, describe, expect, it, vi } from "vitest";
import { moveWithTask } from "../../cli/stack-commands.ts";

/** SQS's move-task API, scripted (the local emulator does not have it): each ListMessageMoveTasks answers the next. */
function scriptedSqs(tasks: ListMessageMoveTasksResultEntry[]) {
  const calls: Array<{ name: string; input: unknown }> = [];
  return {
    calls,
    send: vi.fn(async (command: { constructor: { name: string }; input: unknown }) => {
      calls.push({ name: command.constructor.name, input: command.input });
      if (command instanceof StartMessageMoveTaskCommand) return { TaskHandle: "h1" };
      if (command instanceof ListMessageMoveTasksCommand) return { Results: [tasks.shift()] };
      throw new Error(`unexpected ${command.constructor.name}`);
    }),
  };
}

afterEach(() => vi.restoreAllMocks());

describe("redrive with StartMessageMoveTask", () => {
  it("starts one task from the DLQ to its queue and reports progress until it completes", async () => {
    const stderr = vi.spyOn(process.stderr, "write").mockImplementation(() => true);
    vi.spyOn(console, "error").mockImplementation((line: string) => void stderr(`${line}\n`));
    const sqs = scriptedSqs([
      { Status: "RUNNING", ApproximateNumberOfMessagesMoved: 1, ApproximateNumberOfMessagesToMove: 3 },
      { Status: "COMPLETED", ApproximateNumberOfMessagesMoved: 3, ApproximateNumberOfMessagesToMove: 3 },
    ]);
    await moveWithTask(sqs as never, "ingestion", "arn:dlq", "arn:queue", 1);
    expect(sqs.calls[0]).toEqual({
      name: "StartMessageMoveTaskCommand",
      input: { SourceArn: "arn:dlq", DestinationArn: "arn:queue" },
    });
    expect(sqs.calls.slice(1).map((c) => c.name)).toEqual([
      "ListMessageMoveTasksCommand",
      "ListMessageMoveTasksCommand",
    ]);
    const lines = stderr.mock.calls.map(([text]) => String(text));
    expect(lines).toEqual(["ingestion DLQ: moved 1 of 3 (RUNNING)\n", "ingestion DLQ: moved 3 of 3 (COMPLETED)\n"]);
  });

  it("a failed task is an error with SQS's reason", async () => {
    vi.spyOn(console, "error").mockImplementation(() => {});
    const sqs = scriptedSqs([{ Status: "FAILED", FailureReason: "AccessDenied on kms:Decrypt" }]);
    await expect(moveWithTask(sqs as never, "bulk", "arn:dlq", "arn:queue", 1)).rejects.toThrow(
      "bulk DLQ: the move task failed: AccessDenied on kms:Decrypt",
    );
  });
});
