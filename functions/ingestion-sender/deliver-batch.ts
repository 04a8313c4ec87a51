import { asMarketoFailure, type MarketoFailure } from "../../shared/marketo/errors.ts";
import type { IngestionClient } from "../../shared/marketo/ingestion-client.ts";
import { type BackoffPolicy, retryDelayMs } from "../../shared/marketo/backoff.ts";
import type { Clock } from "../../shared/time/clock.ts";
import type { BatchMessage } from "../../shared/contracts/batch-message.ts";
import { ingestionResource } from "../../shared/options/object-route.ts";
import { batchCorrelationId } from "./correlation-id.ts";
import type { ActivePause, FleetPause } from "../../shared/contracts/fleet-pause.ts";
import { nextMarketoDailyReset } from "../../shared/time/marketo-day.ts";

export interface DeliveryPolicy {
  /** Tries within one invocation before handing the message back to the queue. */
  inProcessAttempts: number;
  /** Longest wait worth spending inside an invocation; longer waits go back to the queue. */
  inProcessMaxDelayMs: number;
  backoff: BackoffPolicy;
  /** How long to park a batch when the daily quota is spent (it looks at the fleet's pause again then). */
  quotaDelayMs: number;
  /**
   * Longest fleet pause after `4290801`; by default the pause lasts until Marketo's reset (00:00 US Central).
   * Shorter only for sandboxes and tests whose quota does not follow that clock.
   */
  quotaPauseMaxMs?: number;
  /** Byte limit of one request body (a message over it is a bug upstream, and is failed, not sent). */
  maxRequestBytes: number;
  /** How long one request may take: a retry here must fit in what is left of the invocation. */
  requestTimeoutMs: number;
}

export type Delivery =
  | { status: "accepted"; requestId: string; tries: number }
  | { status: "failed"; failure: MarketoFailure; tries: number }
  | { status: "retry-later"; failure: MarketoFailure; delayMs: number; tries: number }
  /** The fleet is paused (another sender's 429 or the daily quota): nothing was sent, and no attempt is spent. */
  | { status: "paused"; pause: ActivePause; delayMs: number; tries: number };

export interface DeliveryContext {
  /** Earlier deliveries of this batch that failed transiently (0 on the first): the backoff grows with them. */
  failedDeliveries: number;
  /** Milliseconds left in the invocation. */
  remainingMs: () => number;
}

export interface DeliveryDeps {
  client: Pick<IngestionClient, "submit">;
  clock: Clock;
  random: () => number;
  policy: DeliveryPolicy;
  /** The pause shared by every sender of the deployment; without it each batch learns Marketo's limits alone. */
  fleetPause?: FleetPause;
}

/** Time kept free after the last request of an invocation, to write the outcome and change visibility. */
export const SETTLE_MARGIN_MS = 5_000;

/**
 * Sends one batch's `body` (the exact text the splitter counted, see requestBodyOf) to the resource its object
 * type names: short transient failures are retried in place, longer ones are handed back to the queue with a
 * backoff delay, and permanent ones end as a failure to report. Never throws for Marketo's answers.
 */
export async function deliverBatch(
  message: BatchMessage,
  body: string,
  ctx: DeliveryContext,
  deps: DeliveryDeps,
): Promise<Delivery> {
  const resource = ingestionResource(message);
  const bytes = Buffer.byteLength(body);
  if (bytes > deps.policy.maxRequestBytes) {
    return {
      status: "failed",
      tries: 0,
      failure: {
        operation: `POST /${resource}`,
        disposition: "permanent",
        code: "request_too_large",
        message: `batch body is ${bytes} bytes, over the ${deps.policy.maxRequestBytes}-byte limit`,
      },
    };
  }
  const correlationId = batchCorrelationId(message.file, message.batch.index);
  for (let tries = 0; ;) {
    // Before every request: another sender may have been told to hold back (429 + Retry-After, daily quota).
    const pause = await deps.fleetPause?.current();
    if (pause) {
      const waitMs = pause.until - deps.clock.now();
      if (fitsInProcess(waitMs, ctx, deps.policy)) {
        await deps.clock.sleep(waitMs);
        continue;
      }
      return { status: "paused", pause, delayMs: Math.min(waitMs, deps.policy.quotaDelayMs), tries };
    }
    tries++;
    try {
      // A wait for the identity service (its Retry-After) must leave room for the request and settling, as below.
      const maxWaitMs = Math.max(
        0,
        Math.min(deps.policy.inProcessMaxDelayMs, ctx.remainingMs() - deps.policy.requestTimeoutMs - SETTLE_MARGIN_MS),
      );
      const accepted = await deps.client.submit({ resource, body, correlationId, maxWaitMs });
      return { status: "accepted", requestId: accepted.requestId, tries };
    } catch (error) {
      const failure = asMarketoFailure(error, `POST /${resource}`);
      if (failure.disposition === "permanent") return { status: "failed", failure, tries };
      if (failure.disposition === "quota") {
        // Spent for everyone until Marketo's reset: the whole fleet stops instead of each batch finding out.
        const now = deps.clock.now();
        const until = Math.min(nextMarketoDailyReset(now), now + (deps.policy.quotaPauseMaxMs ?? Infinity));
        await deps.fleetPause?.pauseUntil({ until, reason: "daily-quota", code: failure.code });
        const delayMs = Math.min(until - deps.clock.now(), deps.policy.quotaDelayMs);
        return { status: "retry-later", failure, delayMs, tries };
      }
      if (failure.status === 429 && failure.retryAfterMs !== undefined) {
        // Marketo said when this client id may send again: no sender of the fleet sends before then.
        const until = deps.clock.now() + failure.retryAfterMs;
        await deps.fleetPause?.pauseUntil({ until, reason: "rate-limit", code: failure.code });
      }
      const attempt = ctx.failedDeliveries * deps.policy.inProcessAttempts + tries;
      const delayMs = retryDelayMs(attempt, deps.policy.backoff, deps.random, failure.retryAfterMs);
      const canWaitHere = tries < deps.policy.inProcessAttempts && fitsInProcess(delayMs, ctx, deps.policy);
      if (!canWaitHere) return { status: "retry-later", failure, delayMs, tries };
      await deps.clock.sleep(delayMs);
    }
  }
}

/** Another try here needs the wait, a whole request timeout and time to settle, or Lambda kills it mid-way. */
function fitsInProcess(delayMs: number, ctx: DeliveryContext, policy: DeliveryPolicy): boolean {
  return (
    delayMs <= policy.inProcessMaxDelayMs && ctx.remainingMs() - delayMs - policy.requestTimeoutMs > SETTLE_MARGIN_MS
  );
}
