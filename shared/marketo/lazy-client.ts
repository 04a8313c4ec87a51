import type { SecretsManagerClient } from "@aws-sdk/client-secrets-manager";
import type { Dispatcher } from "undici";
import type { MarketoSecret } from "../config/marketo-secret.ts";
import { cachedMarketoSecret, DEFAULT_SECRET_MAX_AGE_MS, type MarketoSecretSource } from "../aws/secrets.ts";
import { type Clock, systemClock } from "../time/clock.ts";
import { type MarketoEndpoints, resolveEndpoints } from "./endpoints.ts";
import { MarketoRequestError } from "./errors.ts";
import { type IssuedToken, requestAccessToken } from "./identity-client.ts";
import { TokenProvider } from "./token-provider.ts";

export interface LazyClientOptions {
  /** Age after which the secret is read again, so a rotation reaches warm containers (default 5 minutes). */
  secretMaxAgeMs?: number;
  clock?: Clock;
}

/**
 * A Marketo client built on first use from the secret: one per container (token cache, connection pool). The
 * secret is read again once older than `secretMaxAgeMs`, and at once when the identity service rejects its
 * credentials (rotated); each token request uses the credentials read last. The client is rebuilt only when the
 * instance it talks to (munchkin id, hosts) changed. A failed read is not kept: the next message tries again.
 */
export function lazyMarketoClient<T>(
  secrets: SecretsManagerClient,
  secretId: string,
  dispatcher: Dispatcher,
  build: (connection: { endpoints: MarketoEndpoints; tokens: TokenProvider }) => T,
  options: LazyClientOptions = {},
): () => Promise<T> {
  const clock = options.clock ?? systemClock;
  const source = cachedMarketoSecret(secrets, secretId, {
    maxAgeMs: options.secretMaxAgeMs ?? DEFAULT_SECRET_MAX_AGE_MS,
    clock,
  });
  let current: { instance: string; client: T } | undefined;
  return async () => {
    const secret = await source.current();
    const instance = instanceOf(secret);
    if (current?.instance !== instance) {
      const endpoints = resolveEndpoints(secret);
      const tokens = new TokenProvider(() => issueToken(source, endpoints, dispatcher, clock), { clock });
      current = { instance, client: build({ endpoints, tokens }) };
    }
    return current.client;
  };
}

/** A token for the credentials read last; rejected credentials make the secret be read again at once. */
async function issueToken(
  source: MarketoSecretSource,
  endpoints: MarketoEndpoints,
  dispatcher: Dispatcher,
  clock: Clock,
): Promise<IssuedToken> {
  const secret = await source.current();
  try {
    return await requestAccessToken(endpoints, secret, dispatcher, clock);
  } catch (error) {
    if (!(error instanceof MarketoRequestError) || error.failure.code !== "identity_rejected") throw error;
    const fresh = await source.reload();
    if (fresh.clientId === secret.clientId && fresh.clientSecret === secret.clientSecret) throw error;
    return requestAccessToken(endpoints, fresh, dispatcher);
  }
}

/** What identifies the Marketo instance a client talks to; credentials are not part of it. */
const instanceOf = (secret: MarketoSecret): string =>
  JSON.stringify([secret.munchkinId, secret.identityUrl, secret.restUrl, secret.ingestionUrl]);
