import { z } from "zod";
import { int, requestLimits } from "../../shared/config/settings.ts";

/** The ingestion sender's environment, checked at cold start. */
export const SenderSettingsSchema = z
  .object({
    MARKETO_SECRET_ID: z.string().min(1),
    /** The secret is read again once older than this (a rotation reaches warm containers), and at once on 401. */
    SECRET_MAX_AGE_MS: int(0, 86_400_000, 300_000),
    INGESTION_QUEUE_URL: z.string().min(1),
    INGESTION_DLQ_URL: z.string().min(1),
    WORK_BUCKET: z.string().min(1),
    /** Receives before the sender moves a message to the DLQ itself (the queue's redrive is a higher safety net). */
    MAX_ATTEMPTS: int(1, 100, 8),
    REQUEST_TIMEOUT_MS: int(1_000, 120_000, 30_000),
    IN_PROCESS_ATTEMPTS: int(1, 10, 3),
    IN_PROCESS_MAX_DELAY_MS: int(0, 60_000, 5_000),
    RETRY_BASE_MS: int(0, 3_600_000, 2_000),
    /** SQS visibility can be extended to 12 h at most. */
    RETRY_CAP_MS: int(0, 43_200_000, 900_000),
    QUOTA_DELAY_MS: int(0, 43_200_000, 3_600_000),
    /** The fleet pauses after 4290801 until Marketo's reset (00:00 US Central), or for this long if shorter. */
    QUOTA_PAUSE_MAX_MS: int(1_000, 86_400_000, 86_400_000),
    /** A batch's owner message unseen for this long is gone (in the DLQ): longer than any wait it can be given. */
    CLAIM_TTL_MS: int(60_000, 172_800_000, 3 * 3_600_000),
    /** A copy of a batch another message is sending looks again after this long, doubling per delivery. */
    CLAIM_RECHECK_SECONDS: int(1, 900, 60),
    /** Sent as `X-Request-Source`: visible ASCII (what every HTTP client sends as is), at most Marketo's 50. */
    REQUEST_SOURCE: z
      .string()
      .min(1)
      .max(50)
      .regex(/^[\x21-\x7E]+$/, "visible ASCII only (no spaces, no accents)")
      .default("marketo-ingest"),
    /** How stale a sender's view of the fleet-wide pause may be: other senders learn of a 429 within this long. */
    FLEET_PAUSE_CACHE_MS: int(0, 60_000, 1_000),
    MAX_REQUEST_BYTES: requestLimits.MAX_REQUEST_BYTES,
  })
  .refine((s) => s.CLAIM_TTL_MS > Math.max(s.QUOTA_DELAY_MS, s.RETRY_CAP_MS), {
    path: ["CLAIM_TTL_MS"],
    message: "must be longer than QUOTA_DELAY_MS and RETRY_CAP_MS, or a waiting batch could be sent twice",
  });
export type SenderSettings = z.infer<typeof SenderSettingsSchema>;
