import type { ClaimStore } from "../../shared/contracts/claim-store.ts";
import { toRowRanges } from "../../shared/contracts/batch-message.ts";
import {
  type IntakeMessage,
  type IntakeMessageError,
  type IntakeS3Pointer,
  parseIntakeBody,
} from "../../shared/contracts/intake-message.ts";
import {
  type IntakeMessageClaim,
  type IntakeWindow,
  intakeClaimKey,
  intakeDedupeKey,
} from "../../shared/contracts/intake-window.ts";
import type { DroppedFile } from "../../shared/contracts/s3-event.ts";
import { resolveTarget } from "../../shared/options/file-options.ts";
import { routeForObjectName } from "../../shared/options/object-route.ts";
import { InputFileError } from "../../shared/parsing/input-file-error.ts";
import type { ExplicitTarget } from "./process-dropped-file.ts";
import { type InvocationTime, splitDroppedFileOnce, type SplitOnceDeps, type SplitOnceResult } from "./split-once.ts";

/** One SQS record of the intake queue, as the handler hands it over. */
export interface IntakeSqsRecord {
  messageId: string;
  body: string;
}

export interface IntakeWindowDeps extends SplitOnceDeps {
  /** Who delivered which producer message first (conditional writes in the work bucket). */
  messageClaims: ClaimStore<IntakeMessageClaim>;
  /** The bucket window files are written to. */
  workBucket: string;
  /** Writes a window's descriptor, then its NDJSON file; returns the file as a dropped file (with its ETag). */
  putWindow: (key: string, ndjson: string, window: IntakeWindow) => Promise<DroppedFile>;
  /** A window file an earlier delivery wrote, or undefined when it never got that far. */
  findWindow: (key: string) => Promise<{ dropped: DroppedFile; window: IntakeWindow } | undefined>;
  /** The object an S3 pointer names (its current version and ETag), or undefined when there is none. */
  findObject: (pointer: IntakeS3Pointer) => Promise<DroppedFile | undefined>;
  /** Sends the message to the intake DLQ at once, with the error as attributes: it can never succeed. */
  deadLetter: (record: IntakeSqsRecord, error: IntakeMessageError) => Promise<void>;
  /** S3 requests in flight at once while claiming messages. */
  concurrency?: number;
}

export interface IntakeWindowSummary {
  received: number;
  deadLettered: Array<{ messageId: string; code: IntakeMessageError["code"] }>;
  /** Producer retries (same `id`) and SQS redeliveries of a message already taken. */
  duplicates: Array<{ messageId: string; id?: string; of: string }>;
  /**
   * Window files and S3 pointer objects split by this invocation (resumed ones included), paused (they go on in
   * the splitter function, through the split-continuation queue) or deferred (not started: too little time left).
   */
  splits: Array<{ key: string; messages: number; result: SplitOnceResult }>;
}

interface ValidMessage {
  /** Position in the invocation's records (queue order). */
  position: number;
  record: IntakeSqsRecord;
  message: IntakeMessage;
  /** Object type and canonical options: messages with equal keys share a window file. */
  groupKey: string;
}

/**
 * Intake core, one invocation's messages (a "window"): invalid messages go to the DLQ at once; duplicates are
 * dropped; the rest are grouped by object type and options into NDJSON window files in the work bucket, each
 * split like a dropped file (packing, batch messages, claims, sender, outcomes and report unchanged). S3 pointer
 * messages are split as the object they name. Infrastructure errors propagate: the batch comes back, and the
 * claims written so far make the redelivery resume rather than send twice. Given the invocation's time, a split
 * that would outlast it pauses and goes on in a fresh invocation, as a dropped file's does; so does every split
 * after it (those not started yet are deferred whole).
 */
export async function processIntakeWindow(
  records: IntakeSqsRecord[],
  windowId: string,
  deps: IntakeWindowDeps,
  time?: InvocationTime,
): Promise<IntakeWindowSummary> {
  const summary: IntakeWindowSummary = { received: records.length, deadLettered: [], duplicates: [], splits: [] };
  const valid: ValidMessage[] = [];
  for (const [position, record] of records.entries()) {
    const checked = validate(record, position, deps);
    if (checked.ok) valid.push(checked.value);
    else {
      await deps.deadLetter(record, checked.error);
      summary.deadLettered.push({ messageId: record.messageId, code: checked.error.code });
    }
  }

  // Within the window the first delivery of an id wins; across windows the claims in the work bucket decide.
  const firsts = new Map<string, ValidMessage>();
  for (const entry of valid) {
    const key = intakeDedupeKey({ id: entry.message.id, messageId: entry.record.messageId });
    const first = firsts.get(key);
    if (first) summary.duplicates.push(duplicateOf(entry, first.record.messageId));
    else firsts.set(key, entry);
  }

  const day = new Date(deps.clock.now()).toISOString().slice(0, 10);
  const groups = new Map<string, ValidMessage[]>();
  const pointers: ValidMessage[] = [];
  for (const entry of firsts.values()) {
    if (entry.message.s3) pointers.push(entry);
    else groups.set(entry.groupKey, [...(groups.get(entry.groupKey) ?? []), entry]);
  }
  const windowKeys = new Map<string, string>();
  [...groups.keys()].forEach((groupKey, index) => {
    const type = (groups.get(groupKey)?.[0]?.message.objectType ?? "").replace(/\//g, "-");
    windowKeys.set(groupKey, `intake/${day}/${windowId}/${index + 1}-${type}.ndjson`);
  });

  const resume = new Set<string>();
  const claimed = new Map<string, ValidMessage[]>();
  const pointerFiles: Array<{ entry: ValidMessage; dropped: DroppedFile }> = [];
  await forEachLimited([...groups.values()].flat(), deps.concurrency ?? 32, async (entry) => {
    const windowKey = windowKeys.get(entry.groupKey) as string;
    const outcome = await claimMessage(entry, { bucket: deps.workBucket, key: windowKey }, deps, async (earlier) =>
      (await deps.findWindow(earlier.source.key)) !== undefined ? "resume" : "take-over",
    );
    if (outcome.kind === "duplicate") summary.duplicates.push(duplicateOf(entry, outcome.of));
    else if (outcome.kind === "resume") resume.add(outcome.source.key);
    else claimed.set(windowKey, [...(claimed.get(windowKey) ?? []), entry]);
  });
  for (const entry of pointers) {
    const dropped = await deps.findObject(entry.message.s3 as IntakeS3Pointer);
    if (!dropped) {
      const error = { code: "s3_object_not_found", path: "s3", message: "the S3 object does not exist" } as const;
      await deps.deadLetter(entry.record, error);
      summary.deadLettered.push({ messageId: entry.record.messageId, code: error.code });
      continue;
    }
    const source = {
      bucket: dropped.bucket,
      key: dropped.key,
      ...(dropped.versionId ? { versionId: dropped.versionId } : {}),
    };
    // A redelivered pointer message splits its object again: the file's own claim skips it once done.
    const outcome = await claimMessage(entry, source, deps, async () => "resume");
    if (outcome.kind === "duplicate") summary.duplicates.push(duplicateOf(entry, outcome.of));
    else pointerFiles.push({ entry, dropped });
  }

  for (const [windowKey, entries] of claimed) {
    // Keep the window's messages in queue order (claims finished in any order).
    entries.sort((a, b) => a.position - b.position);
    const { ndjson, window } = windowFile(windowId, entries, deps.clock.now());
    const dropped = await deps.putWindow(windowKey, ndjson, window);
    const result = await splitWindow(dropped, window, deps, time);
    summary.splits.push({ key: windowKey, messages: entries.length, result });
  }
  for (const windowKey of resume) {
    const found = await deps.findWindow(windowKey);
    if (!found) continue;
    const result = await splitWindow(found.dropped, found.window, deps, time);
    summary.splits.push({ key: windowKey, messages: found.window.messages.length, result });
  }
  for (const { entry, dropped } of pointerFiles) {
    const explicit = explicitTarget(entry.message);
    const owner = `intake:${intakeDedupeKey({ id: entry.message.id, messageId: entry.record.messageId })}`;
    summary.splits.push({
      key: dropped.key,
      messages: 1,
      result: await splitDroppedFileOnce(dropped, owner, deps, explicit, time),
    });
  }
  return summary;
}

function validate(
  record: IntakeSqsRecord,
  position: number,
  deps: IntakeWindowDeps,
): { ok: true; value: ValidMessage } | { ok: false; error: IntakeMessageError } {
  const parsed = parseIntakeBody(record.body);
  if (!parsed.ok) return parsed;
  const message = parsed.message;
  try {
    // The options are checked here, against the type, so a bad option dead-letters its message alone.
    resolveTarget(routeForObjectName(message.objectType), { defaults: deps.defaults, sidecar: message.options });
  } catch (error) {
    if (!(error instanceof InputFileError)) throw error;
    const code = error.code === "UNKNOWN_OBJECT_TYPE" ? "unknown_object_type" : "invalid_options";
    return {
      ok: false,
      error: { code, path: code === "invalid_options" ? "options" : "objectType", message: error.message },
    };
  }
  // A record that cannot fit one request could never be sent: the message is refused whole, not half-sent.
  const maxRecordBytes = deps.limits.maxBytes - RECORD_FRAME_BYTES;
  const records = message.records ?? [];
  for (let index = 0; index < records.length; index++) {
    const bytes = Buffer.byteLength(JSON.stringify(records[index]));
    if (bytes > maxRecordBytes) {
      return {
        ok: false,
        error: {
          code: "record_too_large",
          path: `records.${index}`,
          message: `record is ${bytes} bytes as JSON; one request holds at most ${maxRecordBytes}`,
        },
      };
    }
  }
  return {
    ok: true,
    value: { position, record, message, groupKey: canonicalJson([message.objectType, message.options ?? {}]) },
  };
}

/** Room left in a request for its envelope (`{"input":[…]}`, priority, partition…): generous on purpose. */
const RECORD_FRAME_BYTES = 1024;

type ClaimOutcome =
  { kind: "new" } | { kind: "duplicate"; of: string } | { kind: "resume"; source: IntakeMessageClaim["source"] };

/**
 * Claims a producer message for `source`. Another SQS message holding the claim makes this one a duplicate. The
 * same SQS message holding it is a redelivery after a failed attempt: `earlier` decides whether that attempt got
 * far enough to resume (its window file exists) or this delivery takes the claim over.
 */
async function claimMessage(
  entry: ValidMessage,
  source: IntakeMessageClaim["source"],
  deps: IntakeWindowDeps,
  earlier: (claim: IntakeMessageClaim) => Promise<"resume" | "take-over">,
): Promise<ClaimOutcome> {
  const { messageId } = entry.record;
  const id = entry.message.id;
  const key = intakeClaimKey(intakeDedupeKey({ id, messageId }));
  const claim: IntakeMessageClaim = {
    messageId,
    ...(id !== undefined ? { id } : {}),
    claimedAt: new Date(deps.clock.now()).toISOString(),
    source,
  };
  for (let round = 0; round < 3; round++) {
    const current = await deps.messageClaims.read(key);
    if (!current) {
      if ((await deps.messageClaims.write(key, claim, { IfNoneMatch: "*" })) !== undefined) return { kind: "new" };
      continue;
    }
    if (current.value.messageId !== messageId) return { kind: "duplicate", of: current.value.messageId };
    if ((await earlier(current.value)) === "resume") return { kind: "resume", source: current.value.source };
    if ((await deps.messageClaims.write(key, claim, { IfMatch: current.etag })) !== undefined) return { kind: "new" };
  }
  // Lost every race for this key: another delivery of the same message is working on it right now.
  return { kind: "duplicate", of: messageId };
}

function windowFile(windowId: string, entries: ValidMessage[], now: number): { ndjson: string; window: IntakeWindow } {
  const lines: string[] = [];
  const first = entries[0]?.message;
  const window: IntakeWindow = {
    v: 1,
    windowId,
    objectType: first?.objectType ?? "",
    ...(first?.options ? { options: first.options as Record<string, unknown> } : {}),
    messages: [],
    createdAt: new Date(now).toISOString(),
  };
  for (const { record, message } of entries) {
    const from = lines.length + 1;
    for (const values of message.records ?? []) lines.push(JSON.stringify(values));
    const rows = toRowRanges(Array.from({ length: lines.length - from + 1 }, (_, i) => from + i));
    window.messages.push({
      messageId: record.messageId,
      ...(message.id !== undefined ? { id: message.id } : {}),
      rows,
    });
  }
  return { ndjson: `${lines.join("\n")}\n`, window };
}

function splitWindow(
  dropped: DroppedFile,
  window: IntakeWindow,
  deps: IntakeWindowDeps,
  time: InvocationTime | undefined,
): Promise<SplitOnceResult> {
  // The owner is the window, not the invocation: a redelivery that resumes a window retries its split.
  const explicit = { objectType: window.objectType, ...(window.options ? { options: window.options } : {}) };
  return splitDroppedFileOnce(dropped, `intake:${dropped.key}`, deps, explicit, time);
}

function explicitTarget(message: IntakeMessage): ExplicitTarget {
  return { objectType: message.objectType, ...(message.options ? { options: message.options } : {}) };
}

function duplicateOf(entry: ValidMessage, of: string): IntakeWindowSummary["duplicates"][number] {
  return {
    messageId: entry.record.messageId,
    ...(entry.message.id !== undefined ? { id: entry.message.id } : {}),
    of,
  };
}

/** JSON with object keys sorted, so equal options make equal group keys whatever order a producer wrote them in. */
function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(",")}]`;
  if (value !== null && typeof value === "object") {
    const entries = Object.entries(value as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : 1));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(",")}}`;
  }
  return JSON.stringify(value);
}

async function forEachLimited<T>(items: T[], limit: number, work: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < items.length) await work(items[next++] as T);
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
}
