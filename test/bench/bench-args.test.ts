import { spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { parseBenchArgs } from "../../bench/bench-args.ts";

describe("the bench's command line", () => {
  it("defaults to 100MB and 1GB; --quick is 100MB alone; --sizes picks them", () => {
    expect(parseBenchArgs([])).toEqual({ help: false, sizes: [1e8, 1e9], sizesText: "100MB,1GB", intakeOnly: false });
    expect(parseBenchArgs(["--quick"])).toMatchObject({ sizes: [1e8] });
    expect(parseBenchArgs(["--sizes", "10MB,0.5GB", "--intake"])).toMatchObject({
      sizes: [1e7, 5e8],
      intakeOnly: true,
    });
    expect(parseBenchArgs(["--sizes=10MB"])).toMatchObject({ sizes: [1e7] });
  });

  it("refuses a typo or a missing value instead of starting a ten-minute run", () => {
    expect(() => parseBenchArgs(["--size", "10MB"])).toThrow('unknown option "--size"');
    expect(() => parseBenchArgs(["--sizes"])).toThrow("--sizes needs a list");
    expect(() => parseBenchArgs(["--sizes", "--quick"])).toThrow("--sizes needs a list");
    expect(() => parseBenchArgs(["--sizes", "10"])).toThrow('"10" is not a size');
  });

  it("answers --help at once, before generating or measuring anything", () => {
    const root = fileURLToPath(new URL("../../", import.meta.url));
    const help = spawnSync(process.execPath, ["--import", "tsx", "bench/main.ts", "--help"], {
      cwd: root,
      encoding: "utf8",
      timeout: 30_000,
    });
    expect(help.status).toBe(0);
    expect(help.stdout).toContain("Usage: npm run bench");
    expect(help.stdout).toContain("--sizes LIST");
    const typo = spawnSync(process.execPath, ["--import", "tsx", "bench/main.ts", "--siezs", "1GB"], {
      cwd: root,
      encoding: "utf8",
      timeout: 30_000,
    });
    expect(typo.status).toBe(2);
    expect(typo.stderr).toContain('unknown option "--siezs"');
  }, 60_000);
});
