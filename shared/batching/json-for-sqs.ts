/**
 * JSON.stringify escapes control characters and lone surrogates, but leaves U+FFFE and U+FFFF raw, and SQS
 * rejects a message containing them. Escaping them keeps the JSON equal in meaning and makes every body queueable.
 */
export function toQueueSafeJson(value: unknown): string {
  const json = JSON.stringify(value);
  return json.includes("\uFFFE") || json.includes("\uFFFF")
    ? json.replace(/[\uFFFE\uFFFF]/g, (c) => `\\u${c.charCodeAt(0).toString(16)}`)
    : json;
}
