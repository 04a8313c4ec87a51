import { describe, expect, it } from "vitest";
import { classifyIngestionFailure, classifyRestErrorCode } from "../../../shared/marketo/errors.ts";
import { parseRetryAfter } from "../../../shared/marketo/http.ts";
import { retryDelayMs } from "../../../shared/marketo/backoff.ts";

describe("retryDelayMs", () => {
  const policy = { baseMs: 1_000, capMs: 60_000 };
  it("doubles per attempt between half and all of the step, up to the cap", () => {
    expect(retryDelayMs(1, policy, () => 0)).toBe(500);
    expect(retryDelayMs(1, policy, () => 1)).toBe(1_000);
    expect(retryDelayMs(4, policy, () => 0)).toBe(4_000);
    expect(retryDelayMs(20, policy, () => 1)).toBe(60_000);
  });
  it("never retries sooner than Retry-After", () => {
    expect(retryDelayMs(1, policy, () => 0, 30_000)).toBe(30_000);
  });
});

describe("parseRetryAfter", () => {
  it("reads seconds and HTTP dates", () => {
    const now = Date.parse("2026-11-23T10:00:00Z");
    expect(parseRetryAfter("7", now)).toBe(7_000);
    expect(parseRetryAfter("Mon, 23 Nov 2026 10:00:30 GMT", now)).toBe(30_000);
    expect(parseRetryAfter("soon", now)).toBeUndefined();
    expect(parseRetryAfter(undefined, now)).toBeUndefined();
  });
});

describe("failure classification", () => {
  it.each([
    [401, "401013", "refresh-token"],
    [429, "429001", "retry"],
    [429, "4290801", "quota"],
    [500, "5000801", "retry"],
    [503, undefined, "retry"],
    [400, "4000801", "permanent"],
    [400, "4000802", "permanent"],
    [403, "4030801", "permanent"],
    [404, "404040", "permanent"],
    [413, undefined, "permanent"],
  ])("Data Ingestion %i %s → %s", (status, code, disposition) => {
    expect(classifyIngestionFailure(status, code)).toBe(disposition);
  });

  it.each([
    ["601", "refresh-token"],
    ["602", "refresh-token"],
    ["606", "retry"],
    ["615", "retry"],
    ["1016", "retry"],
    ["1029", "retry"],
    ["607", "quota"],
    ["1003", "permanent"],
    ["610", "permanent"],
  ])("REST code %s → %s", (code, disposition) => {
    expect(classifyRestErrorCode(code)).toBe(disposition);
  });
});
