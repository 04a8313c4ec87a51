import type { S3Client } from "@aws-sdk/client-s3";
import {
  type ActivePause,
  FLEET_PAUSE_KEY,
  type FleetPause,
  type FleetPauseRecord,
  FleetPauseRecordSchema,
} from "../contracts/fleet-pause.ts";
import type { Clock } from "../time/clock.ts";
import { putJsonIf, readVersionedJson } from "./s3-conditional.ts";

export interface S3FleetPauseOptions {
  bucket: string;
  key?: string;
  /**
   * How long a read of the marker is trusted. Other senders learn of a new pause within this long; the sender
   * that recorded it knows at once. Bounds S3 reads to one per sender process per `cacheMs`.
   */
  cacheMs: number;
  clock: Clock;
}

/** Conditional-write races lost in a row before a pause is left to the writers that won (their pause is as good). */
const MAX_WRITE_RACES = 5;

/**
 * The fleet-wide pause as one small JSON object in the work bucket. Written with conditional writes (`If-None-Match`
 * to create, `If-Match` to extend), so concurrent senders never shorten each other's pause; read through an
 * in-process cache so the marker costs one GET per process per `cacheMs`, not one per request.
 */
export class S3FleetPause implements FleetPause {
  private cached: { pause: ActivePause | undefined; readAt: number } | undefined;
  private readonly key: string;

  constructor(
    private readonly s3: S3Client,
    private readonly options: S3FleetPauseOptions,
  ) {
    this.key = options.key ?? FLEET_PAUSE_KEY;
  }

  async current(): Promise<ActivePause | undefined> {
    const now = this.options.clock.now();
    if (!this.cached || now - this.cached.readAt >= this.options.cacheMs) {
      const stored = await this.read();
      this.cached = { pause: later(stored?.pause, this.cached?.pause), readAt: now };
    }
    const pause = this.cached.pause;
    return pause && pause.until > now ? pause : undefined;
  }

  async pauseUntil(pause: ActivePause): Promise<void> {
    // This process holds back at once, whatever happens to the write.
    this.cached = { pause: later(pause, this.cached?.pause), readAt: this.cached?.readAt ?? this.options.clock.now() };
    for (let race = 0; race < MAX_WRITE_RACES; race++) {
      const stored = await this.read();
      if (stored?.pause && stored.pause.until >= pause.until) {
        this.cached = { pause: later(stored.pause, this.cached.pause), readAt: this.options.clock.now() };
        return;
      }
      const record: FleetPauseRecord = {
        v: 1,
        until: pause.until,
        reason: pause.reason,
        code: pause.code.slice(0, 64),
        recordedAt: new Date(this.options.clock.now()).toISOString(),
      };
      const condition = stored ? { IfMatch: stored.etag } : ({ IfNoneMatch: "*" } as const);
      if ((await putJsonIf(this.s3, this.options.bucket, this.key, record, condition)) !== undefined) return;
    }
  }

  /** The stored pause and its ETag; a marker that fails its schema counts as no pause (and is overwritten). */
  private async read(): Promise<{ pause: ActivePause | undefined; etag: string } | undefined> {
    const stored = await readVersionedJson<unknown>(this.s3, this.options.bucket, this.key);
    if (!stored) return undefined;
    const parsed = FleetPauseRecordSchema.safeParse(stored.value);
    if (!parsed.success) return { pause: undefined, etag: stored.etag };
    const { until, reason, code } = parsed.data;
    return { pause: { until, reason, code }, etag: stored.etag };
  }
}

const later = (a: ActivePause | undefined, b: ActivePause | undefined): ActivePause | undefined =>
  !a ? b : !b ? a : a.until >= b.until ? a : b;
