import { describe, expect, it } from "vitest";
import { nextMarketoDailyReset } from "../../../shared/time/marketo-day.ts";

const reset = (iso: string) => new Date(nextMarketoDailyReset(Date.parse(iso))).toISOString();

describe("Marketo's daily reset: the next 00:00 US Central", () => {
  it("is midnight CST (06:00 UTC) in winter and CDT (05:00 UTC) in summer", () => {
    expect(reset("2026-12-01T23:10:00Z")).toBe("2026-12-02T06:00:00.000Z");
    expect(reset("2026-07-01T04:59:00Z")).toBe("2026-07-01T05:00:00.000Z");
  });

  it("at midnight itself is the next day's", () => {
    expect(reset("2026-12-02T05:59:59Z")).toBe("2026-12-02T06:00:00.000Z");
    expect(reset("2026-12-02T06:00:00Z")).toBe("2026-12-03T06:00:00.000Z");
  });

  it("follows daylight saving on the days it changes", () => {
    // 2026-03-08: CST until 02:00, then CDT. The evening before, the reset is still CST midnight.
    expect(reset("2026-03-08T03:00:00Z")).toBe("2026-03-08T06:00:00.000Z");
    expect(reset("2026-03-08T12:00:00Z")).toBe("2026-03-09T05:00:00.000Z");
    // 2026-11-01: CDT until 02:00, then CST.
    expect(reset("2026-11-01T04:00:00Z")).toBe("2026-11-01T05:00:00.000Z");
    expect(reset("2026-11-01T12:00:00Z")).toBe("2026-11-02T06:00:00.000Z");
  });
});
