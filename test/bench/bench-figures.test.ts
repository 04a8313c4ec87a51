import { describe, expect, it } from "vitest";
import {
  ChildResultSchema,
  costOf,
  lambdaSecondsAt,
  LIST_PRICES,
  median,
  parseSizes,
  sqsBilledRequests,
} from "../../bench/bench-figures.ts";

describe("bench figures", () => {
  it("reads --sizes in decimal units, in the order given, and refuses what is not a size", () => {
    expect(parseSizes("10MB,100MB,1GB")).toEqual([10_000_000, 100_000_000, 1_000_000_000]);
    expect(parseSizes(" 1.5gb , 500kb")).toEqual([1_500_000_000, 500_000]);
    expect(() => parseSizes("100")).toThrow(/not a size/);
    expect(() => parseSizes("100MB,,1GB")).toThrow(/not a size/);
    expect(() => parseSizes("1KB")).toThrow(/too small/);
  });

  it("scales one core's CPU seconds to a smaller function's share of a vCPU, never below one core's time", () => {
    expect(lambdaSecondsAt(10, 1769)).toBe(10);
    expect(lambdaSecondsAt(10, 3538)).toBe(10);
    expect(lambdaSecondsAt(10, 1024)).toBeCloseTo((10 * 1769) / 1024, 9);
  });

  it("bills SQS per request, and per 64 KiB of payload when a request carries more", () => {
    expect(sqsBilledRequests(10, 10 * 300)).toBe(10);
    expect(sqsBilledRequests(1, 64 * 1024)).toBe(1);
    expect(sqsBilledRequests(1, 64 * 1024 + 1)).toBe(2);
    expect(sqsBilledRequests(3, 1_048_576)).toBe(16);
  });

  it("prices Lambda by GB-seconds and invocations, S3 by PUT and GET, SQS by request, and adds them up", () => {
    const { lines, totalUsd } = costOf([{ name: "sender", memoryMb: 512, seconds: 2_000, invocations: 100 }], {
      s3Puts: 2_000,
      s3Gets: 10_000,
      sqsRequests: 500_000,
    });
    const lambda = 1_000 * LIST_PRICES.lambdaPerGbSecond + 100e-6 * LIST_PRICES.lambdaPerMillionInvocations;
    const s3 = 2 * LIST_PRICES.s3PutPerThousand + 10 * LIST_PRICES.s3GetPerThousand;
    const sqs = 0.5 * LIST_PRICES.sqsPerMillionRequests;
    expect(lines.map((line) => line.item)).toEqual(["Lambda sender (512 MB)", "S3 requests", "SQS requests"]);
    expect(lines[0]?.usage).toBe("1000 GB-s, 100 invocations");
    expect(lines.map((line) => line.usd)).toEqual([lambda, s3, sqs].map((n) => expect.closeTo(n, 12)));
    expect(totalUsd).toBeCloseTo(lambda + s3 + sqs, 12);
  });

  it("takes the middle of an odd or even count for the median", () => {
    expect(median([300, 100, 200])).toBe(200);
    expect(median([4, 1, 3, 2])).toBe(2.5);
  });

  it("accepts a measuring child's line only in its exact shape", () => {
    const line = { mode: "reader", rows: 10, seconds: 1.5, cpuSeconds: 1.2, peakRssMiB: 80 };
    expect(ChildResultSchema.parse(line)).toEqual(line);
    expect(() => ChildResultSchema.parse({ ...line, mode: "write" })).toThrow();
    expect(() => ChildResultSchema.parse({ ...line, extra: 1 })).toThrow();
  });
});
