import { z } from "zod";

/**
 * What Lambda sends to the splitter's on-failure destination once an asynchronous invocation failed for good
 * (its retries exhausted, or the event too old): the original event, and why the last attempt ended.
 * Only the fields the pipeline reads are checked; Lambda adds others (functionArn, responseContext, …).
 */
export const SplitFailureRecordSchema = z.object({
  timestamp: z.string().optional(),
  requestContext: z.object({
    requestId: z.string(),
    /** `RetriesExhausted` or `EventAgeExceeded`. */
    condition: z.string(),
    approximateInvokeCount: z.number().int().nonnegative().optional(),
  }),
  requestPayload: z.unknown(),
  /** The last attempt's error as Lambda reports it (a timeout says "Task timed out after … seconds"). */
  responsePayload: z
    .object({ errorType: z.string().optional(), errorMessage: z.string().optional() })
    .loose()
    .nullish()
    .catch(undefined),
});
export type SplitFailureRecord = z.infer<typeof SplitFailureRecordSchema>;
