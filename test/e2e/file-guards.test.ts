import { gzipSync } from "node:zlib";
import { describe, expect, it } from "vitest";
import { useHarness } from "./harness.ts";

const h = useHarness();

/** Nothing of a rejected file reaches Marketo or a queue, and its report says why in one line. */
function expectRejectedWhole(result: Awaited<ReturnType<ReturnType<typeof h>["run"]>>, code: string) {
  expect(result.manifest).toMatchObject({ status: "rejected", rowsQueued: 0, batches: 0, rejectedRows: [] });
  expect(result.manifest?.error?.code).toBe(code);
  expect(result.report).toMatchObject({ status: "rejected", error: { code } });
  expect(h().sim.requests).toHaveLength(0);
}

describe("file-level guards: a file over a limit is rejected whole, with its reason", () => {
  it("a file larger than MAX_FILE_BYTES is rejected from its size, before its rows are read", async () => {
    const csv = `email\n${"a@example.com\n".repeat(100)}`;
    const result = await h().run("persons/too-large.csv", csv, { splitterEnv: { MAX_FILE_BYTES: "1000" } });
    expectRejectedWhole(result, "FILE_TOO_LARGE");
    expect(result.manifest?.error?.message).toBe(
      `file is ${Buffer.byteLength(csv)} bytes; the most accepted is 1000 (MAX_FILE_BYTES): split it into smaller files`,
    );
    expect(result.manifest?.rowsRead).toBe(0);
  });

  it("a gzip file inflating past MAX_INFLATION_RATIO (a zip bomb) is rejected", async () => {
    // 14 MB of one repeated row gzips ~1,000×: past the 8 MiB floor where the ratio applies.
    const bomb = gzipSync(Buffer.from(`email\n${"a@example.com\n".repeat(1_000_000)}`));
    const result = await h().run("persons/bomb.csv.gz", bomb, { splitterEnv: { MAX_INFLATION_RATIO: "100" } });
    expectRejectedWhole(result, "INFLATION_RATIO");
  }, 30_000);

  it("a gzip file inflating past MAX_INFLATED_BYTES is rejected", async () => {
    const zipped = gzipSync(Buffer.from(`email\n${"a@example.com\n".repeat(1_000)}`));
    const result = await h().run("persons/big.csv.gz", zipped, { splitterEnv: { MAX_INFLATED_BYTES: "5000" } });
    expectRejectedWhole(result, "INFLATED_TOO_LARGE");
  });

  it("a header without the dedupe column rejects the file once, naming the column, not every row", async () => {
    const csv = `mail,firstName\n${"a@example.com,Ann\n".repeat(500)}`;
    const result = await h().run("persons/typo.csv", csv);
    expectRejectedWhole(result, "MISSING_COLUMN");
    expect(result.manifest?.error).toEqual({
      code: "MISSING_COLUMN",
      line: 1,
      message: "header has no email column, which every row needs (it is a dedupe field (email)): no row could be sent",
    });
  });

  it("a bulk file without its lookup column is rejected the same way", async () => {
    const result = await h().run("bulk/leads/typo.csv", "mail,firstName\na@example.com,Ann\n");
    expectRejectedWhole(result, "MISSING_COLUMN");
    expect(result.manifest?.error?.message).toContain("no email column");
  });
});
