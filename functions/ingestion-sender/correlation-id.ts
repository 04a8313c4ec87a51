import { createHash } from "node:crypto";
import { headerSafeChar } from "../../shared/marketo/http.ts";
import { MAX_CORRELATION_ID_CHARS } from "../../shared/marketo/ingestion-client.ts";
import type { FileRef } from "../../shared/contracts/batch-message.ts";

/**
 * The `X-Correlation-Id` of one batch: `{key}#{hash}/{batchIndex}`, where `{key}` is the file's S3 key with
 * everything outside visible ASCII (and `%`) percent-encoded as UTF-8 and cut at a whole character to fit, and
 * `{hash}` is the first 16 hex digits of SHA-256 of the file's report prefix (key and version). Any key (UTF-8,
 * controls, up to 1,024 bytes) gives a visible-ASCII id of at most 255 characters that undici sends and Marketo
 * accepts; the readable key says which file, the hash tells files and versions apart even when the key was cut.
 */
export function batchCorrelationId(file: Pick<FileRef, "key" | "reportPrefix">, batchIndex: number): string {
  const hash = createHash("sha256").update(file.reportPrefix, "utf8").digest("hex").slice(0, 16);
  const suffix = `#${hash}/${batchIndex}`;
  const budget = MAX_CORRELATION_ID_CHARS - suffix.length;
  let readable = "";
  for (const char of file.key) {
    const piece = headerSafeChar(char);
    if (readable.length + piece.length > budget) break;
    readable += piece;
  }
  return `${readable}${suffix}`;
}
