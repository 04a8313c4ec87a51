import { execFile } from "node:child_process";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

const ROOT = fileURLToPath(new URL("../../", import.meta.url));
const BIN = join(ROOT, "bin/marketo-ingest.mjs");

function node(args: string[], env: Record<string, string> = {}) {
  return new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
    execFile(
      process.execPath,
      args,
      { cwd: ROOT, env: { ...process.env, ...env }, timeout: 120_000 },
      (error, stdout, stderr) =>
        resolve({ code: error ? (typeof error.code === "number" ? error.code : -1) : 0, stdout, stderr }),
    );
  });
}

let outdir: string;
beforeAll(async () => {
  outdir = await mkdtemp(join(tmpdir(), "marketo-ingest-cli-build-"));
});
afterAll(() => rm(outdir, { recursive: true, force: true }));

describe("the CLI built at install (prepare)", () => {
  it("bundles into plain JavaScript that answers --help without tsx", async () => {
    const build = await node([join(ROOT, "scripts/build-cli.mjs"), "--outdir", outdir]);
    expect(build).toMatchObject({ code: 0 });

    const bundle = join(outdir, "cli.mjs");
    expect(await readFile(bundle, "utf8")).not.toMatch(/from "tsx|\.ts"/);
    const help = await node([bundle, "--help"]);
    expect(help.code).toBe(0);
    expect(help.stdout).toMatch(/^marketo-ingest — move person data into Adobe Marketo Engage/);
    expect(help.stdout).toContain("marketo-ingest run FILE --object TYPE");
    // The sources it came from are listed, so the bin can tell a bundle older than an edited source.
    const inputs = JSON.parse(await readFile(join(outdir, "cli-inputs.json"), "utf8")) as string[];
    expect(inputs).toContain("cli/main.ts");
    // Dependencies are not (the bin stats each listed file at every start), even through a symlinked node_modules.
    expect(inputs.filter((input) => input.includes("node_modules/"))).toEqual([]);
    // `--help` needs the entry chunk alone: it imports Node's built-ins, never a chunk (zod, the SDK).
    expect(await readFile(bundle, "utf8")).not.toMatch(/from "\.\/chunks\//);
  }, 120_000);

  it("the bin still runs the TypeScript sources through tsx when there is no usable bundle", async () => {
    const help = await node([BIN, "--help"], { MARKETO_INGEST_NO_BUNDLE: "1" });
    expect(help.code).toBe(0);
    expect(help.stdout).toMatch(/^marketo-ingest — move person data into Adobe Marketo Engage/);
  }, 120_000);
});
