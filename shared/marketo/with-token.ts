import { MarketoRequestError } from "./errors.ts";
import type { TokenProvider, TokenRequest } from "./token-provider.ts";

/**
 * Runs a Marketo call with the current access token. A token Marketo rejects (401/601/602) died between issue
 * and use: it is dropped and the call made once more with a fresh one. No token at all is never the data's fault
 * (bad or rotated credentials, identity outage), so it surfaces as a retryable failure, with identity's
 * Retry-After when it gave one.
 */
export async function callWithToken<T>(
  tokens: TokenProvider,
  call: (token: string) => Promise<T>,
  request: TokenRequest = {},
): Promise<T> {
  const token = await currentToken(tokens, request);
  try {
    return await call(token);
  } catch (error) {
    if (!(error instanceof MarketoRequestError) || error.disposition !== "refresh-token") throw error;
    tokens.invalidate(token);
    return call(await currentToken(tokens, request));
  }
}

async function currentToken(tokens: TokenProvider, request: TokenRequest): Promise<string> {
  try {
    return await tokens.getToken(request);
  } catch (error) {
    const failure = error instanceof MarketoRequestError ? error.failure : undefined;
    throw new MarketoRequestError(
      {
        operation: "access token",
        disposition: "retry",
        code: failure?.code ?? "token_unavailable",
        message: failure?.message ?? (error instanceof Error ? error.message : String(error)),
        ...(failure?.status !== undefined ? { status: failure.status } : {}),
        ...(failure?.retryAfterMs !== undefined ? { retryAfterMs: failure.retryAfterMs } : {}),
      },
      { cause: error },
    );
  }
}
