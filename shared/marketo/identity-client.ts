import { type Dispatcher, request } from "undici";
import { z } from "zod";
import { type Clock, systemClock } from "../time/clock.ts";
import type { MarketoEndpoints } from "./endpoints.ts";
import { MarketoRequestError, transportFailure } from "./errors.ts";
import { headerValue, parseRetryAfter, VISIBLE_ASCII } from "./http.ts";

export interface ClientCredentials {
  clientId: string;
  clientSecret: string;
}

export interface IssuedToken {
  accessToken: string;
  expiresInSeconds: number;
}

const TokenResponseSchema = z.object({
  // It travels in a header: a token the HTTP client could not send is a malformed answer, not a bad request.
  access_token: z.string().min(1).regex(VISIBLE_ASCII),
  token_type: z.string(),
  expires_in: z.number().int().nonnegative(),
  scope: z.string().optional(),
});

const OPERATION = "identity token request";

/**
 * Asks Marketo's identity service for a token. Credentials travel as query parameters because that is the
 * documented contract (swagger-identity.json); the URL is therefore never logged. A 429/5xx carries identity's
 * Retry-After (delta-seconds or HTTP date, read against `clock`) for the token provider to honour.
 */
export async function requestAccessToken(
  endpoints: Pick<MarketoEndpoints, "identityUrl">,
  credentials: ClientCredentials,
  dispatcher: Dispatcher,
  clock: Clock = systemClock,
): Promise<IssuedToken> {
  const url = new URL(`${endpoints.identityUrl}/oauth/token`);
  url.searchParams.set("grant_type", "client_credentials");
  url.searchParams.set("client_id", credentials.clientId);
  url.searchParams.set("client_secret", credentials.clientSecret);

  let response: Dispatcher.ResponseData;
  try {
    response = await request(url, { method: "POST", dispatcher, headers: { accept: "application/json" } });
  } catch (error) {
    throw transportFailure(OPERATION, error);
  }
  const text = await response.body.text();
  const requestId = headerValue(response.headers["x-request-id"]);
  if (response.statusCode === 401 || response.statusCode === 400 || response.statusCode === 403) {
    throw new MarketoRequestError({
      operation: OPERATION,
      disposition: "permanent",
      status: response.statusCode,
      code: "identity_rejected",
      message: "identity service rejected the client credentials",
      ...(requestId ? { requestId } : {}),
    });
  }
  if (response.statusCode !== 200) {
    const retryAfterMs = parseRetryAfter(response.headers["retry-after"], clock.now());
    throw new MarketoRequestError({
      operation: OPERATION,
      disposition: response.statusCode >= 500 || response.statusCode === 429 ? "retry" : "permanent",
      status: response.statusCode,
      code: `http_${response.statusCode}`,
      message: "identity service error",
      ...(requestId ? { requestId } : {}),
      ...(retryAfterMs !== undefined ? { retryAfterMs } : {}),
    });
  }
  let parsed: z.infer<typeof TokenResponseSchema>;
  try {
    parsed = TokenResponseSchema.parse(JSON.parse(text));
  } catch {
    throw new MarketoRequestError({
      operation: OPERATION,
      disposition: "retry",
      status: response.statusCode,
      code: "identity_malformed",
      message: "identity service answered without a usable token",
    });
  }
  return { accessToken: parsed.access_token, expiresInSeconds: parsed.expires_in };
}
