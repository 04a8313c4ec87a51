/** Marketo resets its daily quotas (607 on REST, 4290801 on Data Ingestion) at 00:00 US Central time. */
export const MARKETO_QUOTA_TIME_ZONE = "America/Chicago";

const wallClock = new Intl.DateTimeFormat("en-US", {
  timeZone: MARKETO_QUOTA_TIME_ZONE,
  hourCycle: "h23",
  year: "numeric",
  month: "numeric",
  day: "numeric",
  hour: "numeric",
  minute: "numeric",
  second: "numeric",
});

/** The wall-clock time in Chicago at `instant`, read as if it were UTC (so the difference is the zone's offset). */
function wallTimeAsUtc(instant: number): { asUtc: number; year: number; month: number; day: number } {
  const parts = Object.fromEntries(
    wallClock.formatToParts(new Date(instant)).map((part) => [part.type, Number(part.value)]),
  ) as Record<string, number>;
  const [year, month, day] = [parts.year as number, parts.month as number, parts.day as number];
  const asUtc = Date.UTC(year, month - 1, day, parts.hour ?? 0, parts.minute ?? 0, parts.second ?? 0);
  return { asUtc, year, month, day };
}

/**
 * The next 00:00 in US Central time after `now` (epoch ms), daylight saving included: when a quota spent now is
 * available again. Midnight never falls in a DST transition (they happen at 02:00), so it is unambiguous.
 */
export function nextMarketoDailyReset(now: number): number {
  const wall = wallTimeAsUtc(now);
  const nextMidnightWall = Date.UTC(wall.year, wall.month - 1, wall.day + 1);
  const offsetNow = wall.asUtc - Math.floor(now / 1000) * 1000;
  const guess = nextMidnightWall - offsetNow;
  // The offset may change between now and midnight (DST): take the one in force at midnight.
  const offsetThen = wallTimeAsUtc(guess).asUtc - guess;
  return nextMidnightWall - offsetThen;
}
