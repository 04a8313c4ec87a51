// `npm install` / `npm ci` run this (the `prepare` script): bundles the CLI's TypeScript once into dist/cli.mjs so
// that `marketo-ingest` starts without transpiling (bin/marketo-ingest.mjs falls back to tsx without it).
// Dependencies are bundled too: resolving and loading thousands of module files was most of the start time.
import { mkdirSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "..");
let esbuild;
try {
  esbuild = await import("esbuild");
} catch {
  // Installed without devDependencies: the CLI still runs, through tsx.
  console.warn("build-cli: esbuild is not installed; the CLI will transpile at each start");
  process.exit(0);
}
// `--outdir DIR` builds elsewhere (the test builds into a temporary folder); the bin looks in dist/.
const at = process.argv.indexOf("--outdir");
const outdir = at > 0 ? resolve(process.argv[at + 1]) : join(root, "dist");
rmSync(outdir, { recursive: true, force: true });
mkdirSync(outdir, { recursive: true });
const result = await esbuild.build({
  absWorkingDir: root,
  entryPoints: { cli: "cli/main.ts" },
  outdir,
  outExtension: { ".js": ".mjs" },
  chunkNames: "chunks/[name]-[hash]",
  // The CLI imports its commands' modules on demand: `--help` loads the small entry chunk only.
  splitting: true,
  bundle: true,
  // CommonJS dependencies inside an ESM bundle call require(): give them one.
  banner: {
    js: 'import { createRequire as __createRequire } from "node:module"; const require = __createRequire(import.meta.url);',
  },
  platform: "node",
  format: "esm",
  target: "node20",
  metafile: true,
  logLevel: "warning",
});
// The bin compares these sources with the bundle's age: an edited source means the bundle is stale (tsx then).
// Dependencies are left out wherever node_modules lives (a symlinked one shows as ../…/node_modules/): the bin
// stats every listed file at each start, and a thousand dependency files cost more than the rest of --help.
const sources = Object.keys(result.metafile.inputs).filter((input) => !/(^|\/)node_modules\//.test(input));
writeFileSync(join(outdir, "cli-inputs.json"), `${JSON.stringify(sources, null, 1)}\n`);
