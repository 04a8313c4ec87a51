/** Marketo's Data Ingestion limits per request: 1,000 objects (program members: lead references), 1 MB of body. */
export const DATA_INGESTION_LIMITS = { maxObjects: 1_000, maxBytes: 1_000_000 } as const;

/**
 * Marketo answers 413 when "the request payload exceeds … 10MB for Import Lead" (Adobe's error-code page) and caps
 * the import file at 10 MB (Adobe's Bulk Import page): the whole multipart body, read as 10,000,000 bytes, must fit.
 */
export const BULK_MAX_REQUEST_BYTES = 10_000_000;
