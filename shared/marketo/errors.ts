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

/** Failures of the transport itself (no HTTP answer) are always worth retrying. */
export function transportFailure(operation: string, error: unknown): MarketoRequestError {
  const code = (error as { code?: string } | undefined)?.code ?? "NETWORK_ERROR";
  const message = error instanceof Error ? error.message : String(error);
  return new MarketoRequestError({ operation, disposition: "retry", code, message }, { cause: error });
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
