import { spawnSync } from "node:child_process";
import { statSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";

const root = fileURLToPath(new URL("../../", import.meta.url));
const run = (script: string, ...args: string[]) =>
  spawnSync(process.execPath, ["--import", "tsx", `scripts/${script}`, ...args], {
    cwd: root,
    encoding: "utf8",
    timeout: 30_000,
  });

describe("every script answers --help, and writes nothing when asked", () => {
  it.each([
    ["make-sample-persons.ts", "samples/persons.csv"],
    ["generate-intake-schema.ts", "docs/schemas/intake-message.v1.json"],
    ["check-import-cycles.ts", undefined],
    ["measure-emoji-packing.ts", undefined],
    ["measure-json-split.ts", undefined],
  ])(
    "%s --help",
    (script, writes) => {
      const before = writes ? statSync(`${root}${writes}`).mtimeMs : 0;
      const help = run(script, "--help");
      expect(help.status).toBe(0);
      expect(help.stdout).toMatch(/^Usage: .*scripts\//);
      if (writes) expect(statSync(`${root}${writes}`).mtimeMs).toBe(before);
      const typo = run(script, "--hepl");
      expect(typo.status).toBe(2);
      expect(typo.stderr).toContain('unknown option "--hepl"');
    },
    60_000,
  );
});
