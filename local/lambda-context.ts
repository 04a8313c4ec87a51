import { randomUUID } from "node:crypto";
import type { Context } from "aws-lambda";

/** A Lambda invocation context as the runtime hands it to a handler, for running handlers outside Lambda. */
export function lambdaContext(
  functionName: string,
  options: { requestId?: string; remainingMs?: () => number; memoryMb?: number } = {},
): Context {
  const fail = () => {
    throw new Error("the callback API is not used by these handlers");
  };
  return {
    callbackWaitsForEmptyEventLoop: false,
    functionName,
    functionVersion: "$LATEST",
    invokedFunctionArn: `arn:aws:lambda:local:000000000000:function:${functionName}`,
    memoryLimitInMB: String(options.memoryMb ?? 1024),
    awsRequestId: options.requestId ?? randomUUID(),
    logGroupName: `/aws/lambda/${functionName}`,
    logStreamName: "local",
    getRemainingTimeInMillis: options.remainingMs ?? (() => 900_000),
    done: fail,
    fail,
    succeed: fail,
  };
}
