import type { SecretsManagerClient } from "@aws-sdk/client-secrets-manager";
import type { Dispatcher } from "undici";
import { loadMarketoSecret } from "../aws/secrets.ts";
import { systemClock } from "../time/clock.ts";
import { type MarketoEndpoints, resolveEndpoints } from "./endpoints.ts";
import { requestAccessToken } from "./identity-client.ts";
import { TokenProvider } from "./token-provider.ts";

/**
 * A Marketo client built on first use from the secret: one per container (token cache, connection pool). A failed
 * build (secret unreadable) is forgotten, so the next message tries again instead of the container staying broken.
 */
export function lazyMarketoClient<T>(
  secrets: SecretsManagerClient,
  secretId: string,
  dispatcher: Dispatcher,
  build: (connection: { endpoints: MarketoEndpoints; tokens: TokenProvider }) => T,
): () => Promise<T> {
  let client: Promise<T> | undefined;
  const create = async (): Promise<T> => {
    const secret = await loadMarketoSecret(secrets, secretId);
    const endpoints = resolveEndpoints(secret);
    const tokens = new TokenProvider(() => requestAccessToken(endpoints, secret, dispatcher, systemClock), {
      clock: systemClock,
    });
    return build({ endpoints, tokens });
  };
  return () => {
    client ??= create().catch((error: unknown) => {
      client = undefined;
      throw error;
    });
    return client;
  };
}
