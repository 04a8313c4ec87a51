import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join, relative } from "node:path";
import { describe, expect, it } from "vitest";

/** The docs and comments may only point readers at files a clone of this repository has. */
const root = join(import.meta.dirname, "..", "..");
const SKIP = new Set(["node_modules", ".git", "cdk.out", "dist"]);

function filesUnder(dir: string, suffixes: readonly string[]): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    if (SKIP.has(entry.name)) return [];
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return filesUnder(path, suffixes);
    return suffixes.some((suffix) => entry.name.endsWith(suffix)) ? [path] : [];
  });
}

const repoFiles = filesUnder(root, [""]).map((path) => relative(root, path));
const markdownNames = new Set(repoFiles.filter((p) => p.endsWith(".md")).map((p) => p.split("/").pop()));
const TOP_FOLDERS = "shared|functions|infra|cli|test|bench|docs|local|scripts|bin|samples";

describe("references in docs and code", () => {
  it("every Markdown file named in code or docs is in the repository", () => {
    const dangling = filesUnder(root, [".ts", ".md", ".mjs", ".js"]).flatMap((file) => {
      const text = readFileSync(file, "utf8");
      return [...text.matchAll(/\b([\w-]+\.md)\b/g)]
        .map((match) => match[1]!)
        .filter((name) => !markdownNames.has(name))
        .map((name) => `${relative(root, file)} → ${name}`);
    });
    expect(dangling).toEqual([]);
  });

  it("every repository path the README and docs/ quote exists", () => {
    const pages = [join(root, "README.md"), ...filesUnder(join(root, "docs"), [".md"])];
    const readme = pages.map((page) => readFileSync(page, "utf8")).join("\n");
    const quoted = [...readme.matchAll(new RegExp(`\`((?:${TOP_FOLDERS})/[^\`\\s{}…]*)\``, "g"))].map((m) => m[1]!);
    expect(quoted.length).toBeGreaterThan(3);
    const missing = quoted.filter((path) =>
      ["", ".ts", ".test.ts"].every((suffix) => !existsSync(join(root, path.replace(/\/$/, "") + suffix))),
    );
    expect(missing).toEqual([]);
  });
});
