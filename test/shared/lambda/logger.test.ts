import { Logger } from "@aws-lambda-powertools/logger";
import { afterEach, describe, expect, it, vi } from "vitest";
import { lambdaContext } from "../../../local/lambda-context.ts";
import { withLambdaContext } from "../../../shared/lambda/logger.ts";

afterEach(() => vi.restoreAllMocks());

function captureStdout(): () => Record<string, unknown>[] {
  const lines: string[] = [];
  vi.spyOn(process.stdout, "write").mockImplementation((chunk: string | Uint8Array) => {
    lines.push(String(chunk));
    return true;
  });
  return () =>
    lines
      .join("")
      .split("\n")
      .filter((line) => line.startsWith("{"))
      .map((line) => JSON.parse(line) as Record<string, unknown>);
}

describe("withLambdaContext", () => {
  it("puts the request id, function name and cold-start flag on every line, and never the event", async () => {
    const logs = captureStdout();
    const logger = new Logger({ serviceName: "probe", logLevel: "INFO" });
    const handler = withLambdaContext(logger, async (event: { email: string }) => {
      logger.info("handled", { count: 1 });
      return event.email.length;
    });

    await handler({ email: "secret@example.com" }, lambdaContext("splitter", { requestId: "req-1" }));
    await handler({ email: "secret@example.com" }, lambdaContext("splitter", { requestId: "req-2" }));

    const lines = logs();
    expect(lines.map((l) => [l.message, l.function_request_id, l.function_name])).toEqual([
      ["handled", "req-1", "splitter"],
      ["handled", "req-2", "splitter"],
    ]);
    // Powertools decides the first flag from the runtime's environment; a second invocation is warm in any case.
    expect(typeof lines[0]?.cold_start).toBe("boolean");
    expect(lines[1]?.cold_start).toBe(false);
    expect(JSON.stringify(lines)).not.toContain("secret@example.com");
  });
});
