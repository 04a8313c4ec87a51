import { PutObjectCommand } from "@aws-sdk/client-s3";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { STATUS_EXIT_SPLIT_FAILED, statusCommand } from "../../cli/status.ts";
import { type LocalAws, startLocalAws } from "../../local/local-aws.ts";

let aws: LocalAws;
beforeAll(async () => {
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = "true";
  aws = await startLocalAws();
});
afterAll(() => aws.close());

/** A split claimed `minutesAgo` minutes ago whose invocation wrote nothing since (no manifest). */
async function claimedWithoutManifest(key: string, minutesAgo: number) {
  const claim = { owner: "req-1", claimedAt: new Date(Date.now() - minutesAgo * 60_000).toISOString() };
  await aws.s3.send(
    new PutObjectCommand({
      Bucket: aws.workBucket,
      Key: `reports/${key}/v1/split-claim.json`,
      Body: JSON.stringify(claim),
    }),
  );
}

async function status(key: string) {
  const errors: string[] = [];
  const spy = vi.spyOn(console, "error").mockImplementation((line: string) => void errors.push(line));
  try {
    const env = { ...aws.awsEnv, AWS_ENDPOINT_URL: aws.endpoint };
    return { code: await statusCommand(key, { bucket: aws.workBucket }, env), errors };
  } finally {
    spy.mockRestore();
  }
}

describe("status of a file without a manifest", () => {
  it("is still running while its claim is younger than any invocation lasts", async () => {
    await claimedWithoutManifest("persons/busy.csv", 2);
    const { code, errors } = await status("persons/busy.csv");
    expect(code).toBe(3);
    expect(errors).toEqual(["persons/busy.csv: the splitter is still working on it (no manifest yet)"]);
  });

  it("is stalled, not running, once its claim is older than any invocation lasts", async () => {
    await claimedWithoutManifest("persons/stalled.csv", 20);
    const { code, errors } = await status("persons/stalled.csv");
    expect(code).toBe(STATUS_EXIT_SPLIT_FAILED);
    expect(errors[0]).toMatch(/^persons\/stalled\.csv: stalled: no invocation has worked on it since /);
  });
});
