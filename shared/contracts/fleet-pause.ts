import { z } from "zod";

/**
 * Why every sender of this deployment holds back: Marketo answered 429 with `Retry-After` (`rate-limit`), or the
 * daily quota is spent (`daily-quota`, 4290801) until Marketo's reset at 00:00 US Central.
 */
export type PauseReason = "rate-limit" | "daily-quota";

/** The shared marker in the work bucket, one per deployment (one Marketo instance, one client id). */
export const FleetPauseRecordSchema = z
  .object({
    v: z.literal(1),
    /** No request leaves before this instant (epoch milliseconds). */
    until: z.number().int().nonnegative(),
    reason: z.enum(["rate-limit", "daily-quota"]),
    /** Marketo's error code that caused the pause (429001, 4290801…). */
    code: z.string().max(64),
    recordedAt: z.string(),
  })
  .strict();
export type FleetPauseRecord = z.infer<typeof FleetPauseRecordSchema>;

export interface ActivePause {
  until: number;
  reason: PauseReason;
  code: string;
}

/**
 * A pause every sender consults before each request to Marketo, so one sender's 429 or 4290801 holds back the
 * whole fleet instead of each batch discovering it alone.
 */
export interface FleetPause {
  /** The pause in force now, or undefined when senders may send (read through a short in-process cache). */
  current(): Promise<ActivePause | undefined>;
  /** Holds every sender back until `until`; a pause that already lasts longer is kept as it is. */
  pauseUntil(pause: ActivePause): Promise<void>;
}

/** Where the marker lives in the work bucket. */
export const FLEET_PAUSE_KEY = "fleet/ingestion-pause.json";
