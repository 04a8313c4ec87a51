import { GetSecretValueCommand, type SecretsManagerClient } from "@aws-sdk/client-secrets-manager";
import { type MarketoSecret, parseMarketoSecret } from "../config/marketo-secret.ts";
import type { Clock } from "../time/clock.ts";

/** Reads and validates the Marketo secret; the value never leaves this function except as a typed object. */
export async function loadMarketoSecret(client: SecretsManagerClient, secretId: string): Promise<MarketoSecret> {
  const response = await client.send(new GetSecretValueCommand({ SecretId: secretId }));
  if (response.SecretString === undefined) throw new Error(`secret ${secretId} has no string value`);
  return parseMarketoSecret(response.SecretString);
}

/** How long a process trusts the secret it read before reading it again (a rotation reaches warm containers). */
export const DEFAULT_SECRET_MAX_AGE_MS = 300_000;

/** The Marketo secret as a process sees it: cached, read again once older than its max age or when told to. */
export interface MarketoSecretSource {
  /** The cached secret while it is younger than the max age, else a fresh read. */
  current(): Promise<MarketoSecret>;
  /** A fresh read now (the identity service rejected the cached credentials: they may have been rotated). */
  reload(): Promise<MarketoSecret>;
}

/**
 * A small max-age cache over GetSecretValue (what Powertools Parameters' `maxAge` does, without the package).
 * Concurrent callers share one read; a failed read is not cached, so the next caller tries again.
 */
export function cachedMarketoSecret(
  client: SecretsManagerClient,
  secretId: string,
  options: { maxAgeMs: number; clock: Clock },
): MarketoSecretSource {
  let cached: { secret: MarketoSecret; readAt: number } | undefined;
  let inFlight: Promise<MarketoSecret> | undefined;
  const reload = (): Promise<MarketoSecret> => {
    inFlight ??= loadMarketoSecret(client, secretId)
      .then((secret) => {
        cached = { secret, readAt: options.clock.now() };
        return secret;
      })
      .finally(() => {
        inFlight = undefined;
      });
    return inFlight;
  };
  return {
    current: async () => (cached && options.clock.now() - cached.readAt < options.maxAgeMs ? cached.secret : reload()),
    reload,
  };
}
