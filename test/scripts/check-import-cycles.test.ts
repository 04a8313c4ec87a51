import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { findCycles, importGraph } from "../../scripts/check-import-cycles.ts";

const repoRoot = join(import.meta.dirname, "..", "..");
let scratch: string | undefined;

function tree(files: Record<string, string>): string {
  scratch = mkdtempSync(join(tmpdir(), "import-cycles-"));
  for (const [path, text] of Object.entries(files)) {
    mkdirSync(dirname(join(scratch, path)), { recursive: true });
    writeFileSync(join(scratch, path), text);
  }
  return scratch;
}

afterEach(() => {
  if (scratch) rmSync(scratch, { recursive: true, force: true });
  scratch = undefined;
});

describe("the import cycle check run by npm run lint", () => {
  it("finds a cycle made of type-only imports, which ESLint's no-cycle ignores", () => {
    const root = tree({
      "shared/report/a.ts": 'import type { B } from "./b.ts";\nexport interface A { b?: B }\n',
      "shared/report/b.ts": 'import { type A } from "./a.ts";\nexport interface B { a?: A }\n',
      "shared/report/c.ts": 'import type { A } from "./a.ts";\nexport type C = A;\n',
    });
    expect(findCycles(importGraph(root))).toEqual([["shared/report/a.ts", "shared/report/b.ts"]]);
  });

  it("finds a longer cycle across folders, through multi-line and re-export statements", () => {
    const root = tree({
      "functions/x/one.ts": 'import {\n  two,\n} from "../../shared/two.ts";\nexport const one = two;\n',
      "shared/two.ts": 'export { three as two } from "./three.ts";\n',
      "shared/three.ts": 'import { one } from "../functions/x/one.ts";\nexport const three = one;\n',
    });
    expect(findCycles(importGraph(root))).toEqual([["functions/x/one.ts", "shared/three.ts", "shared/two.ts"]]);
  });

  it("finds none in this repository", () => {
    expect(findCycles(importGraph(repoRoot))).toEqual([]);
  });
});
