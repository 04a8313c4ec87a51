import { randomBytes } from "node:crypto";
import type { IncomingMessage, ServerResponse } from "node:http";
import { setTimeout as delay } from "node:timers/promises";
import { BULK_DELIMITERS, type BulkFormat, readDelimited, writeDelimited } from "./bulk-csv.ts";
import { defaultError, type Fault, type FaultQueue, INGESTION_FAULT_KINDS, restErrorMessage } from "./faults.ts";
import { readCapped } from "./read-capped.ts";
import type { SimState } from "./sim-state.ts";
import type { TokenIssuer } from "./token-issuer.ts";

export interface BulkOptions {
  /** 10 MB per file. */
  maxBulkFileBytes: number;
  /** 10 MB per request: the whole multipart body, framing and form fields included (Adobe's error-code page, 413). */
  maxBulkRequestBytes: number;
  /** 10 jobs Queued or Importing, from every integration of the instance. */
  maxQueuedBulkJobs: number;
  /** 2 jobs Importing at once. */
  maxImportingBulkJobs: number;
  /** How long a job stays Importing. */
  bulkImportMs: number;
  /** Columns whose non-blank values must be integers (Marketo knows each field's type; the simulator is told). */
  bulkIntegerFields: readonly string[];
}

export const BULK_DEFAULTS: BulkOptions = {
  maxBulkFileBytes: 10_000_000,
  maxBulkRequestBytes: 10_000_000,
  maxQueuedBulkJobs: 10,
  maxImportingBulkJobs: 2,
  bulkImportMs: 150,
  bulkIntegerFields: ["leadScore", "numberOfEmployees"],
};

export type BulkObjectType = "leads" | "customobjects" | "programmembers";
export type BulkJobStatus = "Queued" | "Importing" | "Complete" | "Failed";

/** One Bulk Import job as the simulator holds it (the file's content is kept internally, not here). */
export interface SimBulkJob {
  batchId: number;
  objectType: BulkObjectType;
  apiName?: string;
  programId?: number;
  status: BulkJobStatus;
  format: BulkFormat;
  /** Data rows in the file (header excluded). */
  rowCount: number;
  bytes: number;
  /** The multipart file part's name, as the simulator parsed it (none for another integration's job). */
  fileName?: string;
  options: { lookupField?: string; listId?: string; partitionName?: string; programMemberStatus?: string };
  submittedAt: number;
  startedAt?: number;
  finishedAt?: number;
  processed: number;
  failed: number;
  warnings: number;
  message: string;
  /** A job of "another integration" (occupyBulkQueue): no file, finishes only on releaseBulkQueue. */
  foreign?: boolean;
}

export interface BulkLogEntry {
  at: number;
  event: "submitted" | "rejected" | "started" | "finished" | "status" | "failures" | "warnings";
  batchId?: number;
  /** The error code answered (rejections and failed report calls; "reset" for a dropped connection). */
  code?: string;
  /** Queued + Importing jobs right after the event. */
  open: number;
  /** Importing jobs right after the event. */
  importing: number;
}

export interface BulkStats {
  maxOpen: number;
  maxImporting: number;
  tooManyImports: number;
}

type Operation = "submit" | "status" | "failures" | "warnings";
interface Route {
  op: Operation;
  objectType: BulkObjectType;
  apiName?: string;
  programId?: string;
  batchId?: string;
}

interface JobWork {
  header: string[] | undefined;
  rows: string[][];
  parseError?: string;
  /** Set by a failJob fault: the job ends Failed with this message. */
  failJob?: string;
  failures: string[][];
  warnings: string[][];
}

const BULK_FAULT_KINDS: readonly Fault["kind"][] = [...INGESTION_FAULT_KINDS, "restError"];
const EMAIL = /^[^@\s]+@[^@\s]+\.[^@\s]+$/;
const INTEGER = /^[+-]?\d+$/;

/** Marketo's Bulk Import API: multipart CSV jobs in a FIFO queue driven by time, with per-row outcomes. */
export class BulkImportSim {
  readonly jobs: SimBulkJob[] = [];
  readonly log: BulkLogEntry[] = [];
  private readonly work = new Map<number, JobWork>();
  private nextBatchId = 1001;
  private timer: NodeJS.Timeout | undefined;
  private closed = false;

  constructor(
    private readonly options: BulkOptions,
    private readonly tokens: TokenIssuer,
    private readonly faults: FaultQueue,
    private readonly state: SimState,
    private readonly now: () => number = Date.now,
  ) {}

  async handle(req: IncomingMessage, res: ServerResponse, url: URL): Promise<void> {
    const cap = this.options.maxBulkRequestBytes;
    const { body, bytes } = await readCapped(req, cap);
    const raw = { body, tooLarge: bytes > cap };
    this.advance();
    const route = routeOf(req.method ?? "", url.pathname);
    const requestId = `${randomBytes(2).toString("hex")}#${this.now().toString(16)}`;
    const batchIdOf = (text: string | undefined) => (text && /^\d+$/.test(text) ? Number(text) : undefined);
    const logCall = (code: string | undefined, batchId = batchIdOf(route?.batchId)) => {
      if (!route) return;
      if (route.op === "submit") this.record(code === undefined ? "submitted" : "rejected", batchId, code);
      else this.record(route.op, batchId, code);
    };
    const fail = (code: string, message: string, status = 200, headers: Record<string, string> = {}) => {
      logCall(code);
      sendJson(res, status, { requestId, success: false, errors: [{ code, message }] }, headers);
    };

    const fault = this.faults.take(url.pathname, BULK_FAULT_KINDS);
    if (fault?.kind === "reset") {
      logCall("reset");
      req.socket.destroy();
      return;
    }
    if (fault?.kind === "delay") {
      await delay(fault.ms, undefined, { ref: false });
      this.advance();
    }
    if (fault?.kind === "expireTokens") this.tokens.expireAll();
    if (fault?.kind === "status") {
      return fail(
        fault.errorCode ?? String(fault.status),
        fault.message ?? defaultError(fault.status).message,
        fault.status,
        fault.retryAfterSeconds !== undefined ? { "retry-after": String(fault.retryAfterSeconds) } : {},
      );
    }
    if (fault?.kind === "restError") return fail(fault.code, fault.message ?? restErrorMessage(fault.code));

    // The form is read before auth only to refuse a token sent in it, as in a query parameter.
    const contentType = headerOf(req, "content-type") ?? "";
    const multipart = /^multipart\/form-data\b/i.test(contentType);
    let form: FormData | undefined;
    let formError = false;
    if (
      req.method === "POST" &&
      !raw.tooLarge &&
      (multipart || /^application\/x-www-form-urlencoded\b/i.test(contentType))
    ) {
      try {
        form = await new Request(`http://sim${req.url ?? "/"}`, {
          method: "POST",
          headers: { "content-type": contentType },
          body: raw.body,
        }).formData();
      } catch {
        formError = true;
      }
    }
    if (url.searchParams.has("access_token") || form?.has("access_token")) {
      return fail("601", "access_token query parameter is not supported; send Authorization: Bearer");
    }
    const bearer = /^Bearer\s+(\S+)\s*$/i.exec(headerOf(req, "authorization") ?? "")?.[1];
    if (bearer === undefined) return fail("600", "Access token missing");
    const verdict = this.tokens.check(bearer);
    if (verdict === "expired") return fail("602", "Access token expired");
    if (verdict === "unknown") return fail("601", "Access token invalid");

    if (!route) return fail("610", "Requested resource not found");
    if (route.op !== "submit") return this.report(route, res, requestId, fail);

    if (raw.tooLarge) return fail("413", "Request Entity Too Large", 413);
    if (!multipart) return fail("612", "Invalid Content Type: send multipart/form-data");
    if (formError || !form) return fail("613", "Invalid Multipart Request");
    const file = form.get("file");
    if (file === null || typeof file === "string") return fail("1003", "file is required (a multipart file part)");
    if (file.size > this.options.maxBulkFileBytes) return fail("413", "Request Entity Too Large", 413);
    const param = (name: string): string | undefined => {
      const value = url.searchParams.get(name) ?? form.get(name);
      return typeof value === "string" && value.trim() !== "" ? value : undefined;
    };
    const formatText = (param("format") ?? "csv").toLowerCase();
    if (!Object.hasOwn(BULK_DELIMITERS, formatText)) {
      return fail("1003", `Invalid format '${formatText}': expected csv, tsv or ssv`);
    }
    const format = formatText as BulkFormat;
    let programId: number | undefined;
    if (route.objectType === "programmembers") {
      if (!/^[1-9]\d*$/.test(route.programId ?? "")) return fail("1003", "programId must be a positive integer");
      programId = Number(route.programId);
      if (param("programMemberStatus") === undefined) return fail("1003", "programMemberStatus is required");
    }
    if (this.openCount() >= this.options.maxQueuedBulkJobs) return fail("1016", "Too many imports");

    const text = await file.text();
    const work: JobWork = { header: undefined, rows: [], failures: [], warnings: [] };
    try {
      const [header, ...rows] = readDelimited(text, BULK_DELIMITERS[format]);
      work.header = header;
      work.rows = rows;
    } catch (error) {
      work.parseError = error instanceof Error ? error.message : String(error);
    }
    const failJob = this.faults.take(url.pathname, ["failJob"]);
    if (failJob?.kind === "failJob") work.failJob = failJob.message ?? "Import failed: internal error";
    const options: SimBulkJob["options"] = {};
    if (route.objectType === "leads") {
      options.lookupField = param("lookupField") ?? "email";
      const listId = param("listId");
      const partitionName = param("partitionName");
      if (listId !== undefined) options.listId = listId;
      if (partitionName !== undefined) options.partitionName = partitionName;
    }
    if (route.objectType === "programmembers") options.programMemberStatus = param("programMemberStatus");
    const job: SimBulkJob = {
      batchId: this.nextBatchId++,
      objectType: route.objectType,
      ...(route.apiName !== undefined ? { apiName: route.apiName } : {}),
      ...(programId !== undefined ? { programId } : {}),
      status: "Queued",
      format,
      rowCount: work.rows.length,
      bytes: file.size,
      fileName: file.name,
      options,
      submittedAt: this.now(),
      processed: 0,
      failed: 0,
      warnings: 0,
      message: "Import queued",
    };
    this.jobs.push(job);
    this.work.set(job.batchId, work);
    logCall(undefined, job.batchId);
    this.advance();
    sendJson(res, 200, {
      requestId,
      result: [
        {
          batchId: job.batchId,
          importId: String(job.batchId),
          ...(job.apiName !== undefined ? { objectApiName: job.apiName } : {}),
          status: "Queued",
        },
      ],
      success: true,
    });
  }

  /** Status, failures or warnings of one job. */
  private report(
    route: Route,
    res: ServerResponse,
    requestId: string,
    fail: (code: string, message: string, status?: number) => void,
  ): void {
    const batchId = Number(route.batchId);
    const job = this.jobs.find(
      (j) =>
        String(j.batchId) === route.batchId &&
        j.objectType === route.objectType &&
        (route.objectType !== "customobjects" || j.apiName === route.apiName),
    );
    const work = this.work.get(batchId);
    if (!job || !work) return fail("1013", "Import job not found");
    if (route.op === "status") {
      this.record("status", batchId);
      const processedKey = job.objectType === "customobjects" ? "numOfObjectsProcessed" : "numOfLeadsProcessed";
      return sendJson(res, 200, {
        requestId,
        result: [
          {
            batchId,
            importId: String(batchId),
            ...(job.objectType === "customobjects" ? { operation: "import", objectApiName: job.apiName } : {}),
            status: job.status,
            [processedKey]: job.processed,
            numOfRowsFailed: job.failed,
            numOfRowsWithWarning: job.warnings,
            message: job.message,
          },
        ],
        success: true,
      });
    }
    if (job.status === "Queued" || job.status === "Importing") return fail("1003", "Job not finished");
    const event = route.op === "failures" ? "failures" : "warnings";
    const rows = event === "failures" ? work.failures : work.warnings;
    if (rows.length === 0 || !work.header) return fail("404", `No ${event} for batch ${batchId}`, 404);
    this.record(event, batchId);
    const reason = event === "failures" ? "Import Failure Reason" : "Import Warning Reason";
    // Reverse submission order on purpose: Marketo guarantees no order, so clients must match rows, not count them.
    const body = writeDelimited([[...work.header, reason], ...[...rows].reverse()], BULK_DELIMITERS[job.format]);
    res.writeHead(200, { "content-type": "text/csv; charset=utf-8" });
    res.end(body);
  }

  /** Moves the queue forward to `now`: finishes jobs whose import time is up, then starts queued ones FIFO. */
  advance(): void {
    const now = this.now();
    for (;;) {
      const due = this.jobs.find(
        (j) => j.status === "Importing" && !j.foreign && (j.startedAt ?? now) + this.options.bulkImportMs <= now,
      );
      if (due) {
        this.finish(due, now);
        continue;
      }
      const next = this.jobs.find((j) => j.status === "Queued");
      if (next && this.count("Importing") < this.options.maxImportingBulkJobs) {
        next.status = "Importing";
        next.startedAt = now;
        next.message = "Import in progress";
        this.record("started", next.batchId, undefined, now);
        continue;
      }
      break;
    }
    this.schedule();
  }

  /** Status transitions happen on time even when nobody calls: a timer wakes at the next job's end. */
  private schedule(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    if (this.closed) return;
    const ends = this.jobs
      .filter((j) => j.status === "Importing" && !j.foreign)
      .map((j) => (j.startedAt ?? 0) + this.options.bulkImportMs);
    if (ends.length === 0) return;
    this.timer = setTimeout(() => this.advance(), Math.max(0, Math.min(...ends) - this.now()) + 1);
    this.timer.unref();
  }

  private finish(job: SimBulkJob, now: number): void {
    const work = this.work.get(job.batchId) as JobWork;
    const jobFailure = work.failJob ?? this.importRows(job, work);
    job.finishedAt = now;
    if (jobFailure !== undefined) {
      job.status = "Failed";
      job.message = jobFailure;
      job.processed = job.failed = job.warnings = 0;
      work.failures = [];
      work.warnings = [];
    } else {
      job.status = "Complete";
      job.message = summary(job.processed, job.failed, job.warnings);
    }
    this.record("finished", job.batchId, undefined, now);
  }

  /**
   * The simulator's rules for a finishing job (Marketo documents outcomes, not rules; these are ours):
   * - The file is read with its format's delimiter and RFC 4180 quoting, blank lines skipped. Unreadable, empty or
   *   header-only → job Failed ("Import failed: file has no data rows").
   * - Leads: the lookupField column (default email) must be in the header, else job Failed. Program members: the
   *   same with `email`. Custom objects: every configured dedupe field must be in the header, else job Failed.
   * - A row fails (first rule that applies): field count ≠ header's ("Row has N fields, header has M"); blank
   *   lookup / email / dedupe value ("Missing value for lookup|dedupe field <f>"); leads and program members only:
   *   a non-blank non-integer in a bulkIntegerFields column ("Invalid data type in field <f>").
   * - Leads and program members: a non-blank `email` not shaped like an address is a warning ("Invalid email
   *   address"); the row is still imported and counts as processed.
   * - Imported rows store their non-blank values as strings, lastRequestId = batchId: leads upsert persons keyed
   *   `${partitionName ?? "Default"}|${lookup value}`, custom objects the Data Ingestion store with its key rule,
   *   program members bulkProgramMembers keyed `${programId}:${email lower-cased}` (no person is created).
   * Returns the job's failure message, or undefined after setting the counts.
   */
  private importRows(job: SimBulkJob, work: JobWork): string | undefined {
    if (work.parseError !== undefined) return `Import failed: file is not valid ${job.format}: ${work.parseError}`;
    const header = work.header;
    if (!header || work.rows.length === 0) return "Import failed: file has no data rows";
    const dedupe =
      job.objectType === "customobjects" ? (this.state.customObjectDedupeFieldsOf(job.apiName ?? "") ?? []) : [];
    const keyFields =
      job.objectType === "leads"
        ? [job.options.lookupField ?? "email"]
        : job.objectType === "programmembers"
          ? ["email"]
          : dedupe;
    const kind = job.objectType === "customobjects" ? "dedupe" : "lookup";
    const absent = keyFields.find((f) => !header.includes(f));
    if (absent !== undefined) return `Import failed: ${kind} field ${absent} not in file header`;

    const typed = job.objectType !== "customobjects";
    const integerFields = typed ? this.options.bulkIntegerFields.filter((f) => header.includes(f)) : [];
    const requestId = String(job.batchId);
    for (const row of work.rows) {
      const record: Record<string, string> = {};
      header.forEach((name, i) => {
        const value = row[i];
        if (value !== undefined && value.trim() !== "") record[name] = value;
      });
      const missing = keyFields.find((f) => record[f] === undefined);
      const notInteger = integerFields.find((f) => {
        const value = record[f];
        return value !== undefined && !INTEGER.test(value.trim());
      });
      const failure =
        row.length !== header.length
          ? `Row has ${row.length} fields, header has ${header.length}`
          : missing !== undefined
            ? `Missing value for ${kind} field ${missing}`
            : notInteger !== undefined
              ? `Invalid data type in field ${notInteger}`
              : undefined;
      if (failure !== undefined) {
        work.failures.push([...row, failure]);
        continue;
      }
      if (typed && record.email !== undefined && !EMAIL.test(record.email)) {
        work.warnings.push([...row, "Invalid email address"]);
      }
      const key = record[keyFields[0] ?? ""] ?? "";
      if (job.objectType === "leads") {
        this.state.upsertPerson(`${job.options.partitionName ?? "Default"}|${key}`, record, requestId);
      } else if (job.objectType === "programmembers") {
        this.state.upsertBulkProgramMember(
          job.programId as number,
          key,
          job.options.programMemberStatus ?? "",
          record,
          requestId,
        );
      } else {
        this.state.upsertCustomObject(job.apiName ?? "", record, requestId);
      }
      job.processed++;
    }
    job.failed = work.failures.length;
    job.warnings = work.warnings.length;
    return undefined;
  }

  /** Adds up to `n` jobs of another integration (never beyond the queue limit, which would refuse them too). */
  occupy(n: number): void {
    this.advance();
    const room = Math.max(0, this.options.maxQueuedBulkJobs - this.openCount());
    for (let i = 0; i < Math.min(n, room); i++) {
      const job: SimBulkJob = {
        batchId: this.nextBatchId++,
        objectType: "leads",
        status: "Queued",
        format: "csv",
        rowCount: 0,
        bytes: 0,
        options: {},
        submittedAt: this.now(),
        processed: 0,
        failed: 0,
        warnings: 0,
        message: "Import queued",
        foreign: true,
      };
      this.jobs.push(job);
      this.work.set(job.batchId, { header: undefined, rows: [], failures: [], warnings: [] });
      this.record("submitted", job.batchId);
    }
    this.advance();
  }

  /** Completes every open job of the other integration, freeing the queue. */
  release(): void {
    const now = this.now();
    for (const job of this.jobs) {
      if (!job.foreign || (job.status !== "Queued" && job.status !== "Importing")) continue;
      job.status = "Complete";
      job.startedAt ??= now;
      job.finishedAt = now;
      job.message = summary(0, 0, 0);
      this.record("finished", job.batchId, undefined, now);
    }
    this.advance();
  }

  stats(): BulkStats {
    return {
      maxOpen: Math.max(0, ...this.log.map((e) => e.open)),
      maxImporting: Math.max(0, ...this.log.map((e) => e.importing)),
      tooManyImports: this.log.filter((e) => e.event === "rejected" && e.code === "1016").length,
    };
  }

  reset(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    this.jobs.length = 0;
    this.log.length = 0;
    this.work.clear();
  }

  /** Stops the timer; jobs and log stay readable for assertions after the server closed. */
  close(): void {
    this.closed = true;
    clearTimeout(this.timer);
    this.timer = undefined;
  }

  private count(status: BulkJobStatus): number {
    return this.jobs.filter((j) => j.status === status).length;
  }

  private openCount(): number {
    return this.count("Queued") + this.count("Importing");
  }

  private record(event: BulkLogEntry["event"], batchId?: number, code?: string, at = this.now()): void {
    this.log.push({
      at,
      event,
      ...(batchId !== undefined ? { batchId } : {}),
      ...(code !== undefined ? { code } : {}),
      open: this.openCount(),
      importing: this.count("Importing"),
    });
  }
}

function summary(processed: number, failed: number, warnings: number): string {
  const imported = `${processed} records imported (${processed} members)`;
  const base =
    failed === 0 ? `Import succeeded, ${imported}` : `Import completed with errors, ${imported}, ${failed} failed`;
  return warnings > 0 ? `${base}, ${warnings} warning${warnings === 1 ? "" : "s"}.` : base;
}

function routeOf(method: string, path: string): Route | undefined {
  if (method === "POST") {
    if (path === "/bulk/v1/leads.json") return { op: "submit", objectType: "leads" };
    const co = /^\/bulk\/v1\/customobjects\/([^/]+)\/import\.json$/.exec(path);
    if (co) return { op: "submit", objectType: "customobjects", apiName: co[1] as string };
    const pm = /^\/bulk\/v1\/program\/([^/]+)\/members\/import\.json$/.exec(path);
    if (pm) return { op: "submit", objectType: "programmembers", programId: pm[1] as string };
    return undefined;
  }
  if (method !== "GET") return undefined;
  const leads = /^\/bulk\/v1\/leads\/batch\/([^/.]+)(?:\.json|\/(failures|warnings)\.json)$/.exec(path);
  if (leads)
    return { op: (leads[2] as Operation | undefined) ?? "status", objectType: "leads", batchId: leads[1] as string };
  const co = /^\/bulk\/v1\/customobjects\/([^/]+)\/import\/([^/]+)\/(status|failures|warnings)\.json$/.exec(path);
  if (co) {
    return { op: co[3] as Operation, objectType: "customobjects", apiName: co[1] as string, batchId: co[2] as string };
  }
  const pm = /^\/bulk\/v1\/program\/members\/import\/([^/]+)\/(status|failures|warnings)\.json$/.exec(path);
  if (pm) return { op: pm[2] as Operation, objectType: "programmembers", batchId: pm[1] as string };
  return undefined;
}

export function headerOf(req: IncomingMessage, name: string): string | undefined {
  const value = req.headers[name];
  return Array.isArray(value) ? value[0] : value;
}

export function sendJson(
  res: ServerResponse,
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
): void {
  res.writeHead(status, { "content-type": "application/json", ...headers });
  res.end(JSON.stringify(body));
}
