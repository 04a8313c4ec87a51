import { Agent, type Dispatcher } from "undici";

export interface HttpOptions {
  /** Time allowed for response headers and between body chunks. */
  timeoutMs: number;
  connectTimeoutMs?: number;
  /** Sockets kept per origin; bounds parallel requests from one process. */
  connectionsPerOrigin?: number;
}

/** One keep-alive pool per process: TLS handshakes are the dominant cost of small requests. */
export function createMarketoDispatcher(options: HttpOptions): Dispatcher {
  return new Agent({
    keepAliveTimeout: 30_000,
    keepAliveMaxTimeout: 60_000,
    connections: options.connectionsPerOrigin ?? 16,
    headersTimeout: options.timeoutMs,
    bodyTimeout: options.timeoutMs,
    connect: { timeout: options.connectTimeoutMs ?? 10_000 },
  });
}

/** `Retry-After` is either delta-seconds or an HTTP date. */
export function parseRetryAfter(value: string | string[] | undefined, now: number): number | undefined {
  const raw = Array.isArray(value) ? value[0] : value;
  if (raw === undefined || raw.trim() === "") return undefined;
  const seconds = Number(raw);
  if (Number.isFinite(seconds)) return Math.max(0, Math.round(seconds * 1000));
  const date = Date.parse(raw);
  return Number.isNaN(date) ? undefined : Math.max(0, date - now);
}

export function headerValue(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}
