import {
  type EventBridgeClient,
  PutEventsCommand,
  type PutEventsRequestEntry,
  type PutEventsResultEntry,
} from "@aws-sdk/client-eventbridge";
import {
  WINDOW_EVENT_DETAIL_TYPE,
  WINDOW_EVENT_SOURCE,
  type WindowEventPublisher,
  type WindowFinishedDetail,
} from "../contracts/intake-window-event.ts";
import { type BackoffPolicy, retryDelayMs } from "../marketo/backoff.ts";
import { type Clock, systemClock } from "../time/clock.ts";

/** Entries PutEvents kept failing after every attempt, with the last error EventBridge gave for each. */
export class PutEventsError extends Error {
  override readonly name = "PutEventsError";
  constructor(
    readonly busName: string,
    readonly attempts: number,
    readonly failures: Array<{ index: number; code: string; message: string }>,
  ) {
    const first = failures[0];
    super(
      `EventBridge bus ${busName} failed ${failures.length} event(s) after ${attempts} attempts` +
        (first ? ` (last: ${first.code} ${first.message})` : ""),
    );
  }
}

export interface PutEventsRetryOptions {
  /** Tries per entry, the first included. */
  maxAttempts: number;
  backoff: BackoffPolicy;
  clock?: Clock;
  random?: () => number;
}

/** Per-entry error codes EventBridge documents as retryable (PutEventsResultEntry); every other one is final. */
export const RETRYABLE_ENTRY_ERRORS: ReadonlySet<string> = new Set(["InternalFailure", "ThrottlingException"]);

/**
 * PutEvents, retrying only the entries EventBridge failed one by one with a retryable code (its answer is 200 with
 * `FailedEntryCount`, never an exception, for those), with equal-jitter backoff, at most `maxAttempts` times each.
 * An entry failed for good (MalformedDetail, AccessDeniedException, …) ends it at once. Errors of the whole call
 * (throttling, 5xx) are the SDK's own retries; what is left of them propagates. At most 10 entries.
 */
export async function putEventsWithRetries(
  client: EventBridgeClient,
  entries: PutEventsRequestEntry[],
  options: PutEventsRetryOptions,
): Promise<void> {
  const clock = options.clock ?? systemClock;
  let pending = entries.map((entry, index) => ({ entry, index }));
  for (let attempt = 1; ; attempt++) {
    const result = await client.send(new PutEventsCommand({ Entries: pending.map(({ entry }) => entry) }));
    const answers: Array<PutEventsResultEntry | undefined> = result.Entries ?? [];
    // Entries come back in request order; one without an EventId failed.
    const failed = pending
      .map((item, position) => ({ ...item, answer: answers[position] }))
      .filter(({ answer }) => !answer?.EventId);
    if (failed.length === 0) return;
    const final = failed.some(({ answer }) => !RETRYABLE_ENTRY_ERRORS.has(answer?.ErrorCode ?? ""));
    if (final || attempt >= options.maxAttempts) {
      throw new PutEventsError(
        entries[0]?.EventBusName ?? "default",
        attempt,
        failed.map(({ index, answer }) => ({
          index,
          code: answer?.ErrorCode ?? "NoEventId",
          message: answer?.ErrorMessage ?? "no event id in the answer",
        })),
      );
    }
    pending = failed.map(({ entry, index }) => ({ entry, index }));
    await clock.sleep(retryDelayMs(attempt, options.backoff, options.random ?? Math.random));
  }
}

/** Window events onto one bus (its name or ARN), one PutEvents entry per finished window. */
export class EventBridgeWindowEvents implements WindowEventPublisher {
  constructor(
    private readonly client: EventBridgeClient,
    private readonly busName: string,
    private readonly retries: PutEventsRetryOptions,
  ) {}

  publish(detail: WindowFinishedDetail): Promise<void> {
    return putEventsWithRetries(
      this.client,
      [
        {
          EventBusName: this.busName,
          Source: WINDOW_EVENT_SOURCE,
          DetailType: WINDOW_EVENT_DETAIL_TYPE,
          Detail: JSON.stringify(detail),
        },
      ],
      this.retries,
    );
  }
}
