import type { MarketoSecret } from "../shared/config/marketo-secret.ts";
import { MarketoSecretSchema } from "../shared/config/marketo-secret.ts";
import { simulatorSecret, startMarketoSimulator } from "../local/marketo-simulator/index.ts";

export interface MarketoTarget {
  secret: MarketoSecret;
  /** "simulator" or "marketo {munchkinId}", for the summary. */
  label: string;
  close(): Promise<void>;
}

/**
 * A real Marketo when MARKETO_CLIENT_ID, MARKETO_CLIENT_SECRET and MARKETO_MUNCHKIN_ID are set (hosts overridable
 * with MARKETO_IDENTITY_URL, MARKETO_INGESTION_URL, MARKETO_REST_URL); otherwise the bundled simulator on 127.0.0.1.
 */
export async function resolveMarketoTarget(env: NodeJS.ProcessEnv): Promise<MarketoTarget> {
  const { MARKETO_CLIENT_ID, MARKETO_CLIENT_SECRET, MARKETO_MUNCHKIN_ID } = env;
  if (MARKETO_CLIENT_ID && MARKETO_CLIENT_SECRET && MARKETO_MUNCHKIN_ID) {
    const secret = MarketoSecretSchema.parse({
      clientId: MARKETO_CLIENT_ID,
      clientSecret: MARKETO_CLIENT_SECRET,
      munchkinId: MARKETO_MUNCHKIN_ID,
      ...(env.MARKETO_IDENTITY_URL ? { identityUrl: env.MARKETO_IDENTITY_URL } : {}),
      ...(env.MARKETO_INGESTION_URL ? { ingestionUrl: env.MARKETO_INGESTION_URL } : {}),
      ...(env.MARKETO_REST_URL ? { restUrl: env.MARKETO_REST_URL } : {}),
    });
    return { secret, label: `Marketo ${secret.munchkinId}`, close: async () => {} };
  }
  const simulator = await startMarketoSimulator();
  return {
    secret: simulatorSecret(simulator),
    label: `Marketo simulator at ${simulator.url}`,
    close: () => simulator.close(),
  };
}
