import { type Dispatcher, request } from "undici";
import type { Clock } from "../time/clock.ts";
import type { MarketoEndpoints } from "./endpoints.ts";
import { classifyIngestionFailure, MarketoRequestError, transportFailure } from "./errors.ts";
import { headerValue, parseRetryAfter, traceHeaderValue } from "./http.ts";
import { isIngestionResource } from "../options/object-route.ts";
import type { TokenProvider } from "./token-provider.ts";
import { callWithToken } from "./with-token.ts";

export interface IngestionRequest {
  /** Resource under `/subscriptions/{munchkinId}/`, e.g. `persons` or `customobjects/car_c`. */
  resource: string;
  /** The exact JSON body, already within the 1 MB limit. */
  body: string;
  /**
   * Traces the request in Marketo's Observability Data Stream. Sent as is when it is visible ASCII of at most 255
   * characters (the pipeline's batchCorrelationId always is), otherwise percent-encoded and cut to 255.
   */
  correlationId?: string;
  /**
   * Longest this call may wait for the identity service's Retry-After before its token; beyond that it fails at
   * once, retryable, carrying the wait (`retryAfterMs`). The token provider's default when absent.
   */
  maxWaitMs?: number;
}

export interface IngestionAccepted {
  requestId: string;
}

export interface IngestionClientDeps {
  endpoints: Pick<MarketoEndpoints, "ingestionUrl" | "munchkinId">;
  tokens: TokenProvider;
  dispatcher: Dispatcher;
  clock: Clock;
  /** `X-Request-Source` (visible ASCII, ≤ 50 chars; encoded and cut like the correlation id otherwise). */
  requestSource?: string;
}

/** Marketo's limits for the trace headers (Adobe's Data Ingestion reference). */
export const MAX_CORRELATION_ID_CHARS = 255;
export const MAX_REQUEST_SOURCE_CHARS = 50;

/** Data Ingestion API client: one call per `submit`, the token in `X-Mkto-User-Token`, errors typed. */
export class IngestionClient {
  constructor(private readonly deps: IngestionClientDeps) {}

  submit(req: IngestionRequest): Promise<IngestionAccepted> {
    return callWithToken(
      this.deps.tokens,
      (token) => this.post(req, token),
      req.maxWaitMs !== undefined ? { maxWaitMs: req.maxWaitMs } : {},
    );
  }

  private async post(req: IngestionRequest, token: string): Promise<IngestionAccepted> {
    if (!isIngestionResource(req.resource)) {
      // The path is built from this string: only the resources of known object types may carry the token.
      throw new MarketoRequestError({
        operation: "POST (refused)",
        disposition: "permanent",
        code: "invalid_resource",
        message: "not a Data Ingestion resource of a known object type",
      });
    }
    const { ingestionUrl, munchkinId } = this.deps.endpoints;
    const url = `${ingestionUrl}/subscriptions/${encodeURIComponent(munchkinId)}/${req.resource}`;
    const operation = `POST /${req.resource}`;
    const headers: Record<string, string> = {
      "content-type": "application/json",
      "x-mkto-user-token": token,
    };
    if (req.correlationId) headers["x-correlation-id"] = traceHeaderValue(req.correlationId, MAX_CORRELATION_ID_CHARS);
    if (this.deps.requestSource) {
      headers["x-request-source"] = traceHeaderValue(this.deps.requestSource, MAX_REQUEST_SOURCE_CHARS);
    }

    let response: Dispatcher.ResponseData;
    let text: string;
    try {
      response = await request(url, { method: "POST", headers, body: req.body, dispatcher: this.deps.dispatcher });
      text = await response.body.text();
    } catch (error) {
      throw transportFailure(operation, error);
    }
    const requestId = headerValue(response.headers["x-request-id"]);
    if (response.statusCode === 202) {
      return { requestId: requestId ?? "" };
    }
    const { code, message } = parseErrorBody(text, response.statusCode);
    const retryAfterMs = parseRetryAfter(response.headers["retry-after"], this.deps.clock.now());
    throw new MarketoRequestError({
      operation,
      disposition: classifyIngestionFailure(response.statusCode, code),
      status: response.statusCode,
      code,
      message,
      ...(requestId ? { requestId } : {}),
      ...(retryAfterMs !== undefined ? { retryAfterMs } : {}),
    });
  }
}

function parseErrorBody(text: string, status: number): { code: string; message: string } {
  try {
    const parsed = JSON.parse(text) as { error_code?: unknown; message?: unknown };
    return {
      code: parsed.error_code !== undefined ? String(parsed.error_code) : `http_${status}`,
      message: typeof parsed.message === "string" ? parsed.message : `HTTP ${status}`,
    };
  } catch {
    // Gateways in front of Marketo can answer HTML; keep only a short, content-free description.
    return { code: `http_${status}`, message: `HTTP ${status} with a non-JSON body` };
  }
}
