/**
 * What SQS (or an SQS-compatible emulator) refuses in a message body or attribute: controls other than tab, LF and
 * CR, U+FFFE/U+FFFF and lone surrogates (SQS's own rule), and characters beyond the Basic Multilingual Plane
 * (emoji: SQS takes them, the local emulator, fauxqs 1.9, refuses them).
 */
// eslint-disable-next-line no-control-regex -- control characters are what SQS refuses
const NEEDS_ESCAPE = /[\x00-\x08\x0B\x0C\x0E-\x1F\uD800-\uDFFF\uFFFE\uFFFF]/;
// eslint-disable-next-line no-control-regex -- as above
const ESCAPABLE = /[\x00-\x08\x0B\x0C\x0E-\x1F\uFFFE\uFFFF]|[\uD800-\uDBFF][\uDC00-\uDFFF]|[\uD800-\uDFFF]/g;

const escapeUnits = (text: string): string =>
  Array.from({ length: text.length }, (_, i) => `\\u${text.charCodeAt(i).toString(16).padStart(4, "0")}`).join("");

/**
 * Text SQS accepts: every character it would refuse written as `\uXXXX` escapes. On JSON text (every message body
 * of this project) the result is equal JSON, since such characters can only stand inside its strings; on an
 * attribute value it is a readable stand-in. This is the queue's form only: request bodies are counted and sent
 * to Marketo as raw UTF-8.
 */
export function toQueueSafeText(text: string): string {
  return NEEDS_ESCAPE.test(text) ? text.replace(ESCAPABLE, escapeUnits) : text;
}

/** `JSON.stringify(value)` in its queue form (see toQueueSafeText). */
export function toQueueSafeJson(value: unknown): string {
  return toQueueSafeText(JSON.stringify(value));
}
