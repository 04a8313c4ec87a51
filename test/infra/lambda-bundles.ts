import { execFile } from "node:child_process";
import { cpSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { isBuiltin } from "node:module";
import { tmpdir } from "node:os";
import { dirname, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import type { App, Stack } from "aws-cdk-lib";
import type { CfnFunction } from "aws-cdk-lib/aws-lambda";
import { PipelineFunction } from "../../infra/constructs/pipeline-function.ts";

const REPO_ROOT = fileURLToPath(new URL("../../", import.meta.url));
const run = promisify(execFile);

/** One pipeline function as `cdk synth` left it: its bundle folder and what the template gives it. */
export interface SynthesizedBundle {
  /** The PipelineFunction's construct id: Splitter, Sender, BulkImporter, ReportWriter. */
  name: string;
  /** The asset folder the stack deploys (index.mjs and its source map). */
  assetDir: string;
  runtime: string;
  memorySize: number;
  timeoutSeconds: number;
  /** The template's environment: literal values as strings, deploy-time references as they are in the template. */
  environment: Record<string, unknown>;
}

/** Synthesizes `app` (bundling every function with the stack's own options) and finds each pipeline function's asset. */
export function synthesizedBundles(app: App, stack: Stack): SynthesizedBundle[] {
  const assembly = app.synth();
  const template = assembly.getStackByName(stack.stackName).template as {
    Resources: Record<string, { Properties: Record<string, unknown> }>;
  };
  // Template S3 key → asset folder, from the asset manifests the deployment uploads from.
  const folderByObjectKey = new Map<string, string>();
  for (const artifact of Object.values(assembly.manifest.artifacts ?? {})) {
    const file = (artifact.properties as { file?: string } | undefined)?.file;
    if (artifact.type !== "cdk:asset-manifest" || !file) continue;
    const manifest = JSON.parse(readFileSync(join(assembly.directory, file), "utf8")) as {
      files: Record<string, { source: { path: string }; destinations: Record<string, { objectKey: string }> }>;
    };
    for (const asset of Object.values(manifest.files)) {
      for (const destination of Object.values(asset.destinations)) {
        folderByObjectKey.set(destination.objectKey, join(assembly.directory, asset.source.path));
      }
    }
  }
  const functions = stack.node.findAll().filter((c): c is PipelineFunction => c instanceof PipelineFunction);
  return functions.map((pipelineFunction) => {
    const logicalId = stack.getLogicalId(pipelineFunction.fn.node.defaultChild as CfnFunction);
    const properties = template.Resources[logicalId]?.Properties as {
      Code: { S3Key: string };
      Runtime: string;
      MemorySize: number;
      Timeout: number;
      Environment: { Variables: Record<string, unknown> };
    };
    const assetDir = folderByObjectKey.get(properties.Code.S3Key);
    if (!assetDir) throw new Error(`no asset for ${pipelineFunction.node.id} (${properties.Code.S3Key})`);
    return {
      name: pipelineFunction.node.id,
      assetDir,
      runtime: properties.Runtime,
      memorySize: properties.MemorySize,
      timeoutSeconds: properties.Timeout,
      environment: properties.Environment.Variables,
    };
  });
}

/** What a bundle is made of, from its source map: npm packages by name, and repository files by path. */
export function bundleInputs(bundle: SynthesizedBundle): { packages: Set<string>; repoFiles: string[] } {
  const mapPath = join(bundle.assetDir, "index.mjs.map");
  const map = JSON.parse(readFileSync(mapPath, "utf8")) as { sources: string[]; sourceRoot?: string };
  const packages = new Set<string>();
  const repoFiles: string[] = [];
  for (const source of map.sources) {
    const absolute = resolve(dirname(mapPath), map.sourceRoot ?? "", source);
    const inPackage = /node_modules\/((?:@[^/]+\/)?[^/]+)\/(?!.*node_modules\/)/.exec(absolute);
    if (inPackage) packages.add(inPackage[1] as string);
    else repoFiles.push(relative(REPO_ROOT, absolute));
  }
  return { packages, repoFiles };
}

/** Module specifiers the bundle still imports at run time (static `from "…"` and dynamic `import("…")`) that Node does not provide. */
export function nonBuiltinImports(bundle: SynthesizedBundle): string[] {
  const code = readFileSync(join(bundle.assetDir, "index.mjs"), "utf8");
  const specifiers = [
    ...code.matchAll(/(?:\bfrom\s*|\bimport\s*\(\s*)["']((?:@[\w.-]+\/)?[\w.:-]+(?:\/[\w.-]+)*)["']/g),
  ].map((m) => m[1] as string);
  return [...new Set(specifiers)].filter((specifier) => !isBuiltin(specifier));
}

// What Lambda's Node.js runtime does with a bundle: import it, call `handler` with the event and a context.
// It imports nothing but Node's own modules, so the bundle must bring everything else.
const RUNNER = `import { randomUUID } from "node:crypto";
import { readFileSync, writeFileSync } from "node:fs";
const { handler } = await import("./index.mjs");
const deadline = Date.now() + Number(process.argv[2]);
// Optional: after this many reads the clock says no time is left (a test's budget, counted rather than timed).
const reads = process.argv[3] === undefined ? Infinity : Number(process.argv[3]);
let read = 0;
const event = JSON.parse(readFileSync(new URL("./event.json", import.meta.url), "utf8"));
const response = await handler(event, {
  callbackWaitsForEmptyEventLoop: false,
  functionName: "bundle-check",
  functionVersion: "$LATEST",
  invokedFunctionArn: "arn:aws:lambda:local:000000000000:function:bundle-check",
  memoryLimitInMB: "1024",
  awsRequestId: randomUUID(),
  logGroupName: "/aws/lambda/bundle-check",
  logStreamName: "local",
  getRemainingTimeInMillis: () => (++read > reads ? 0 : Math.max(0, deadline - Date.now())),
});
writeFileSync(new URL("./response.json", import.meta.url), JSON.stringify({ response: response ?? null }));
// Lambda freezes the process here; idle keep-alive sockets must not keep it running.
process.exit(0);
`;

/** A handler's answer, and what it logged (JSON lines: counts, ids and codes) to explain a wrong one. */
export interface Invocation {
  response: unknown;
  log: string;
}

/** A bundle copied alone into an empty folder outside the repository, where no node_modules can be found. */
export interface IsolatedBundle {
  readonly dir: string;
  /**
   * Invokes the handler once in a fresh `node` process with exactly `env` as its environment. With
   * `remainingReads`, `getRemainingTimeInMillis` answers 0 from its next read on (an invocation about to end).
   */
  invoke(event: unknown, env: Record<string, string>, options?: { remainingReads?: number }): Promise<Invocation>;
  remove(): void;
}

export function isolate(bundle: SynthesizedBundle): IsolatedBundle {
  const dir = mkdtempSync(join(tmpdir(), `marketo-ingest-${bundle.name}-`));
  for (let folder = dirname(dir); ; folder = dirname(folder)) {
    // Node would resolve a missing package there, hiding what the bundle lacks.
    if (existsSync(join(folder, "node_modules"))) throw new Error(`${folder} has node_modules: use another TMPDIR`);
    if (dirname(folder) === folder) break;
  }
  cpSync(bundle.assetDir, dir, { recursive: true });
  writeFileSync(join(dir, "run.mjs"), RUNNER);
  return {
    dir,
    invoke: async (event, env, options = {}) => {
      writeFileSync(join(dir, "event.json"), JSON.stringify(event));
      rmSync(join(dir, "response.json"), { force: true });
      let log: string;
      try {
        const budget = options.remainingReads === undefined ? [] : [String(options.remainingReads)];
        const args = ["run.mjs", String(bundle.timeoutSeconds * 1000), ...budget];
        const { stdout, stderr } = await run(process.execPath, args, {
          cwd: dir,
          env,
          timeout: 60_000,
          maxBuffer: 16 * 1024 * 1024,
        });
        log = stdout + stderr;
      } catch (error) {
        // The message carries the command's stderr (an import that failed, an uncaught error); stdout has the logs.
        const { stdout = "" } = error as { stdout?: string };
        throw new Error(`the ${bundle.name} bundle failed: ${(error as Error).message}\n${stdout.slice(-4000)}`, {
          cause: error,
        });
      }
      const { response } = JSON.parse(readFileSync(join(dir, "response.json"), "utf8")) as { response: unknown };
      return { response, log };
    },
    remove: () => rmSync(dir, { recursive: true, force: true }),
  };
}
