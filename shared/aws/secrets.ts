import { GetSecretValueCommand, type SecretsManagerClient } from "@aws-sdk/client-secrets-manager";
import { type MarketoSecret, parseMarketoSecret } from "../config/marketo-secret.ts";

/** Reads and validates the Marketo secret; the value never leaves this function except as a typed object. */
export async function loadMarketoSecret(client: SecretsManagerClient, secretId: string): Promise<MarketoSecret> {
  const response = await client.send(new GetSecretValueCommand({ SecretId: secretId }));
  if (response.SecretString === undefined) throw new Error(`secret ${secretId} has no string value`);
  return parseMarketoSecret(response.SecretString);
}
