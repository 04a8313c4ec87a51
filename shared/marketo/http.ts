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

/** Visible ASCII (0x21–0x7E): what every HTTP client and gateway passes through a header value unchanged. */
export const VISIBLE_ASCII = /^[\x21-\x7E]*$/;

/**
 * One character as header-safe text: visible ASCII other than `%` as itself, anything else (space, controls,
 * Latin-1, CJK, emoji) as the %XX escapes of its UTF-8 bytes, so `decodeURIComponent` gives the character back.
 */
export function headerSafeChar(char: string): string {
  const code = char.codePointAt(0) ?? 0;
  if (code >= 0x21 && code <= 0x7e && char !== "%") return char;
  return [...Buffer.from(char, "utf8")].map((byte) => `%${byte.toString(16).toUpperCase().padStart(2, "0")}`).join("");
}

/**
 * An optional trace header (X-Correlation-Id, X-Request-Source) as something the HTTP client will send: a value
 * that is visible ASCII already goes as is, any other is percent-encoded; either is cut to Marketo's length. A
 * trace aid must never stop a request (undici refuses characters above U+00FF, CR, LF and controls).
 */
export function traceHeaderValue(value: string, maxChars: number): string {
  if (VISIBLE_ASCII.test(value)) return value.slice(0, maxChars);
  // Cut between whole characters, so a shortened value still decodes (never half of a `%E2%82%AC`).
  let safe = "";
  for (const char of value) {
    const encoded = headerSafeChar(char);
    if (safe.length + encoded.length > maxChars) break;
    safe += encoded;
  }
  return safe;
}
