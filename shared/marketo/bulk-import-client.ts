import { type Dispatcher, fetch } from "undici";
import type { BulkJobParams } from "../contracts/bulk-message.ts";
import type { BulkRoute } from "../options/bulk-route.ts";
import type { Clock } from "../time/clock.ts";
import { BULK_MAX_REQUEST_BYTES } from "../contracts/marketo-limits.ts";
import { type BulkImportFile, bulkImportBody, type MultipartBody } from "./bulk-multipart.ts";
import type { MarketoEndpoints } from "./endpoints.ts";
import { classifyRestErrorCode, type FailureDisposition, MarketoRequestError, transportFailure } from "./errors.ts";
import { parseRetryAfter } from "./http.ts";
import type { TokenProvider } from "./token-provider.ts";
import { callWithToken } from "./with-token.ts";

export type BulkJobState = "Queued" | "Importing" | "Complete" | "Failed";

export interface BulkJobStatus {
  batchId: number;
  status: BulkJobState;
  /** `numOfLeadsProcessed` (leads, program members) or `numOfObjectsProcessed` (custom objects). */
  processed: number;
  failed: number;
  warnings: number;
  message: string;
  requestId?: string;
}

export interface BulkImportClientDeps {
  endpoints: Pick<MarketoEndpoints, "restUrl">;
  tokens: TokenProvider;
  dispatcher: Dispatcher;
  clock: Clock;
}

/** Paths of one bulk object type (Adobe's Bulk Import pages): they differ per type, so they live together. */
export function bulkPaths(route: BulkRoute): { submit: string; job: (batchId: number) => string } {
  switch (route.target) {
    case "leads":
      return { submit: "/bulk/v1/leads.json", job: (id) => `/bulk/v1/leads/batch/${id}` };
    case "customobjects": {
      const base = `/bulk/v1/customobjects/${encodeURIComponent(route.apiName)}/import`;
      return { submit: `${base}.json`, job: (id) => `${base}/${id}` };
    }
    case "programmembers":
      return {
        submit: `/bulk/v1/program/${route.programId}/members/import.json`,
        job: (id) => `/bulk/v1/program/members/import/${id}`,
      };
  }
}

// Leads answer status at `…/batch/{id}.json`; the other types at `…/{id}/status.json`.
const statusPath = (route: BulkRoute, batchId: number): string =>
  route.target === "leads" ? `${bulkPaths(route).job(batchId)}.json` : `${bulkPaths(route).job(batchId)}/status.json`;

interface Envelope {
  requestId?: string;
  success?: boolean;
  result?: Array<Record<string, unknown>>;
  errors?: Array<{ code?: unknown; message?: unknown }>;
}

/**
 * Marketo Bulk Import client: multipart job creation, status, failures and warnings files; the token always in
 * `Authorization: Bearer` (the query parameter is gone). Errors are typed with their REST code and disposition.
 */
export class BulkImportClient {
  constructor(private readonly deps: BulkImportClientDeps) {}

  /** Creates an import job for one file; Marketo queues it and answers its batchId. The name is made safe first. */
  submit(route: BulkRoute, params: BulkJobParams, file: BulkImportFile): Promise<BulkJobStatus> {
    const path = bulkPaths(route).submit;
    // Built once: the same bytes go out again if the token is refreshed, and their size is what the splitter planned.
    const form = bulkImportBody(params, file);
    if (form.body.length > BULK_MAX_REQUEST_BYTES) {
      // Marketo would answer 413 after the whole upload; a part this large is a bug upstream, never a retry.
      return Promise.reject(
        new MarketoRequestError({
          operation: `POST ${path}`,
          disposition: "permanent",
          code: "request_too_large",
          message: `import request is ${form.body.length} bytes, over the ${BULK_MAX_REQUEST_BYTES}-byte limit`,
        }),
      );
    }
    return callWithToken(this.deps.tokens, async (token) => {
      const envelope = await this.call("POST", path, token, form);
      return toStatus(envelope, "POST", path);
    });
  }

  status(route: BulkRoute, batchId: number): Promise<BulkJobStatus> {
    const path = statusPath(route, batchId);
    return callWithToken(this.deps.tokens, async (token) => toStatus(await this.call("GET", path, token), "GET", path));
  }

  /** The failures (or warnings) file: the submitted columns plus a reason column; undefined when Marketo has none. */
  rowsFile(route: BulkRoute, batchId: number, kind: "failures" | "warnings"): Promise<string | undefined> {
    const path = `${bulkPaths(route).job(batchId)}/${kind}.json`;
    return callWithToken(this.deps.tokens, async (token) => {
      const response = await this.send("GET", path, token);
      // Marketo has been seen answering 404 for a failures/warnings file with no rows: "no rows", not an error.
      if (response.status === 404) return undefined;
      const text = await response.text();
      if (response.status === 200 && !/json/i.test(response.headers.get("content-type") ?? "")) return text;
      throw failureOf(response, text, "GET", path, this.deps.clock.now());
    });
  }

  private async call(method: string, path: string, token: string, form?: MultipartBody): Promise<Envelope> {
    const response = await this.send(method, path, token, form);
    const text = await response.text();
    const envelope = response.status === 200 ? parseEnvelope(text) : undefined;
    if (!envelope || envelope.success !== true) throw failureOf(response, text, method, path, this.deps.clock.now());
    return envelope;
  }

  private async send(method: string, path: string, token: string, form?: MultipartBody) {
    try {
      return await fetch(`${this.deps.endpoints.restUrl}${path}`, {
        method,
        headers: {
          authorization: `Bearer ${token}`,
          accept: "application/json",
          ...(form ? { "content-type": form.contentType } : {}),
        },
        ...(form ? { body: form.body } : {}),
        dispatcher: this.deps.dispatcher,
      });
    } catch (error) {
      throw transportFailure(`${method} ${path}`, error);
    }
  }
}

export function parseEnvelope(text: string): Envelope | undefined {
  try {
    const parsed = JSON.parse(text) as unknown;
    return typeof parsed === "object" && parsed !== null ? (parsed as Envelope) : undefined;
  } catch {
    return undefined;
  }
}

export function failureOf(
  response: { status: number; headers: { get(name: string): string | null } },
  text: string,
  method: string,
  path: string,
  now: number,
): MarketoRequestError {
  const operation = `${method} ${path}`;
  const envelope = parseEnvelope(text);
  const first = envelope?.errors?.[0];
  const requestId = envelope?.requestId;
  const retryAfterMs = parseRetryAfter(response.headers.get("retry-after") ?? undefined, now);
  const common = {
    operation,
    status: response.status,
    ...(requestId ? { requestId } : {}),
    ...(retryAfterMs !== undefined ? { retryAfterMs } : {}),
  };
  if (response.status === 200 && first?.code !== undefined) {
    const code = String(first.code);
    return new MarketoRequestError({
      ...common,
      disposition: classifyRestErrorCode(code),
      code,
      message: typeof first.message === "string" ? first.message : `error ${code}`,
    });
  }
  return new MarketoRequestError({
    ...common,
    disposition: httpDisposition(response.status),
    code: response.status === 200 ? "invalid_response" : String(response.status),
    // Bodies can echo file content: keep only a content-free description.
    message:
      response.status === 413
        ? "import file is over Marketo's size limit"
        : response.status === 200
          ? "answer is not a Marketo envelope"
          : `HTTP ${response.status}`,
  });
}

function httpDisposition(status: number): FailureDisposition {
  if (status === 401) return "refresh-token";
  // A 200 that is not an envelope is a gateway hiccup, as are 408/429/5xx.
  if (status === 200 || status === 408 || status === 429 || status >= 500) return "retry";
  return "permanent";
}

const STATES: readonly BulkJobState[] = ["Queued", "Importing", "Complete", "Failed"];

function toStatus(envelope: Envelope, method: string, path: string): BulkJobStatus {
  const job = envelope.result?.[0];
  const state = STATES.find((s) => s.toLowerCase() === String(job?.status ?? "").toLowerCase());
  const batchId = Number(job?.batchId);
  if (!job || !state || !Number.isInteger(batchId) || batchId <= 0) {
    throw new MarketoRequestError({
      operation: `${method} ${path}`,
      disposition: "retry",
      code: "invalid_response",
      message: "job answer has no batchId or status",
      ...(envelope.requestId ? { requestId: envelope.requestId } : {}),
    });
  }
  const count = (value: unknown) => (Number.isFinite(Number(value)) ? Number(value) : 0);
  return {
    batchId,
    status: state,
    processed: count(job.numOfLeadsProcessed ?? job.numOfObjectsProcessed),
    failed: count(job.numOfRowsFailed),
    warnings: count(job.numOfRowsWithWarning),
    message: typeof job.message === "string" ? job.message : "",
    ...(envelope.requestId ? { requestId: envelope.requestId } : {}),
  };
}
