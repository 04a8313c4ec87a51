const NEEDS_ESCAPE = /[\uD800-\uDFFF\uFFFE\uFFFF]/;
const ESCAPABLE = /[\uFFFE\uFFFF]|[\uD800-\uDBFF][\uDC00-\uDFFF]|[\uD800-\uDFFF]/g;

const escapeUnits = (text: string): string =>
  Array.from({ length: text.length }, (_, i) => `\\u${text.charCodeAt(i).toString(16).padStart(4, "0")}`).join("");

/**
 * JSON text as a queue message may carry it. SQS refuses U+FFFE/U+FFFF; characters beyond the Basic Multilingual
 * Plane (emoji) are escaped too, because the local emulator (fauxqs 1.9) refuses them, though SQS takes them.
 * Outside JSON strings there are only ASCII characters, so each escape stays inside a string and keeps the
 * JSON's meaning. This is the queue's form only: request bodies are counted and sent as raw UTF-8.
 */
export function toQueueSafeText(json: string): string {
  return NEEDS_ESCAPE.test(json) ? json.replace(ESCAPABLE, escapeUnits) : json;
}

/** `JSON.stringify(value)` in its queue form (see toQueueSafeText). */
export function toQueueSafeJson(value: unknown): string {
  return toQueueSafeText(JSON.stringify(value));
}
