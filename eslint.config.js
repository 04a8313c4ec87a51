// Type-aware lint for the whole project; formatting is Prettier's job (see .prettierrc.json).
import js from "@eslint/js";
import { createNodeResolver, importX } from "eslint-plugin-import-x";
import globals from "globals";
import tseslint from "typescript-eslint";

const FUNCTIONS = ["splitter", "ingestion-sender", "bulk-importer", "report-writer"];

/**
 * The layering, checked on resolved paths: cli/local → functions → shared, one function never reaches into
 * another's folder, and nothing deployed (functions, shared, infra) loads the dev-only local/ or the CLI.
 */
const layering = [
  {
    target: "./shared",
    from: ["./functions", "./local", "./infra", "./cli", "./bench", "./scripts", "./test"],
    message: "shared/ is a library: it may import only shared/ and packages.",
  },
  ...FUNCTIONS.map((name) => ({
    target: `./functions/${name}`,
    from: ["./functions", "./local", "./infra", "./cli", "./bench", "./scripts", "./test"],
    except: [`./${name}`],
    message: "a function imports its own folder and shared/ only (never another function, local/ or the CLI).",
  })),
  {
    target: "./infra",
    from: ["./local", "./cli", "./bench", "./scripts", "./test"],
    message: "infra/ is deployed: it never loads dev-only code.",
  },
  {
    target: "./local",
    from: ["./cli", "./bench", "./test"],
    message: "local/ is used by the CLI and the tests, not the other way round.",
  },
];

export default tseslint.config(
  { ignores: ["cdk.out/**", "node_modules/**", "samples/**", "coverage/**", "dist/**"] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: { globals: { ...globals.node } },
    rules: {
      "@typescript-eslint/no-unused-vars": ["error", { argsIgnorePattern: "^_", varsIgnorePattern: "^_" }],
      "@typescript-eslint/consistent-type-imports": "error",
      "no-console": ["error", { allow: ["error"] }],
      eqeqeq: ["error", "always"],
    },
  },
  {
    files: ["**/*.ts"],
    plugins: { "import-x": importX },
    settings: { "import-x/resolver-next": [createNodeResolver({ extensions: [".ts", ".js", ".mjs"] })] },
    rules: {
      "import-x/no-restricted-paths": ["error", { zones: layering }],
      // Type-only imports count too: a cycle of types still ties two files into one idea.
      "import-x/no-cycle": ["error", { ignoreExternal: true }],
    },
  },
  {
    // The CLI, bench and sample generator talk to a terminal on purpose.
    files: ["cli/**", "bench/**", "scripts/**", "bin/**"],
    rules: { "no-console": "off" },
  },
);
