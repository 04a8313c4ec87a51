const NEEDS_ESCAPE = /[\uD800-\uDFFF\uFFFE\uFFFF]/;
const ESCAPABLE = /[\uFFFE\uFFFF]|[\uD800-\uDBFF][\uDC00-\uDFFF]/g;

const escapeUnits = (text: string): string =>
  Array.from({ length: text.length }, (_, i) => `\\u${text.charCodeAt(i).toString(16).padStart(4, "0")}`).join("");

/**
 * JSON for a queue message. JSON.stringify leaves U+FFFE/U+FFFF raw, which SQS refuses; characters beyond the
 * Basic Multilingual Plane (emoji) are escaped too, because S3/SQS-compatible emulators refuse them. The escapes
 * keep the JSON equal in meaning, and since this runs before packing, the size limits count the escaped bytes.
 */
export function toQueueSafeJson(value: unknown): string {
  const json = JSON.stringify(value);
  return NEEDS_ESCAPE.test(json) ? json.replace(ESCAPABLE, escapeUnits) : json;
}
