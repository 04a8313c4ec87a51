import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";

/** The README is a front page (what it is, the two commands, deploy in five steps, where to read next). */
const readme = readFileSync(new URL("../../README.md", import.meta.url));

describe("the front README", () => {
  it("stays at most 8 KB", () => {
    expect(readme.byteLength).toBeLessThanOrEqual(8 * 1024);
  });

  it("points each reader to their page under docs/", () => {
    const text = readme.toString("utf8");
    for (const page of ["data-teams", "platform-teams", "producers", "operators", "troubleshooting", "architecture"]) {
      expect(text).toContain(`(docs/${page}.md)`);
    }
  });
});
