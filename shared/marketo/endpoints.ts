import type { MarketoSecret } from "../config/marketo-secret.ts";

export interface MarketoEndpoints {
  munchkinId: string;
  /** Base of the identity service; the token is at `${identityUrl}/oauth/token`. */
  identityUrl: string;
  /** REST base (Bulk Import lives under `${restUrl}/bulk/v1`). */
  restUrl: string;
  /** Data Ingestion base; requests go to `${ingestionUrl}/subscriptions/{munchkinId}/…`. */
  ingestionUrl: string;
}

export const DEFAULT_INGESTION_URL = "https://mkto-ingestion-api.adobe.io";

const trimSlash = (url: string): string => url.replace(/\/+$/, "");

/** Every base URL is configurable (sandboxes, proxies, the simulator); the defaults are Marketo's public hosts. */
export function resolveEndpoints(secret: MarketoSecret): MarketoEndpoints {
  const restUrl = trimSlash(secret.restUrl ?? `https://${secret.munchkinId}.mktorest.com`);
  return {
    munchkinId: secret.munchkinId,
    restUrl,
    identityUrl: trimSlash(secret.identityUrl ?? `${restUrl}/identity`),
    ingestionUrl: trimSlash(secret.ingestionUrl ?? DEFAULT_INGESTION_URL),
  };
}
