import { ESLint } from "eslint";
import { join } from "node:path";
import { describe, expect, it } from "vitest";

/** The layering rules of eslint.config.js, applied to a one-line file placed in each folder. */
const eslint = new ESLint({ cwd: join(import.meta.dirname, "..", "..") });

async function layeringErrors(file: string, specifier: string): Promise<string[]> {
  const [result] = await eslint.lintText(`import "${specifier}";\n`, { filePath: file });
  return (result?.messages ?? []).filter((m) => m.ruleId === "import-x/no-restricted-paths").map((m) => m.message);
}

describe("npm run lint enforces the layering", () => {
  it.each([
    ["shared/aws/probe.ts", "../../functions/splitter/split-file.ts", "shared imports a function"],
    ["shared/aws/probe.ts", "../../local/local-aws.ts", "shared imports local/"],
    ["shared/aws/probe.ts", "../../infra/create-app.ts", "shared imports infra/"],
    ["shared/aws/probe.ts", "../../cli/status.ts", "shared imports the CLI"],
    ["functions/ingestion-sender/probe.ts", "../splitter/split-file.ts", "a function imports another function"],
    ["functions/splitter/probe.ts", "../../local/local-aws.ts", "a function imports local/"],
    ["infra/probe.ts", "../local/local-aws.ts", "infra imports local/"],
  ])("refuses %s importing %s (%s)", async (file, specifier) => {
    expect(await layeringErrors(file, specifier)).toHaveLength(1);
  });

  it.each([
    ["functions/splitter/probe.ts", "./split-file.ts"],
    ["functions/splitter/probe.ts", "../../shared/time/clock.ts"],
    ["local/probe.ts", "../functions/splitter/handler.ts"],
    ["cli/probe.ts", "../local/local-aws.ts"],
    ["infra/probe.ts", "../shared/config/deployment-defaults.ts"],
  ])("allows %s importing %s", async (file, specifier) => {
    expect(await layeringErrors(file, specifier)).toEqual([]);
  });
});
