import { startMarketoSimulator } from "../local/marketo-simulator/index.ts";

export interface SimulatorFlags {
  port?: string;
}

/**
 * `marketo-ingest simulator [--port N]`: the bundled Marketo simulator on 127.0.0.1 for a user's own integration
 * tests. The variables a client needs go to stdout as `export` lines (so `eval` or a copy works); it runs until
 * SIGINT or SIGTERM.
 */
export async function simulatorCommand(flags: SimulatorFlags, signals: NodeJS.EventEmitter = process): Promise<number> {
  const port = flags.port === undefined ? 0 : Number(flags.port);
  if (!Number.isInteger(port) || port < 0 || port > 65_535) {
    console.error(`--port must be an integer from 0 to 65535 (0: any free port), not "${flags.port}"`);
    return 2;
  }
  let simulator: Awaited<ReturnType<typeof startMarketoSimulator>>;
  try {
    // A user's simulator lives until they stop it, unlike a test's (which closes itself after 15 minutes).
    simulator = await startMarketoSimulator({ port, maxLifetimeMs: Number.POSITIVE_INFINITY });
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    console.error(
      code === "EADDRINUSE" ? `port ${port} is in use: pick another with --port` : `simulator: ${String(error)}`,
    );
    return 1;
  }
  const env = {
    MARKETO_CLIENT_ID: simulator.clientId,
    MARKETO_CLIENT_SECRET: simulator.clientSecret,
    MARKETO_MUNCHKIN_ID: simulator.munchkinId,
    MARKETO_IDENTITY_URL: simulator.identityUrl,
    MARKETO_INGESTION_URL: simulator.ingestionUrl,
    MARKETO_REST_URL: simulator.restUrl,
  };
  console.error(`Marketo simulator listening on ${simulator.url} (identity, Data Ingestion, Bulk Import, REST)`);
  console.error("Point a client at it with these variables (marketo-ingest run reads them too); Ctrl-C stops it:");
  for (const [name, value] of Object.entries(env)) console.log(`export ${name}=${value}`);
  // The simulator's server does not hold the process open (tests rely on that); this timer does, until a signal.
  const keepAlive = setInterval(() => {}, 1 << 30);
  const signal = await new Promise<string>((resolve) => {
    signals.once("SIGINT", () => resolve("SIGINT"));
    signals.once("SIGTERM", () => resolve("SIGTERM"));
  });
  clearInterval(keepAlive);
  await simulator.close();
  console.error(`simulator stopped (${signal})`);
  return 0;
}
