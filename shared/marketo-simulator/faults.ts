/** Scripted misbehaviour for simulator calls, consumed in FIFO order by matching requests. */
export type Fault =
  | {
      kind: "status";
      status: number;
      errorCode?: string;
      message?: string;
      retryAfterSeconds?: number;
      path?: string;
      times?: number;
    }
  | { kind: "delay"; ms: number; path?: string; times?: number }
  | { kind: "reset"; path?: string; times?: number }
  | { kind: "expireTokens"; path?: string; times?: number }
  /** Bulk API only: HTTP 200 with a Marketo REST error envelope carrying `code`. */
  | { kind: "restError"; code: string; message?: string; path?: string; times?: number }
  /** Bulk API only: the next job created on a matching submit path ends `Failed` when it finishes importing. */
  | { kind: "failJob"; message?: string; path?: string; times?: number };

/** The kinds a request itself consumes on the Data Ingestion API (which has no REST envelope and no jobs). */
export const INGESTION_FAULT_KINDS: readonly Fault["kind"][] = ["status", "delay", "reset", "expireTokens"];

const REST_ERROR_MESSAGES: Record<string, string> = {
  "601": "Access token invalid",
  "602": "Access token expired",
  "606": "Max rate limit '100' exceeded with in '20' secs",
  "611": "System error",
  "615": "Concurrent access limit reached",
  "1016": "Too many imports",
  "1029": "Too many jobs in queue",
};

export function restErrorMessage(code: string): string {
  return REST_ERROR_MESSAGES[code] ?? `Error ${code}`;
}

const DEFAULT_CODES: Record<number, [string, string]> = {
  400: ["4000801", "Bad request"],
  401: ["401013", "Oauth token is invalid"],
  403: ["403010", "Oauth token is missing"],
  404: ["404040", "Resource not found"],
  413: ["4130801", "Request entity too large"],
  429: ["429001", "Service usage limit reached"],
  500: ["5000801", "Internal Server Error"],
  502: ["5000801", "Internal Server Error"],
  503: ["5000801", "Internal Server Error"],
  504: ["5000801", "Internal Server Error"],
};

export function defaultError(status: number): { code: string; message: string } {
  const [code, message] = DEFAULT_CODES[status] ?? [`${status}0000`, `HTTP ${status}`];
  return { code, message };
}

export class FaultQueue {
  private faults: Array<Fault & { remaining: number }> = [];

  push(fault: Fault): void {
    this.faults.push({ ...fault, remaining: fault.times ?? 1 });
  }

  /** The first fault of one of `kinds` that applies to a request on `path`, consuming one of its uses. */
  take(path: string, kinds: readonly Fault["kind"][] = INGESTION_FAULT_KINDS): Fault | undefined {
    const index = this.faults.findIndex((f) => kinds.includes(f.kind) && (!f.path || path.includes(f.path)));
    if (index < 0) return undefined;
    const fault = this.faults[index] as Fault & { remaining: number };
    fault.remaining--;
    if (fault.remaining <= 0) this.faults.splice(index, 1);
    return fault;
  }

  clear(): void {
    this.faults = [];
  }
}
