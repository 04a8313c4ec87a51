/**
 * Scripted misbehaviour for simulator calls, consumed in FIFO order by matching requests. Every kind takes:
 * - `path`: only requests whose path contains it match;
 * - `after`: the fault stays dormant for the first `after` requests it matches (they pass untouched, and it does
 *   not stand in the way of later faults), then applies;
 * - `times`: how many matching requests it applies to once active (default 1).
 * The identity endpoint (`/identity/oauth/token`) takes `status` (with its `retryAfterSeconds`), `delay` and
 * `reset`, and only from a fault whose `path` names it: a fault without `path` never lands on a token request.
 */
export type Fault = FaultBody & FaultScope;

interface FaultScope {
  path?: string;
  after?: number;
  times?: number;
}

type FaultBody =
  | { kind: "status"; status: number; errorCode?: string; message?: string; retryAfterSeconds?: number }
  /**
   * Holds the request `ms` before handling it. `ifClientGone` says what happens when the client hung up meanwhile
   * (its timeout): "process" (default) applies the request to the state all the same, "discard" drops it, as a
   * gateway that held the request and gave up would. Either way the log says 499 with `clientGone: true`.
   * Data Ingestion paths only; the bulk paths always process.
   */
  | { kind: "delay"; ms: number; ifClientGone?: "process" | "discard" }
  | { kind: "reset" }
  | { kind: "expireTokens" }
  /** Bulk API only: HTTP 200 with a Marketo REST error envelope carrying `code`. */
  | { kind: "restError"; code: string; message?: string }
  /** Bulk API only: the next job created on a matching submit path ends `Failed` when it finishes importing. */
  | { kind: "failJob"; message?: string };

export type FaultKind = Fault["kind"];

export const FAULT_KINDS: readonly FaultKind[] = ["status", "delay", "reset", "expireTokens", "restError", "failJob"];

/** The kinds a request itself consumes on the Data Ingestion API (which has no REST envelope and no jobs). */
export const INGESTION_FAULT_KINDS: readonly FaultKind[] = ["status", "delay", "reset", "expireTokens"];

/**
 * Seeded random faults: every call that no scripted fault matched draws from a PRNG seeded with `seed`; with
 * probability `rate` it gets one of `faults` (drawn by the same PRNG), until `maxFaults` chaos faults have been
 * applied. Only the faults a call can take (its kinds, and each fault's own `path`) are candidates; a call with no
 * candidate draws nothing. `times` and `after` of the listed faults are ignored: each draw applies one fault once.
 * The same seed and the same sequence of calls give the same faults.
 */
export interface ChaosOptions {
  seed: number;
  /** Probability in [0, 1] that an eligible call gets a fault. */
  rate: number;
  faults: Fault[];
  /** Only calls whose path contains this are eligible. */
  path?: string;
  /** At most this many chaos faults in all (default: no limit). */
  maxFaults?: number;
}

/** One fault the simulator applied, in order. */
export interface AppliedFault {
  kind: FaultKind;
  path: string;
  source: "scripted" | "chaos";
  at: number;
}

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

/** mulberry32: a small, fast 32-bit PRNG; the same seed gives the same sequence in [0, 1). */
export function mulberry32(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = Math.imul(state ^ (state >>> 15), state | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

interface ScriptedFault {
  fault: Fault;
  /** Matching requests still to let through before applying. */
  dormant: number;
  /** Applications left once active. */
  remaining: number;
}

interface Chaos {
  options: ChaosOptions;
  random: () => number;
  applied: number;
}

/** The kinds the identity endpoint takes; only faults that name its path apply to it (see FaultQueue.take). */
export const IDENTITY_FAULT_KINDS: readonly FaultKind[] = ["status", "delay", "reset"];

const matches = (fault: Fault, path: string, kinds: readonly FaultKind[], pathRequired = false) =>
  kinds.includes(fault.kind) && (fault.path ? path.includes(fault.path) : !pathRequired);

const count = (name: string, value: number | undefined, min: number): number => {
  if (value === undefined) return min === 0 ? 0 : 1;
  if (!Number.isInteger(value) || value < min) throw new RangeError(`${name} must be an integer ≥ ${min}: ${value}`);
  return value;
};

export class FaultQueue {
  private faults: ScriptedFault[] = [];
  private chaos: Chaos | undefined;
  private readonly applied: AppliedFault[] = [];

  constructor(private readonly now: () => number = Date.now) {}

  push(fault: Fault): void {
    this.faults.push({
      fault,
      dormant: count("after", fault.after, 0),
      remaining: count("times", fault.times, 1),
    });
  }

  /** Replaces any earlier chaos (and restarts its PRNG from `seed`). */
  injectChaos(options: ChaosOptions): void {
    if (!Number.isFinite(options.seed)) throw new RangeError(`seed must be a finite number: ${options.seed}`);
    if (!(options.rate >= 0 && options.rate <= 1)) throw new RangeError(`rate must be in [0, 1]: ${options.rate}`);
    if (options.faults.length === 0) throw new RangeError("chaos needs at least one fault");
    if (options.maxFaults !== undefined) count("maxFaults", options.maxFaults, 0);
    this.chaos = {
      options: { ...options, faults: [...options.faults] },
      random: mulberry32(options.seed),
      applied: 0,
    };
  }

  /**
   * The fault for a request on `path` among `kinds`, or undefined. Every dormant fault the request matches counts
   * it; the first active matching fault (FIFO) applies and loses one use; when none does, chaos may draw one. With
   * `pathRequired` only faults (and chaos) that name a path matching this one apply: the identity endpoint takes
   * no fault meant for "any API call".
   */
  take(path: string, kinds: readonly FaultKind[] = INGESTION_FAULT_KINDS, pathRequired = false): Fault | undefined {
    let chosen: ScriptedFault | undefined;
    for (const entry of this.faults) {
      if (!matches(entry.fault, path, kinds, pathRequired)) continue;
      if (entry.dormant > 0) entry.dormant--;
      else chosen ??= entry;
    }
    if (chosen) {
      chosen.remaining--;
      if (chosen.remaining <= 0) this.faults.splice(this.faults.indexOf(chosen), 1);
      return this.record(chosen.fault, path, "scripted");
    }
    return this.drawChaos(path, kinds, pathRequired);
  }

  private drawChaos(path: string, kinds: readonly FaultKind[], pathRequired: boolean): Fault | undefined {
    const chaos = this.chaos;
    if (!chaos) return undefined;
    const { options } = chaos;
    if (options.path !== undefined && !path.includes(options.path)) return undefined;
    if (options.maxFaults !== undefined && chaos.applied >= options.maxFaults) return undefined;
    const candidates = options.faults.filter((f) =>
      matches(f, path, kinds, pathRequired && options.path === undefined),
    );
    if (candidates.length === 0) return undefined;
    if (chaos.random() >= options.rate) return undefined;
    const fault = candidates[Math.floor(chaos.random() * candidates.length)] as Fault;
    chaos.applied++;
    return this.record(fault, path, "chaos");
  }

  private record(fault: Fault, path: string, source: AppliedFault["source"]): Fault {
    this.applied.push({ kind: fault.kind, path, source, at: this.now() });
    return fault;
  }

  /** Every fault applied since the last clear, in order. */
  get log(): readonly AppliedFault[] {
    return this.applied;
  }

  /** Faults applied per kind (every kind present, 0 when none), from one source or both. */
  appliedCounts(source?: AppliedFault["source"]): Record<FaultKind, number> {
    const counts = Object.fromEntries(FAULT_KINDS.map((kind) => [kind, 0])) as Record<FaultKind, number>;
    for (const entry of this.applied) if (source === undefined || entry.source === source) counts[entry.kind]++;
    return counts;
  }

  /** Forgets scripted faults, chaos and the log of applied faults. */
  clear(): void {
    this.faults = [];
    this.chaos = undefined;
    this.applied.length = 0;
  }
}
