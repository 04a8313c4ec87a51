import { createReadStream } from "node:fs";
import { z } from "zod";
import { processDroppedFile } from "../functions/splitter/process-dropped-file.ts";
import { fileGuardsOf, readerLimitsOf, SplitterSettingsSchema } from "../functions/splitter/settings.ts";
import type { BatchSink, BulkPartSink } from "../shared/contracts/batch-publisher.ts";
import type { RejectedRowsStore, ReportStore } from "../shared/contracts/report-store.ts";
import { bulkRouteForKey, isBulkKey } from "../shared/options/bulk-route.ts";
import { applyFieldMap } from "../shared/options/field-map.ts";
import { type DefaultFileOptions, type FileTarget, resolveTarget } from "../shared/options/file-options.ts";
import { routeForObjectKey } from "../shared/options/object-route.ts";
import { formatFromKey, inflateIfGzip, isGzipped, readRows } from "../shared/parsing/input-format.ts";
import type { SourceRecord } from "../shared/parsing/source-row.ts";
import { rejectedCountOf, RejectedRowSchema, type SplitManifest } from "../shared/report/file-report.ts";
import { systemClock } from "../shared/time/clock.ts";

export interface PreflightRequest {
  /** The file on disk. */
  path: string;
  /** The key it would be dropped under (`persons/leads.csv`): the key decides the route, as on the stack. */
  key: string;
  /** S3 metadata it would carry (option flags). */
  metadata: Record<string, string>;
  /** Its sidecar options JSON, if any. */
  sidecar?: string;
  /** The splitter's environment to take limits and stack defaults from (defaults: the deployed defaults). */
  env?: Record<string, string | undefined>;
}

/** What the splitter would do with a file, computed by the splitter's own code with nothing sent. */
export interface PreflightPlan {
  manifest: SplitManifest;
  /** Requests (Data Ingestion) or import files (Bulk Import) it would send, and their bytes as sent. */
  requests: number;
  bytes: number;
  largestRequestBytes: number;
  /** Every rejected row (the manifest lists only the first 100). */
  rejectedRows: number;
  /** Rejected rows grouped by reason, in order of first appearance, with their first row numbers. */
  rejections: Array<{ reason: string; rows: number; firstRows: number[] }>;
  /** The route and options that decided it (undefined when the options themselves were rejected). */
  target?: FileTarget;
}

const QueuedHeadSchema = z.object({ batch: z.object({ bytes: z.number().int().nonnegative() }) });

/**
 * Runs the splitter core (`processDroppedFile`: options, parse, validate, plan, pack) on a local file with sinks
 * that only count, so the plan is exactly what the deployed splitter would queue.
 */
export async function preflightFile(request: PreflightRequest): Promise<PreflightPlan> {
  // The queue and bucket names do not matter to a plan; every limit and default is the splitter's own.
  const settings = SplitterSettingsSchema.parse({
    INGESTION_QUEUE_URL: "preflight",
    BULK_QUEUE_URL: "preflight",
    REPORT_QUEUE_URL: "preflight",
    WORK_BUCKET: "preflight",
    ...request.env,
  });
  const sizes: number[] = [];
  const countingSink: BatchSink = {
    publish: async (message) => {
      sizes.push(QueuedHeadSchema.parse(JSON.parse(message.body)).batch.bytes);
    },
    flush: async () => {},
    // The body is counted from its message head either way; a stored body is not stored anywhere here.
    storeBody: async () => {},
  };
  const partSink: BulkPartSink = {
    putPart: async (_key, text) => {
      sizes.push(Buffer.byteLength(text));
    },
    publish: async () => {},
    flush: async () => {},
  };
  let manifest: SplitManifest | undefined;
  const unused = async (): Promise<never> => {
    throw new Error("a pre-flight writes the manifest only");
  };
  // Every rejected row passes through here (the manifest keeps only the first 100): grouped as it comes.
  const rejections = new Map<string, { reason: string; rows: number; firstRows: number[] }>();
  const reports: ReportStore & RejectedRowsStore = {
    putRejectedRowsPart: async (_file, _index, ndjson) => {
      for (const line of ndjson.split("\n")) {
        if (line) groupRejection(rejections, RejectedRowSchema.parse(JSON.parse(line)));
      }
    },
    readRejectedRows: () => {
      throw new Error("a pre-flight writes rejected rows only");
    },
    putManifest: async (_file, written) => {
      manifest = written;
    },
    getManifest: async () => manifest,
    putBatchOutcome: unused,
    getBatchOutcome: unused,
    listBatchOutcomes: unused,
    putFileReport: unused,
    getFileReport: async () => undefined,
    lastOutcomeWrittenAt: async () => undefined,
  };
  const dropped = { bucket: "preflight", key: request.key };
  await processDroppedFile(dropped, {
    describe: async () => ({ metadata: request.metadata }),
    open: () => createReadStream(request.path),
    readSidecar: async () => request.sidecar,
    publisher: countingSink,
    reports,
    clock: systemClock,
    limits: { maxObjects: settings.MAX_REQUEST_OBJECTS, maxBytes: settings.MAX_REQUEST_BYTES },
    readerLimits: readerLimitsOf(settings),
    defaults: settings.DEFAULT_FILE_OPTIONS,
    bulk: { sink: partSink, maxPartBytes: settings.BULK_MAX_PART_BYTES },
    guards: fileGuardsOf(settings),
  });
  if (!manifest) throw new Error("the splitter wrote no manifest");
  // Only sent requests reach the sinks (a bulk dry pass only reads): every size counted is a request of the plan.
  const planned = sizes;
  // Manifests without parts (a file rejected whole) keep their rows in the manifest itself.
  if (rejections.size === 0) for (const row of manifest.rejectedRows) groupRejection(rejections, row);
  return {
    manifest,
    requests: manifest.batches,
    bytes: planned.reduce((sum, size) => sum + size, 0),
    largestRequestBytes: Math.max(0, ...planned),
    rejectedRows: rejectedCountOf(manifest),
    rejections: [...rejections.values()],
    ...(manifest.status === "rejected" ? {} : { target: targetOf(request, settings.DEFAULT_FILE_OPTIONS) }),
  };
}

/**
 * The file's rows as the splitter's rules would see them (columns renamed or dropped by fieldMap), for comparing
 * with Marketo's fields; only for a file whose options were accepted.
 */
export async function* mappedRecords(request: PreflightRequest, target: FileTarget): AsyncIterable<SourceRecord> {
  const format = target.options.format ?? formatFromKey(request.key) ?? "csv";
  const raw = inflateIfGzip(createReadStream(request.path), isGzipped(request.key, undefined));
  for await (const row of applyFieldMap(readRows(raw, format), target.fieldMap)) {
    if (row.kind === "record") yield row;
  }
}

function targetOf(request: PreflightRequest, defaults: DefaultFileOptions): FileTarget {
  return resolveTarget(isBulkKey(request.key) ? bulkRouteForKey(request.key) : routeForObjectKey(request.key), {
    defaults,
    ...(request.sidecar !== undefined
      ? { sidecar: JSON.parse(request.sidecar.replace(/^\uFEFF/, "")) as unknown }
      : {}),
    metadata: request.metadata,
  });
}

function groupRejection(
  groups: Map<string, { reason: string; rows: number; firstRows: number[] }>,
  rejected: { row: number; reason: string },
): void {
  const group = groups.get(rejected.reason) ?? { reason: rejected.reason, rows: 0, firstRows: [] };
  group.rows++;
  if (group.firstRows.length < 5) group.firstRows.push(rejected.row);
  groups.set(rejected.reason, group);
}
