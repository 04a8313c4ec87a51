/**
 * What a caller should do about a failed Marketo call:
 * - `retry`: transient (5xx, 429 usage limit, 606/615/1016/1029, timeouts, resets): try again later, never drop.
 * - `refresh-token`: the token was rejected (401, 601, 602): get a new one and retry once.
 * - `quota`: the daily quota is spent (4290801, 607): keep the data and wait for the reset.
 * - `permanent`: the request itself is wrong (400, 403, 404, 413, 1003…): report it, do not retry.
 */
export type FailureDisposition = "retry" | "refresh-token" | "quota" | "permanent";

export interface MarketoFailure {
  operation: string;
  disposition: FailureDisposition;
  /** HTTP status, when Marketo answered. */
  status?: number;
  /** Marketo's error code (`error_code` for Data Ingestion, `errors[].code` for REST), or a transport code. */
  code: string;
  message: string;
  requestId?: string;
  /** Delay Marketo asked for (Retry-After), in milliseconds. */
  retryAfterMs?: number;
}

export class MarketoRequestError extends Error {
  override readonly name = "MarketoRequestError";
  readonly failure: MarketoFailure;

  constructor(failure: MarketoFailure, options?: { cause?: unknown }) {
    super(
      `${failure.operation} failed: ${failure.status ?? "no response"} ${failure.code} ${failure.message}`,
      options,
    );
    this.failure = failure;
  }

  get disposition(): FailureDisposition {
    return this.failure.disposition;
  }
}

/**
 * Data Ingestion answers `{error_code, message}`: 401 refresh the token; 429 `4290801` the daily quota; other 429s,
 * 408 and 5xx transient; the rest (400 `4000801`/`4000802`, 403, 404, 413) wrong for good.
 */
export function classifyIngestionFailure(status: number, errorCode: string | undefined): FailureDisposition {
  if (status === 401) return "refresh-token";
  if (status === 429) return errorCode === "4290801" ? "quota" : "retry";
  if (status === 408 || status >= 500) return "retry";
  return "permanent";
}

/** Marketo REST envelope codes (used by identity and Bulk Import). */
export function classifyRestErrorCode(code: string): FailureDisposition {
  switch (code) {
    case "601":
    case "602":
      return "refresh-token";
    case "604":
    case "606":
    case "608":
    case "611":
    case "615":
    case "1016":
    case "1029":
      return "retry";
    case "607":
      return "quota";
    default:
      return "permanent";
  }
}

/**
 * A failed call that got no HTTP answer. The network (resets, timeouts, refused connections) is worth retrying;
 * a request the HTTP client refused to send (see clientRefusal) is not: the same request fails the same way.
 */
export function transportFailure(operation: string, error: unknown): MarketoRequestError {
  const refusal = clientRefusal(error);
  if (refusal) {
    return new MarketoRequestError(
      { operation, disposition: "permanent", code: "invalid_request", message: refusal },
      { cause: error },
    );
  }
  const code = (error as { code?: string } | undefined)?.code ?? "NETWORK_ERROR";
  const message = error instanceof Error ? error.message : String(error);
  return new MarketoRequestError({ operation, disposition: "retry", code, message }, { cause: error });
}

const REFUSAL_CODES = new Set(["UND_ERR_INVALID_ARG", "ERR_INVALID_CHAR", "ERR_INVALID_HTTP_TOKEN"]);

/**
 * Why the HTTP client refused to build or send the request before anything left the process, or undefined when
 * it did not: undici's InvalidArgumentError (a header value above U+00FF, CR, LF, a control character), Node's
 * ERR_INVALID_CHAR / ERR_INVALID_ARG_*, a TypeError from building the request, or fetch's "fetch failed" caused by
 * one of those. The reason names the header or argument, never its value (it may hold a token or a file name).
 */
export function clientRefusal(error: unknown): string | undefined {
  if (!(error instanceof Error)) return undefined;
  const code = (error as { code?: unknown }).code;
  const prefix = "the HTTP client refused the request before sending it";
  if (typeof code === "string" && (REFUSAL_CODES.has(code) || code.startsWith("ERR_INVALID_ARG_"))) {
    // undici's and Node's messages name the header ("invalid x-correlation-id header", `… ["x-request-source"]`);
    // Node's ERR_INVALID_ARG_* messages quote the received value, so only the argument's name is kept.
    const named = code.startsWith("ERR_INVALID_ARG_") ? /^The "([^"]+)"/.exec(error.message)?.[1] : undefined;
    const detail = code.startsWith("ERR_INVALID_ARG_") ? `invalid argument ${named ?? "(unnamed)"}` : error.message;
    return `${prefix} (${code}): ${detail}`;
  }
  if (error instanceof TypeError && code === undefined) {
    // fetch wraps every failure, network ones included, in TypeError("fetch failed"): only its cause can tell.
    if (error.message === "fetch failed") return clientRefusal(error.cause);
    // Headers/ByteString conversion: the message quotes the offending value, so it is not repeated.
    const what = /ByteString|header/i.test(error.message) ? "a header value is not sendable" : "the request is invalid";
    return `${prefix} (TypeError): ${what}`;
  }
  return undefined;
}

/** Any error from a Marketo call as a failure; an unexpected one is transient (retrying costs time, dropping loses rows). */
export function asMarketoFailure(error: unknown, operation: string): MarketoFailure {
  if (error instanceof MarketoRequestError) return error.failure;
  return {
    operation,
    disposition: "retry",
    code: "unexpected_error",
    message: error instanceof Error ? error.message : String(error),
  };
}
