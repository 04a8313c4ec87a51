import { randomUUID } from "node:crypto";
import type { MarketoSecret } from "../../shared/config/marketo-secret.ts";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { setTimeout as delay } from "node:timers/promises";
import { BULK_DEFAULTS, type BulkLogEntry, BulkImportSim, type BulkStats, type SimBulkJob } from "./bulk-import.ts";
import {
  type AppliedFault,
  type ChaosOptions,
  defaultError,
  type Fault,
  FaultQueue,
  type FaultKind,
  IDENTITY_FAULT_KINDS,
} from "./faults.ts";
import {
  type Limits,
  objectCount,
  RuleViolation,
  type ValidRequest,
  validateCompanies,
  validateCustomObjects,
  validateListRequest,
  validatePersons,
  validateProgramMembers,
} from "./request-rules.ts";
import {
  type AsyncRejection,
  SimState,
  type StoredBulkProgramMember,
  type StoredListMember,
  type StoredObject,
  type StoredProgramMember,
} from "./sim-state.ts";
import { readCapped } from "./read-capped.ts";
import { TokenIssuer } from "./token-issuer.ts";
import { answerDescribe, type DescribeRequestLog, isDescribePath, type SimSchemas } from "./describe.ts";

export type { AppliedFault, ChaosOptions, Fault, FaultKind } from "./faults.ts";
export type {
  AsyncRejection,
  StoredBulkProgramMember,
  StoredListMember,
  StoredObject,
  StoredProgramMember,
} from "./sim-state.ts";
export type { DescribeRequestLog, SimField, SimSchemas } from "./describe.ts";
export type { BulkJobStatus, BulkLogEntry, BulkObjectType, BulkStats, SimBulkJob } from "./bulk-import.ts";

export interface SimulatorOptions {
  port?: number;
  munchkinId?: string;
  clientId?: string;
  clientSecret?: string;
  tokenTtlSeconds?: number;
  /** Data Ingestion: 1 MB per request. */
  maxBodyBytes?: number;
  /** Data Ingestion: 1,000 objects (program members, lists: lead references) per request. */
  maxObjectsPerRequest?: number;
  customPersonDedupeFields?: string[];
  /** A custom object's dedupe fields (its schema); without them an object's whole content is its key. */
  customObjectDedupeFields?: Record<string, string[]>;
  /** Bulk Import: 10 MB per file. */
  maxBulkFileBytes?: number;
  /** Bulk Import: 10 MB per request, the whole multipart body (413 beyond). */
  maxBulkRequestBytes?: number;
  /** Bulk Import: 10 jobs Queued or Importing (every integration's), a submit beyond answers 1016. */
  maxQueuedBulkJobs?: number;
  /** Bulk Import: 2 jobs Importing at once. */
  maxImportingBulkJobs?: number;
  /** Bulk Import: how long a job stays Importing (default 150 ms). */
  bulkImportMs?: number;
  /** Bulk Import: columns whose non-blank values must be integers (default leadScore, numberOfEmployees). */
  bulkIntegerFields?: string[];
  /** What the REST describe endpoints answer (leads, companies, program members, custom objects); defaults beside. */
  schemas?: SimSchemas;
  /** The server closes itself after this long, so a forgotten simulator never outlives its test (Infinity: never). */
  maxLifetimeMs?: number;
}

/** One ingestion call as the simulator saw it (no token values are kept). */
export interface IngestionRequestLog {
  method: string;
  path: string;
  endpoint: string;
  status: number;
  errorCode?: string;
  requestId: string;
  correlationId?: string;
  requestSource?: string;
  tokenPresent: boolean;
  bodyBytes: number;
  objectCount: number;
  fault?: FaultKind;
  /** Whether the fault was scripted (injectFault) or drawn by chaos (injectChaos). */
  faultSource?: AppliedFault["source"];
  /**
   * The client hung up before the answer was written (its timeout, typically during a delay fault): `status` is
   * then 499, as nobody received an answer. Whether the request changed the state depends on the delay fault's
   * `ifClientGone`.
   */
  clientGone?: true;
  receivedAt: number;
}

/** One identity (token) call as the simulator saw it (no credentials or tokens are kept). */
export interface IdentityRequestLog {
  /** HTTP status answered; -1 for a reset connection. */
  status: number;
  fault?: FaultKind;
  /** Seconds of the Retry-After header answered, when there was one. */
  retryAfterSeconds?: number;
  receivedAt: number;
}

export interface MarketoSimulator {
  readonly url: string;
  readonly identityUrl: string;
  readonly ingestionUrl: string;
  readonly restUrl: string;
  readonly munchkinId: string;
  readonly clientId: string;
  readonly clientSecret: string;
  /** Identity calls answered 401 (client id or secret not the current ones). */
  readonly identityRejections: number;
  /**
   * Replaces the credentials the identity service accepts (the old ones get 401 from now on). Tokens already
   * issued live on until they expire, as Marketo's do.
   */
  rotateCredentials(next: { clientId?: string; clientSecret: string }): void;
  readonly requests: readonly IngestionRequestLog[];
  readonly identityCalls: number;
  /** Every identity call since the last reset, in arrival order. */
  readonly identityRequests: readonly IdentityRequestLog[];
  /** Calls to the REST describe endpoints (the pre-flight's and the splitter's field check). */
  readonly describeRequests: readonly DescribeRequestLog[];
  readonly asyncRejections: readonly AsyncRejection[];
  persons(): StoredObject[];
  customObjects(apiName: string): StoredObject[];
  companies(): StoredObject[];
  programMembers(): StoredProgramMember[];
  /** Static list membership, as the lists endpoints left it. */
  listMembers(): StoredListMember[];
  /** Bulk Import: every job created (including other integrations'), in submission order. */
  readonly bulkJobs: readonly SimBulkJob[];
  /** Bulk Import: submits, rejections, status/failures/warnings calls and job transitions, in order. */
  readonly bulkLog: readonly BulkLogEntry[];
  bulkStats(): BulkStats;
  bulkProgramMembers(): StoredBulkProgramMember[];
  /** Adds up to n open jobs of "another integration" that hold queue and import slots until releaseBulkQueue(). */
  occupyBulkQueue(n: number): void;
  releaseBulkQueue(): void;
  injectFault(fault: Fault): void;
  /** Seeded random faults on calls no scripted fault matched (see ChaosOptions); replaces earlier chaos. */
  injectChaos(options: ChaosOptions): void;
  /** Faults applied since the last reset, per kind (every kind present), scripted and chaos or only one source. */
  faultsApplied(source?: AppliedFault["source"]): Record<FaultKind, number>;
  /** Every fault applied since the last reset, in order, with the path and whether it was scripted or chaos. */
  readonly faultLog: readonly AppliedFault[];
  expireTokens(): void;
  reset(): void;
  close(): Promise<void>;
}

const INGESTION_PATH =
  /^\/subscriptions\/([^/]+)\/(persons|customobjects\/([^/]+)|companies|programmembers|programmembers\/delete|lists|lists\/remove)$/;

/** A Marketo identity endpoint and Data Ingestion API on 127.0.0.1, with state to assert on and faults to inject. */
/** The Marketo secret that points a client at `sim`, with the credentials it accepts now (after any rotation). */
export function simulatorSecret(sim: MarketoSimulator): MarketoSecret {
  return {
    clientId: sim.clientId,
    clientSecret: sim.clientSecret,
    munchkinId: sim.munchkinId,
    identityUrl: sim.identityUrl,
    ingestionUrl: sim.ingestionUrl,
    restUrl: sim.restUrl,
  };
}

export async function startMarketoSimulator(options: SimulatorOptions = {}): Promise<MarketoSimulator> {
  const munchkinId = options.munchkinId ?? "123-ABC-456";
  // Mutable: rotateCredentials() replaces them, as an admin rotating the API user's secret in Marketo would.
  let clientId = options.clientId ?? "sim-client-id";
  let clientSecret = options.clientSecret ?? "sim-client-secret";
  const maxBodyBytes = options.maxBodyBytes ?? 1_000_000;
  const limits: Limits = {
    maxObjects: options.maxObjectsPerRequest ?? 1000,
    customPersonDedupeFields: new Set(options.customPersonDedupeFields ?? []),
  };
  const tokens = new TokenIssuer(options.tokenTtlSeconds ?? 3600);
  const faults = new FaultQueue();
  const state = new SimState(options.customObjectDedupeFields ?? {});
  const requests: IngestionRequestLog[] = [];
  const bulk = new BulkImportSim(
    {
      maxBulkFileBytes: options.maxBulkFileBytes ?? BULK_DEFAULTS.maxBulkFileBytes,
      maxBulkRequestBytes: options.maxBulkRequestBytes ?? BULK_DEFAULTS.maxBulkRequestBytes,
      maxQueuedBulkJobs: options.maxQueuedBulkJobs ?? BULK_DEFAULTS.maxQueuedBulkJobs,
      maxImportingBulkJobs: options.maxImportingBulkJobs ?? BULK_DEFAULTS.maxImportingBulkJobs,
      bulkImportMs: options.bulkImportMs ?? BULK_DEFAULTS.bulkImportMs,
      bulkIntegerFields: options.bulkIntegerFields ?? BULK_DEFAULTS.bulkIntegerFields,
    },
    tokens,
    faults,
    state,
  );
  let identityCalls = 0;
  const identityRequests: IdentityRequestLog[] = [];
  const describeRequests: DescribeRequestLog[] = [];
  let identityRejections = 0;

  const server = createServer((req, res) => {
    handle(req, res).catch(() => {
      if (!res.headersSent) res.writeHead(500).end();
    });
  });

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? "/", "http://127.0.0.1");
    if (url.pathname === "/identity/oauth/token") return identity(req, url, res);
    if (url.pathname.startsWith("/bulk/v1/")) return bulk.handle(req, res, url);
    if (isDescribePath(url.pathname)) {
      return answerDescribe(req, res, url, tokens, options.schemas ?? {}, faults, describeRequests);
    }
    const raw = await readCapped(req, maxBodyBytes);
    const body = { text: raw.body.toString("utf8"), bytes: raw.bytes };
    const requestId = randomUUID();
    const match = INGESTION_PATH.exec(url.pathname);
    const header = (name: string) => {
      const value = req.headers[name];
      return Array.isArray(value) ? value[0] : value;
    };
    const entry: IngestionRequestLog = {
      method: req.method ?? "",
      path: url.pathname,
      endpoint: match?.[2]?.startsWith("customobjects/") ? "customobjects" : (match?.[2] ?? "unknown"),
      status: 0,
      requestId,
      tokenPresent: header("x-mkto-user-token") !== undefined,
      bodyBytes: body.bytes,
      objectCount: 0,
      receivedAt: Date.now(),
      ...(header("x-correlation-id") !== undefined ? { correlationId: header("x-correlation-id") } : {}),
      ...(header("x-request-source") !== undefined ? { requestSource: header("x-request-source") } : {}),
    };
    requests.push(entry);
    // A client that hung up (its timeout) closes the socket: the response can no longer be delivered. Neither the
    // request's nor its 'close' event tells (it fires once the body is read); the response and socket do.
    const clientGone = () => res.destroyed || req.socket.destroyed;
    const logClientGone = () => {
      entry.status = 499;
      entry.clientGone = true;
    };
    const answer = (
      status: number,
      error?: { code: string; message: string },
      extraHeaders: Record<string, string> = {},
    ) => {
      if (clientGone()) return logClientGone();
      entry.status = status;
      if (error) entry.errorCode = error.code;
      res.writeHead(status, {
        "x-request-id": requestId,
        ...(error ? { "content-type": "application/json" } : { "content-length": "0" }),
        ...extraHeaders,
      });
      res.end(error ? JSON.stringify({ error_code: error.code, message: error.message }) : undefined);
    };

    if (!match || req.method !== "POST" || match[1] !== munchkinId) return answer(404, defaultError(404));
    const fault = faults.take(url.pathname);
    if (fault) {
      entry.fault = fault.kind;
      entry.faultSource = faults.log.at(-1)?.source ?? "scripted";
      if (fault.kind === "reset") {
        entry.status = -1;
        req.socket.destroy();
        return;
      }
      if (fault.kind === "delay") {
        await delay(fault.ms, undefined, { ref: false });
        if (fault.ifClientGone === "discard" && clientGone()) return logClientGone();
      }
      if (fault.kind === "expireTokens") tokens.expireAll();
      if (fault.kind === "status") {
        const error = defaultError(fault.status);
        return answer(
          fault.status,
          { code: fault.errorCode ?? error.code, message: fault.message ?? error.message },
          fault.retryAfterSeconds !== undefined ? { "retry-after": String(fault.retryAfterSeconds) } : {},
        );
      }
    }
    // The documented contract: the token travels in X-Mkto-User-Token only; a URL token would leak into logs.
    if (url.searchParams.has("access_token")) {
      return answer(403, {
        code: "403010",
        message: "Oauth token is missing: pass it in the X-Mkto-User-Token header, never as a query parameter",
      });
    }
    const token = header("x-mkto-user-token");
    if (token === undefined || token === "") return answer(403, defaultError(403));
    if (!tokens.isValid(token)) return answer(401, defaultError(401));
    if (!/^application\/json\b/i.test(header("content-type") ?? "")) {
      return answer(400, { code: "4000801", message: "Content-Type must be application/json" });
    }
    if (body.bytes > maxBodyBytes) return answer(413, defaultError(413));
    if ((header("x-correlation-id")?.length ?? 0) > 255 || (header("x-request-source")?.length ?? 0) > 50) {
      return answer(400, { code: "4000801", message: "X-Correlation-Id ≤ 255 and X-Request-Source ≤ 50 characters" });
    }
    let parsed: unknown;
    try {
      parsed = JSON.parse(body.text);
    } catch {
      return answer(400, { code: "4000801", message: "Request body is not valid JSON" });
    }
    if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) {
      return answer(400, { code: "4000801", message: "Request body must be a JSON object" });
    }
    let valid: ValidRequest;
    try {
      valid = validate(match[2] as string, match[3], parsed as Record<string, unknown>, limits);
    } catch (error) {
      if (error instanceof RuleViolation) return answer(400, { code: error.errorCode, message: error.message });
      throw error;
    }
    entry.objectCount = objectCount(valid);
    state.apply(valid, requestId);
    answer(202);
  }

  /** Identity takes status, delay and reset faults, and only those that name its path (`/identity`). */
  async function identity(req: IncomingMessage, url: URL, res: ServerResponse) {
    identityCalls++;
    req.resume();
    const entry: IdentityRequestLog = { status: 0, receivedAt: Date.now() };
    identityRequests.push(entry);
    const reply = (status: number, body: unknown, headers: Record<string, string> = {}) => {
      entry.status = status;
      res.writeHead(status, { "content-type": "application/json", ...headers });
      res.end(JSON.stringify(body));
    };
    const fault = faults.take(url.pathname, IDENTITY_FAULT_KINDS, true);
    if (fault) entry.fault = fault.kind;
    if (fault?.kind === "reset") {
      entry.status = -1;
      req.socket.destroy();
      return;
    }
    if (fault?.kind === "delay") await delay(fault.ms, undefined, { ref: false });
    if (fault?.kind === "status") {
      if (fault.retryAfterSeconds !== undefined) entry.retryAfterSeconds = fault.retryAfterSeconds;
      return reply(
        fault.status,
        {
          error: fault.errorCode ?? "temporarily_unavailable",
          error_description: fault.message ?? `HTTP ${fault.status}`,
        },
        fault.retryAfterSeconds !== undefined ? { "retry-after": String(fault.retryAfterSeconds) } : {},
      );
    }
    if (req.method !== "GET" && req.method !== "POST") return reply(405, { error: "method_not_allowed" });
    if (url.searchParams.get("grant_type") !== "client_credentials") {
      return reply(400, {
        error: "unsupported_grant_type",
        error_description: "grant_type must be client_credentials",
      });
    }
    if (url.searchParams.get("client_id") !== clientId || url.searchParams.get("client_secret") !== clientSecret) {
      identityRejections++;
      return reply(401, { error: "unauthorized", error_description: "Bad client credentials" });
    }
    reply(200, tokens.issue());
  }

  // A port in use rejects here (EADDRINUSE) instead of crashing the process from an unhandled 'error' event.
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(options.port ?? 0, "127.0.0.1", () => {
      server.off("error", reject);
      resolve();
    });
  });
  server.unref();
  const lifetimeMs = options.maxLifetimeMs ?? 15 * 60_000;
  const lifetime = Number.isFinite(lifetimeMs) ? setTimeout(() => void close(), lifetimeMs) : undefined;
  lifetime?.unref();
  const close = () =>
    new Promise<void>((resolve) => {
      clearTimeout(lifetime);
      bulk.close();
      server.closeAllConnections();
      server.close(() => resolve());
    });
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  return {
    url,
    identityUrl: `${url}/identity`,
    ingestionUrl: url,
    restUrl: url,
    munchkinId,
    get clientId() {
      return clientId;
    },
    get clientSecret() {
      return clientSecret;
    },
    get identityRejections() {
      return identityRejections;
    },
    rotateCredentials: (next) => {
      clientId = next.clientId ?? clientId;
      clientSecret = next.clientSecret;
    },
    requests,
    get identityCalls() {
      return identityCalls;
    },
    identityRequests,
    describeRequests,
    asyncRejections: state.asyncRejections,
    persons: () => [...state.persons.values()],
    customObjects: (apiName) => [...(state.customObjects.get(apiName)?.values() ?? [])],
    companies: () => [...state.companies.values()],
    programMembers: () => [...state.programMembers.values()],
    listMembers: () => [...state.listMembers.values()],
    bulkJobs: bulk.jobs,
    bulkLog: bulk.log,
    bulkStats: () => bulk.stats(),
    bulkProgramMembers: () => [...state.bulkProgramMembers.values()],
    occupyBulkQueue: (n) => bulk.occupy(n),
    releaseBulkQueue: () => bulk.release(),
    injectFault: (fault) => faults.push(fault),
    injectChaos: (options) => faults.injectChaos(options),
    faultsApplied: (source) => faults.appliedCounts(source),
    get faultLog() {
      return faults.log;
    },
    expireTokens: () => tokens.expireAll(),
    reset: () => {
      state.clear();
      faults.clear();
      bulk.reset();
      requests.length = 0;
      identityRequests.length = 0;
      describeRequests.length = 0;
      identityCalls = 0;
      identityRejections = 0;
    },
    close,
  };
}

function validate(
  route: string,
  apiName: string | undefined,
  body: Record<string, unknown>,
  limits: Limits,
): ValidRequest {
  if (route === "persons") return validatePersons(body, limits);
  if (route === "companies") return validateCompanies(body, limits);
  if (route === "programmembers") return validateProgramMembers(body, limits, false);
  if (route === "programmembers/delete") return validateProgramMembers(body, limits, true);
  if (route === "lists") return validateListRequest(body, limits, false);
  if (route === "lists/remove") return validateListRequest(body, limits, true);
  return validateCustomObjects(apiName as string, body, limits);
}
