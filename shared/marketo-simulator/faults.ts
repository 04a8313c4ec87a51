/** Scripted misbehaviour for ingestion calls, consumed in FIFO order by matching requests. */
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
  | { kind: "expireTokens"; path?: string; times?: number };

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

  /** The fault that applies to a request on `path`, consuming one of its uses. */
  take(path: string): Fault | undefined {
    const index = this.faults.findIndex((f) => !f.path || path.includes(f.path));
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
