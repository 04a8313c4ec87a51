import type { PackLimits } from "../../shared/batching/batch-packer.ts";
import { type BulkRoute, bulkRouteForKey, bulkType, isBulkKey } from "../../shared/options/bulk-route.ts";
import { missingBulkColumn, type OpenPartStore, splitIntoPartsResumably } from "./split-into-parts.ts";
import { missingRequiredColumn } from "../../shared/options/record-rules.ts";
import type { FileGuards } from "./settings.ts";
import type { BulkPartSink } from "../../shared/contracts/batch-publisher.ts";
import {
  type BulkFileOptions,
  type DefaultFileOptions,
  type FileOptions,
  type FileTarget,
  resolveTarget,
} from "../../shared/options/file-options.ts";
import { InputFileError } from "../../shared/parsing/input-file-error.ts";
import {
  formatFromKey,
  type InputFormat,
  inflateIfGzip,
  isGzipped,
  type ReaderCursor,
  type ReaderPosition,
  readRows,
} from "../../shared/parsing/input-format.ts";
import { markAt } from "../../shared/report/rows-near-marks.ts";
import type {
  BulkSplitProgress,
  CheckpointProgress,
  RowMarks,
  SplitCheckpoint,
  SplitProgress,
} from "../../shared/contracts/split-checkpoint.ts";
import { withDefaultLimits } from "../../shared/parsing/reader-limits.ts";
import type { ReaderLimits } from "../../shared/parsing/reader-limits.ts";
import type { SplitManifest } from "../../shared/report/file-report.ts";
import type { RejectedRowsStore, ReportStore } from "../../shared/contracts/report-store.ts";
import type { Clock } from "../../shared/time/clock.ts";
import type { FileRef } from "../../shared/contracts/batch-message.ts";
import { routeForObjectKey, routeForObjectName } from "../../shared/options/object-route.ts";
import { planRequests } from "./request-plan.ts";
import { type DroppedFile, fileRefFor } from "../../shared/contracts/s3-event.ts";
import { type HeldMessageStore, splitFileResumably } from "./split-file.ts";
import { applyFieldMap, mapColumns } from "../../shared/options/field-map.ts";
import type { FieldLists } from "../../shared/marketo/field-lists.ts";
import { type ArrivalCheck, prepareArrivalCheck, rejectUnknownColumns } from "./arrival-field-check.ts";
import type { BatchSink } from "../../shared/contracts/batch-publisher.ts";

/** A file's options may sit beside it as `{key}.options.json`; such sidecars are read, never split. */
export const SIDECAR_SUFFIX = ".options.json";
export const isSidecarKey = (key: string): boolean => key.endsWith(SIDECAR_SUFFIX);

export interface DroppedObjectHead {
  /** S3 user metadata (`x-amz-meta-*`, keys lower-cased). */
  metadata: Record<string, string>;
  contentEncoding?: string;
  /** Bytes stored (compressed when gzip). */
  contentLength?: number;
}

export interface DroppedFileDeps {
  /** The object's metadata (HeadObject of the announced version). */
  describe: (file: DroppedFile) => Promise<DroppedObjectHead>;
  /** Opens the file's bytes from the start. */
  open: (file: DroppedFile) => AsyncIterable<Uint8Array>;
  /** Opens the file's bytes from an offset (a ranged GET): a resumed split reads on from its checkpoint. */
  openFrom?: (file: DroppedFile, fromByte: number) => AsyncIterable<Uint8Array>;
  /** Opens the inflated copy of a gzip file (in the work bucket) from an offset. */
  openInflatedCopy?: (key: string, fromByte: number) => AsyncIterable<Uint8Array>;
  /** Stores where rows start (`row-marks.json`), for the report writer's ranged reads. */
  putRowMarks?: (file: FileRef, marks: RowMarks) => Promise<void>;
  /** Where a paused split keeps its held messages (the work bucket). */
  heldMessages?: (file: FileRef) => HeldMessageStore;
  /** Where a paused bulk split keeps the part it was filling (the work bucket). */
  openBulkParts?: (file: FileRef) => OpenPartStore;
  /** The text of `{key}.options.json` in the same bucket, or undefined when there is none. */
  readSidecar: (file: DroppedFile) => Promise<string | undefined>;
  /** Batch messages (ingestion queue) and the bodies too large for them (work bucket). */
  publisher: BatchSink;
  /** The manifest, and the rejected rows' NDJSON parts beside it. */
  reports: ReportStore & RejectedRowsStore;
  clock: Clock;
  limits: PackLimits;
  /** Columns, field and record length the readers accept (defaults: shared/parsing/reader-limits.ts). */
  readerLimits?: Partial<ReaderLimits>;
  defaults: DefaultFileOptions;
  /** Where Bulk Import parts go, and their size limit. */
  bulk: { sink: BulkPartSink; maxPartBytes: number };
  /** File size and gzip inflation limits. */
  guards: FileGuards;
  onProgress?: (rowsRead: number) => void;
  /** Marketo's field lists (cached per container), for files whose options say `fieldCheck: reject`. */
  fieldLists?: FieldLists;
}

/**
 * What an intake message says a file holds, instead of its key prefix and sidecar/metadata: the object type and
 * the message's options (stack defaults still apply below them).
 */
export interface ExplicitTarget {
  objectType: string;
  options?: unknown;
}

/** A split may stop when `pause` says so, and a later invocation go on from the checkpoint it left. */
export interface Resumable {
  pause: () => boolean;
  from?: SplitCheckpoint;
}

/** What a paused split saves; the caller adds who owns the split and which continuation comes next. */
export type PausedSplit = Omit<SplitCheckpoint, "owner" | "seq">;

export type DroppedFileResult = { manifest: SplitManifest } | { paused: PausedSplit };

/**
 * Splitter core: one dropped file → queued batches plus a manifest. A file that cannot be processed as a whole
 * (unknown type, invalid options, bad encoding, broken CSV, no rows) gets a `rejected` manifest and nothing is
 * sent; infrastructure errors propagate so the invocation is retried.
 */
export async function processDroppedFile(
  dropped: DroppedFile,
  deps: DroppedFileDeps,
  explicit?: ExplicitTarget,
): Promise<SplitManifest> {
  const result = await processDroppedFileResumably(dropped, deps, explicit);
  if ("paused" in result) throw new Error("a split without a pause condition paused");
  return result.manifest;
}

/**
 * `processDroppedFile` that, given `resumable`, stops a file after a row once `pause` says so (a Data Ingestion or
 * bulk file, in any format; gzip too) and returns what the next invocation needs, or goes on from `resumable.from`.
 * Nothing is queued and no manifest is written until an invocation reads the last row.
 */
export async function processDroppedFileResumably(
  dropped: DroppedFile,
  deps: DroppedFileDeps,
  explicit?: ExplicitTarget,
  resumable?: Resumable,
): Promise<DroppedFileResult> {
  const from = resumable?.from;
  const startedAt = from?.startedAt ?? new Date(deps.clock.now()).toISOString();
  const file: FileRef = fileRefFor(dropped);
  const base = { v: 1 as const, file, startedAt };
  let manifest: SplitManifest;
  let arrival: ArrivalCheck | undefined;
  try {
    const head: DroppedObjectHead = from?.head ?? (await deps.describe(dropped));
    // Before any byte is read: a file over the limit costs one HeadObject.
    const size = head.contentLength ?? dropped.size;
    if (size !== undefined && size > deps.guards.maxFileBytes) {
      throw new InputFileError(
        "FILE_TOO_LARGE",
        `file is ${size} bytes; the most accepted is ${deps.guards.maxFileBytes} (MAX_FILE_BYTES): split it into smaller files`,
      );
    }
    // A continuation resolves the options as the first invocation read them.
    const sidecar = from ? from.sidecar : explicit ? undefined : parseSidecar(await deps.readSidecar(dropped));
    const target = explicit
      ? resolveTarget(routeForObjectName(explicit.objectType), { defaults: deps.defaults, sidecar: explicit.options })
      : resolveTarget(isBulkKey(dropped.key) ? bulkRouteForKey(dropped.key) : routeForObjectKey(dropped.key), {
          defaults: deps.defaults,
          sidecar,
          metadata: head.metadata,
        });
    const format: InputFormat = target.options.format ?? formatFromKey(dropped.key) ?? "csv";
    const gzipped = isGzipped(dropped.key, head.contentEncoding);
    const onHeader = (fileColumns: readonly string[]) => {
      // The rules read the mapped names, so the header is checked under them too.
      const columns = mapColumns(fileColumns, target.fieldMap);
      const missing =
        target.kind === "bulk"
          ? missingBulkColumn(target.route, target.options, columns)
          : missingRequiredColumn(target.options.request, columns);
      if (missing) {
        throw new InputFileError(
          "MISSING_COLUMN",
          `header has no ${missing.column} column, which every row needs (${missing.why}): no row could be sent`,
          { line: 1 },
        );
      }
    };
    const cursor: ReaderCursor = {};
    /** Whether the bytes read are inflated: declared gzip, or sniffed from the first bytes. */
    let inflating = gzipped;
    const openBytes = (): AsyncIterable<Uint8Array> => {
      if (!from) return inflateIfGzip(deps.open(dropped), gzipped, deps.guards, (gzip) => (inflating = gzip));
      const at = from.reader.byte;
      switch (from.source.kind) {
        case "dropped":
          return required(deps.openFrom, "openFrom")(dropped, at);
        case "inflated":
          return required(deps.openInflatedCopy, "openInflatedCopy")(from.source.key, at);
        default:
          throw new Error("a gzip file's inflated copy must be made before its split goes on");
      }
    };
    // A resumed split checks its columns again (the field list is cached): the rows it reads carry them.
    arrival = target.fieldCheck ? await prepareArrivalCheck(target.route, deps.fieldLists) : undefined;
    const check = arrival && "check" in arrival ? arrival.check : undefined;
    const openRows = () =>
      rejectUnknownColumns(
        applyFieldMap(
          readRows(openBytes(), format, {
            onHeader,
            ...(deps.readerLimits ? { limits: deps.readerLimits } : {}),
            cursor,
            ...(from ? { resume: from.reader } : {}),
          }),
          target.fieldMap,
        ),
        check,
        objectTypeOf(target),
      );
    // What both splits take alike: progress, rejected-row parts, row marks and, given a pause condition, where held
    // messages go (every reader can go on from a row boundary: any file pauses, Data Ingestion or bulk, any format).
    const common = {
      ...(deps.onProgress ? { onProgress: deps.onProgress } : {}),
      storeRejectedRows: (index: number, ndjson: string) => deps.reports.putRejectedRowsPart(file, index, ndjson),
      markRow: () => markAt(required(cursor.at, "a reader position")()),
      ...(resumable
        ? { shouldPause: resumable.pause, heldMessages: required(deps.heldMessages, "heldMessages")(file) }
        : {}),
    };
    const summary =
      target.kind === "bulk"
        ? await splitIntoPartsResumably(
            {
              file,
              route: target.route,
              params: { ...jobParams(target.options), format: format === "tsv" || format === "ssv" ? format : "csv" },
              openRows,
              maxPartBytes: deps.bulk.maxPartBytes,
              ...common,
              ...(from ? { resume: bulkProgressOf(from.progress) } : {}),
              ...(resumable ? { openParts: required(deps.openBulkParts, "openBulkParts")(file) } : {}),
            },
            deps.bulk.sink,
          )
        : await splitFileResumably(
            {
              file,
              route: target.route,
              plan: planRequests(target.options, format !== "json" && format !== "ndjson"),
              openRows,
              limits: deps.limits,
              ...common,
              ...(from ? { resume: ingestionProgressOf(from.progress) } : {}),
            },
            deps.publisher,
          );
    if ("done" in summary && !summary.done) {
      const reader: ReaderPosition = required(cursor.at, "a reader position")();
      const source = from?.source ?? (inflating ? { kind: "inflate" as const } : { kind: "dropped" as const });
      return {
        paused: {
          v: 1,
          dropped,
          startedAt,
          head,
          ...(sidecar !== undefined ? { sidecar } : {}),
          ...(explicit ? { explicit } : {}),
          source,
          reader,
          progress: summary.progress,
        },
      };
    }
    const totals = "done" in summary ? summary.summary : summary;
    // Marks count bytes of the dropped object, or of a gzip file's inflated copy; a gzip file split in one go has
    // neither to read ranges of (the report writer then reads it from the start).
    const marksSource = from?.source ?? (inflating ? undefined : { kind: "dropped" as const });
    const last = cursor.at?.();
    if (totals.marks?.length && last && marksSource && marksSource.kind !== "inflate" && deps.putRowMarks) {
      await deps.putRowMarks(file, {
        v: 1,
        source: marksSource.kind === "dropped" ? marksSource : { kind: "inflated", key: marksSource.key },
        ...("kind" in last ? { format: last.kind } : { header: last.header, recordDelimiter: last.recordDelimiter }),
        marks: totals.marks,
      });
    }
    manifest = {
      ...base,
      objectType: objectTypeOf(target),
      ...(target.kind === "bulk" ? { mode: "bulk" as const } : {}),
      // The reader limits the split used: the report writer reads the file under the same ones.
      input: { format, ...(gzipped ? { gzip: true } : {}), readerLimits: withDefaultLimits(deps.readerLimits) },
      options: describeOptions(target),
      status: "queued",
      rowsRead: totals.rowsRead,
      rowsQueued: totals.rowsQueued,
      batches: totals.batches,
      rejectedRows: totals.rejections.map(({ kind: _kind, ...rest }) => rest),
      rejectedRowCount: totals.rejected,
      rejectionGroups: totals.rejectionGroups,
      rejectedRowParts: totals.rejectedRowParts,
      ...(arrival ? { fieldCheck: fieldCheckOf(arrival) } : {}),
      finishedAt: new Date(deps.clock.now()).toISOString(),
    };
  } catch (error) {
    if (!(error instanceof InputFileError)) throw error;
    manifest = {
      ...base,
      objectType: explicit?.objectType ?? dropped.key.split("/")[0] ?? "",
      status: "rejected",
      rowsRead: 0,
      rowsQueued: 0,
      batches: 0,
      rejectedRows: [],
      error: {
        code: error.code,
        message: error.message,
        ...(error.location?.line ? { line: error.location.line } : {}),
      },
      finishedAt: new Date(deps.clock.now()).toISOString(),
    };
  }
  await deps.reports.putManifest(file, manifest);
  return { manifest };
}

/** A checkpoint's progress as a bulk split's (a checkpoint is only ever continued by the kind of split that wrote it). */
function bulkProgressOf(progress: CheckpointProgress): BulkSplitProgress {
  if (progress.kind !== "bulk") throw new Error("a bulk file's checkpoint holds a Data Ingestion split's progress");
  return progress;
}

/** A checkpoint's progress as a Data Ingestion split's. */
function ingestionProgressOf(progress: CheckpointProgress): SplitProgress {
  if (progress.kind === "bulk") throw new Error("a Data Ingestion file's checkpoint holds a bulk split's progress");
  return progress;
}

function required<T>(value: T | undefined, what: string): T {
  if (value === undefined) throw new Error(`a resumable split needs ${what}`);
  return value;
}

function fieldCheckOf(arrival: ArrivalCheck): NonNullable<SplitManifest["fieldCheck"]> {
  return "check" in arrival ? { result: "passed" } : { result: "skipped", reason: arrival.skipped };
}

function parseSidecar(text: string | undefined): unknown {
  if (text === undefined) return undefined;
  try {
    return JSON.parse(text.replace(/^\uFEFF/, ""));
  } catch {
    throw new InputFileError("INVALID_OPTIONS", `sidecar options file (${SIDECAR_SUFFIX}) is not valid JSON`);
  }
}

/** The options that shaped the requests, for the report (option values are configuration, not personal data). */
function describeOptions(target: FileTarget): Record<string, unknown> {
  const fieldMap = {
    ...(target.fieldMap ? { fieldMap: target.fieldMap } : {}),
    ...(target.fieldCheck ? { fieldCheck: target.fieldCheck } : {}),
  };
  if (target.kind === "bulk") return { ...target.route, ...jobParams(target.options), ...fieldMap };
  const options: FileOptions = target.options;
  const { objectType: _objectType, ...request } = options.request;
  return {
    ...request,
    ...(Object.keys(options.fieldTypes).length ? { fieldTypes: options.fieldTypes } : {}),
    ...fieldMap,
  };
}

function jobParams(options: BulkFileOptions): Omit<BulkFileOptions, "format"> {
  const { format: _format, ...params } = options;
  return params;
}

/** `persons`, `customobjects/car_c`, … for Data Ingestion; `bulk/leads`, `bulk/customobjects/car_c`, … for bulk. */
function objectTypeOf(target: FileTarget): string {
  if (target.kind === "ingestion") return target.route.resource;
  const route: BulkRoute = target.route;
  if (route.target === "customobjects") return `${bulkType(route)}/${route.apiName}`;
  if (route.target === "programmembers") return `${bulkType(route)}/${route.programId}`;
  return bulkType(route);
}
