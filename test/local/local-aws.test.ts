import { GetObjectCommand, PutObjectCommand } from "@aws-sdk/client-s3";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type LocalAws, startLocalAws } from "../../local/local-aws.ts";

describe("local AWS emulator", () => {
  let aws: LocalAws;
  beforeAll(async () => {
    aws = await startLocalAws();
  });
  afterAll(() => aws.close());

  it("counts the bytes of every object it serves, ranged reads by their range, as S3 would bill them read", async () => {
    const body = Buffer.alloc(100_000, "a");
    await aws.s3.send(new PutObjectCommand({ Bucket: aws.dropBucket, Key: "persons/bytes.csv", Body: body }));
    const before = aws.responseBytes()["s3:GET"] ?? 0;
    const whole = await aws.s3.send(new GetObjectCommand({ Bucket: aws.dropBucket, Key: "persons/bytes.csv" }));
    expect((await whole.Body?.transformToByteArray())?.length).toBe(100_000);
    const ranged = await aws.s3.send(
      new GetObjectCommand({ Bucket: aws.dropBucket, Key: "persons/bytes.csv", Range: "bytes=1000-1999" }),
    );
    expect((await ranged.Body?.transformToByteArray())?.length).toBe(1_000);
    expect((aws.responseBytes()["s3:GET"] ?? 0) - before).toBe(101_000);
    expect(aws.requestCounts()["s3:GET"]).toBeGreaterThanOrEqual(2);
  });
});
