import { type ChildProcessWithoutNullStreams, spawn } from "node:child_process";
import { createServer } from "node:net";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";

const BIN = fileURLToPath(new URL("../../bin/marketo-ingest.mjs", import.meta.url));

/** The CLI started as a user would, left running; resolves once `lines` lines arrived on stdout. */
function startCli(args: string[]) {
  const child: ChildProcessWithoutNullStreams = spawn(process.execPath, [BIN, ...args], {
    env: Object.fromEntries(Object.entries(process.env).filter(([key]) => !key.startsWith("MARKETO_"))),
  });
  let stdout = "";
  let stderr = "";
  child.stdout.on("data", (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
  const exited = new Promise<number | null>((resolve) => child.on("close", (code) => resolve(code)));
  const lines = (n: number) =>
    new Promise<string[]>((resolve, reject) => {
      const check = () => {
        const got = stdout.split("\n").filter(Boolean);
        if (got.length >= n) resolve(got);
      };
      child.stdout.on("data", check);
      void exited.then(() => reject(new Error(`exited before ${n} lines: ${stderr}`)));
      check();
    });
  return { child, lines, exited, stderr: () => stderr };
}

function exportedEnv(lines: string[]): Record<string, string> {
  return Object.fromEntries(
    lines.map((line) => {
      const match = /^export (MARKETO_[A-Z_]+)=(\S+)$/.exec(line);
      if (!match) throw new Error(`not an export line: ${line}`);
      return [match[1] as string, match[2] as string];
    }),
  );
}

describe("marketo-ingest simulator", () => {
  it("prints the MARKETO_* variables of a working Marketo on 127.0.0.1 and stops on SIGTERM", async () => {
    const cli = startCli(["simulator"]);
    try {
      const env = exportedEnv(await cli.lines(6));
      expect(Object.keys(env).sort()).toEqual([
        "MARKETO_CLIENT_ID",
        "MARKETO_CLIENT_SECRET",
        "MARKETO_IDENTITY_URL",
        "MARKETO_INGESTION_URL",
        "MARKETO_MUNCHKIN_ID",
        "MARKETO_REST_URL",
      ]);
      expect(env.MARKETO_INGESTION_URL).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);

      // A client configured only from those variables gets a token and has a request accepted.
      const token = await fetch(
        `${env.MARKETO_IDENTITY_URL}/oauth/token?grant_type=client_credentials&client_id=${env.MARKETO_CLIENT_ID}&client_secret=${env.MARKETO_CLIENT_SECRET}`,
      );
      expect(token.status).toBe(200);
      const { access_token } = (await token.json()) as { access_token: string };
      const sent = await fetch(`${env.MARKETO_INGESTION_URL}/subscriptions/${env.MARKETO_MUNCHKIN_ID}/persons`, {
        method: "POST",
        headers: { "content-type": "application/json", "x-mkto-user-token": access_token },
        body: JSON.stringify({ persons: [{ email: "a@example.com" }] }),
      });
      expect(sent.status).toBe(202);

      cli.child.kill("SIGTERM");
      expect(await cli.exited).toBe(0);
      expect(cli.stderr()).toContain("simulator stopped (SIGTERM)");
      await expect(fetch(`${env.MARKETO_INGESTION_URL}/identity/oauth/token`)).rejects.toThrow();
    } finally {
      cli.child.kill("SIGKILL");
    }
  }, 30_000);

  it("listens on --port N and stops on SIGINT; a port in use or not a number is a clear error", async () => {
    const blocker = createServer();
    await new Promise<void>((resolve) => blocker.listen(0, "127.0.0.1", resolve));
    const busy = (blocker.address() as { port: number }).port;
    await new Promise<void>((resolve) => blocker.close(() => resolve()));

    const cli = startCli(["simulator", "--port", String(busy)]);
    try {
      const env = exportedEnv(await cli.lines(6));
      expect(env.MARKETO_REST_URL).toBe(`http://127.0.0.1:${busy}`);

      const second = startCli(["simulator", "--port", String(busy)]);
      expect(await second.exited).toBe(1);
      expect(second.stderr()).toContain(`port ${busy} is in use`);

      cli.child.kill("SIGINT");
      expect(await cli.exited).toBe(0);
      expect(cli.stderr()).toContain("simulator stopped (SIGINT)");
    } finally {
      cli.child.kill("SIGKILL");
    }
    const invalid = startCli(["simulator", "--port", "http"]);
    expect(await invalid.exited).toBe(2);
    expect(invalid.stderr()).toContain("--port must be an integer");
  }, 30_000);
});
