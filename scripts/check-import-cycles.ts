// Fails when project files import each other in a cycle, type-only imports included (ESLint's import-x/no-cycle
// skips those, yet a cycle of types still ties two files into one idea). Run by `npm run lint`.
import { answerHelp } from "./script-help.ts";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { dirname, join, normalize, relative } from "node:path";
import { fileURLToPath } from "node:url";

const FOLDERS = ["shared", "functions", "local", "infra", "cli", "bench", "scripts", "test"];
const IMPORT =
  /(?:^|[\s;])(?:import|export)\s[^"'`;]*?from\s*["'](\.{1,2}\/[^"']+)["']|import\(\s*["'](\.{1,2}\/[^"']+)["']\s*\)/g;

function tsFiles(root: string, dir: string): string[] {
  if (!existsSync(join(root, dir))) return [];
  return readdirSync(join(root, dir), { withFileTypes: true }).flatMap((entry) => {
    const path = `${dir}/${entry.name}`;
    if (entry.isDirectory()) return entry.name === "node_modules" ? [] : tsFiles(root, path);
    return entry.name.endsWith(".ts") ? [path] : [];
  });
}

/** Relative imports between the project's TypeScript files, by repository path. */
export function importGraph(root: string): Map<string, string[]> {
  const graph = new Map<string, string[]>();
  for (const file of FOLDERS.flatMap((folder) => tsFiles(root, folder))) {
    const text = readFileSync(join(root, file), "utf8");
    const targets = [...text.matchAll(IMPORT)]
      .map((match) => normalize(join(dirname(file), (match[1] ?? match[2])!)))
      .filter((target) => target.endsWith(".ts") && existsSync(join(root, target)));
    graph.set(file, [...new Set(targets)]);
  }
  return graph;
}

/** Every strongly connected group of more than one file (or a file importing itself): each is a cycle. */
export function findCycles(graph: Map<string, string[]>): string[][] {
  let counter = 0;
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const cycles: string[][] = [];
  const visit = (node: string): void => {
    index.set(node, counter);
    low.set(node, counter++);
    stack.push(node);
    onStack.add(node);
    for (const next of graph.get(node) ?? []) {
      if (!index.has(next)) {
        visit(next);
        low.set(node, Math.min(low.get(node)!, low.get(next)!));
      } else if (onStack.has(next)) low.set(node, Math.min(low.get(node)!, index.get(next)!));
    }
    if (low.get(node) !== index.get(node)) return;
    const group: string[] = [];
    let member: string;
    do {
      member = stack.pop()!;
      onStack.delete(member);
      group.push(member);
    } while (member !== node);
    if (group.length > 1 || (graph.get(node) ?? []).includes(node)) cycles.push(group.sort());
  };
  for (const node of graph.keys()) if (!index.has(node)) visit(node);
  return cycles;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  answerHelp(
    "Usage: node --import tsx scripts/check-import-cycles.ts\n\nFails (exit 1) naming every import cycle among the project's TypeScript files; part of npm run lint.",
  );
  const root = join(dirname(fileURLToPath(import.meta.url)), "..");
  const cycles = findCycles(importGraph(root));
  if (cycles.length > 0) {
    for (const cycle of cycles)
      console.error(`import cycle: ${cycle.map((f) => relative(root, join(root, f))).join(" ↔ ")}`);
    console.error("Break each cycle: move what both files need into a third file that neither imports back.");
    process.exit(1);
  }
}
