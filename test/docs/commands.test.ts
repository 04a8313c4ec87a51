import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join, relative } from "node:path";
import { describe, expect, it } from "vitest";
import { COMMANDS, parseCliArgs } from "../../cli/args.ts";
import { runCli, withoutMarketo } from "../support/cli-process.ts";

/** Every `marketo-ingest` command the docs show is parsed by the CLI's own parser; the local ones are run. */
const root = join(import.meta.dirname, "..", "..");

function markdownFiles(): string[] {
  const docs = join(root, "docs");
  const pages = existsSync(docs)
    ? readdirSync(docs, { recursive: true, encoding: "utf8" })
        .filter((name) => name.endsWith(".md"))
        .map((name) => join(docs, name))
    : [];
  return [join(root, "README.md"), ...pages];
}

/** Shell words of one command line: quotes kept together, `# comment`, redirections and pipes dropped. */
function shellWords(line: string): string[] {
  const words: string[] = [];
  const pattern = /"((?:[^"\\]|\\.)*)"|'([^']*)'|(\S+)/g;
  for (const match of line.matchAll(pattern)) {
    const word = match[1] ?? match[2] ?? match[3] ?? "";
    if (match[3]?.startsWith("#")) break;
    if (match[3] && /^(\||>|>>|2>|2>&1|<|&&|;)$/.test(match[3])) break;
    words.push(match[1] !== undefined ? word.replace(/\\(.)/g, "$1") : word);
  }
  return words;
}

interface DocCommand {
  file: string;
  line: string;
  args: string[];
}

/**
 * Lines of fenced code blocks (after an optional `$ ` prompt and VAR=value prefixes) that run the CLI, and inline
 * code spans in the prose that do (a usage's `[optional]` parts left out).
 */
function docCommands(): DocCommand[] {
  return markdownFiles().flatMap((file) => {
    const text = readFileSync(file, "utf8");
    const fenced = /```[a-z]*\n([\s\S]*?)```/g;
    const blocks = [...text.matchAll(fenced)].map((m) => m[1] ?? "");
    const inline = [...text.replace(fenced, "").matchAll(/`((?:npx )?marketo-ingest [^`]+)`/g)].map((m) =>
      (m[1] ?? "").replace(/\s*\[[^\]]*\]/g, ""),
    );
    return [...blocks, ...inline].flatMap((block) =>
      block
        .replace(/\\\n\s*/g, " ")
        .split("\n")
        .map((line) => line.replace(/^\s*\$\s+/, "").trim())
        .flatMap((line) => {
          const words = shellWords(line);
          while (words[0] && /^[A-Z_][A-Z0-9_]*=/.test(words[0])) words.shift();
          if (words[0] === "npx") words.shift();
          if (words[0] !== "marketo-ingest") return [];
          return [{ file: relative(root, file), line, args: words.slice(1) }];
        }),
    );
  });
}

function problemOf(args: string[]): string | undefined {
  let parsed: ReturnType<typeof parseCliArgs>;
  try {
    parsed = parseCliArgs(args);
  } catch (error) {
    return (error as Error).message;
  }
  const [command, positional] = parsed.positionals;
  if (parsed.values.help) return undefined;
  const spec = command === undefined ? undefined : COMMANDS[command];
  if (!spec) return `unknown command ${command ?? "(none)"}`;
  if (spec.positional && !positional) return `${command} needs its ${spec.positional}`;
  if (spec.object && !parsed.values.object) return `${command} needs --object`;
  return undefined;
}

/** Runnable here: no deployed stack, no long-running server, and every file it names is in the repository. */
function runsLocally(args: string[]): boolean {
  const { positionals, values } = parseCliArgs(args);
  const [command, file] = positionals;
  if (!["demo", "run", "check", "send", "help"].includes(command ?? "") && !values.help) return false;
  if (values["queue-url"] !== undefined) return false;
  const files = [file, values.options, values.report].filter((path): path is string => path !== undefined);
  return files.every((path) => path.startsWith("samples/") && existsSync(join(root, path)));
}

const commands = docCommands();

describe("commands shown in the docs", () => {
  it("are found (the docs show the CLI at all)", () => {
    expect(commands.length).toBeGreaterThan(5);
  });

  it("include the ones written inline in the prose", () => {
    expect(commands.map(({ line }) => line)).toContain("marketo-ingest status ID --message");
  });

  it("every one parses with the CLI's own argument parser and names a command it has", () => {
    const broken = commands.flatMap(({ file, line, args }) => {
      const problem = problemOf(args);
      return problem ? [`${file}: ${line} → ${problem}`] : [];
    });
    expect(broken).toEqual([]);
  });

  it("the ones runnable locally run without a usage error or a crash", async () => {
    const local = commands.filter(({ args }) => runsLocally(args) && !args.includes("--report"));
    const outcomes: string[] = [];
    for (const { file, line, args } of local) {
      const { code } = await runCli(args, withoutMarketo(), { cwd: root, timeoutMs: 120_000 });
      // 0: all accepted / clean; 1: the sample's own problems shown on purpose. 2 (usage) or a crash is a rotten doc.
      if (code !== 0 && code !== 1) outcomes.push(`${file}: ${line} → exit ${code}`);
    }
    expect(outcomes).toEqual([]);
    expect(local.length).toBeGreaterThan(0);
  }, 600_000);
});
