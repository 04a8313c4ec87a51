import { execFile } from "node:child_process";
import { fileURLToPath } from "node:url";

/** The installed entry point, as `npx marketo-ingest` starts it. */
export const CLI_BIN = fileURLToPath(new URL("../../bin/marketo-ingest.mjs", import.meta.url));

export interface CliRun {
  code: number;
  stdout: string;
  stderr: string;
}

/** The CLI as a user runs it: a child process with exactly `env`, its output and exit status (-1: killed). */
export function runCli(
  args: readonly string[],
  env: Record<string, string | undefined>,
  options: { cwd?: string; timeoutMs?: number } = {},
): Promise<CliRun> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [CLI_BIN, ...args],
      {
        env,
        timeout: options.timeoutMs ?? 60_000,
        maxBuffer: 16 * 1024 * 1024,
        ...(options.cwd ? { cwd: options.cwd } : {}),
      },
      (error, stdout, stderr) =>
        resolve({ code: error ? (typeof error.code === "number" ? error.code : -1) : 0, stdout, stderr }),
    );
  });
}

/** The test process's environment without Marketo credentials (with them the CLI would send to that instance). */
export const withoutMarketo = (): Record<string, string | undefined> =>
  Object.fromEntries(Object.entries(process.env).filter(([key]) => !key.startsWith("MARKETO_")));

/** Without Marketo or AWS configuration either: no profile file or instance metadata is consulted. */
export const withoutMarketoOrAws = (): Record<string, string | undefined> => ({
  ...Object.fromEntries(
    Object.entries(process.env).filter(([key]) => !key.startsWith("MARKETO_") && !key.startsWith("AWS_")),
  ),
  AWS_EC2_METADATA_DISABLED: "true",
  AWS_CONFIG_FILE: "/nonexistent",
  AWS_SHARED_CREDENTIALS_FILE: "/nonexistent",
});
