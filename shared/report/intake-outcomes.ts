import type { IntakeWindow } from "../contracts/intake-window.ts";
import type { BatchOutcome, RejectedRow, SplitManifest } from "./file-report.ts";

export type RecordState = "accepted" | "rejected" | "failed" | "dead-lettered" | "pending";

/** Where one producer message's records ended, from its window's manifest and batch outcomes. */
export interface IntakeMessageOutcome {
  messageId: string;
  id?: string;
  status: "running" | "complete" | "complete with failures";
  records: Record<RecordState, number>;
  /** Why records did not get in: a rejection reason (before sending) or Marketo's code (failed, dead-lettered). */
  issues: Array<{ record: number; state: Exclude<RecordState, "accepted" | "pending">; reason: string }>;
}

/**
 * Folds a window's report objects into one outcome per producer message: each row of the window file belongs to
 * exactly one message (the descriptor's ranges), and each row's state is its rejection or its batch's outcome.
 * `rejectedRows` must be every rejected row: a manifest with rejected-row parts keeps only the first ones itself
 * (`windowMessageOutcomes` reads the parts).
 */
export function intakeMessageOutcomes(
  window: IntakeWindow,
  manifest: SplitManifest | undefined,
  outcomes: BatchOutcome[],
  rejectedRows: Iterable<RejectedRow> = manifest?.rejectedRows ?? [],
): IntakeMessageOutcome[] {
  const state = new Map<number, { state: RecordState; reason?: string }>();
  for (const rejected of rejectedRows) {
    state.set(rejected.row, { state: "rejected", reason: rejected.reason });
  }
  if (manifest?.status === "rejected") {
    // The whole window was refused (it cannot be for validated messages, but say so if it is).
    for (const message of window.messages) {
      for (const [from, to] of message.rows) {
        for (let row = from; row <= to; row++)
          state.set(row, { state: "rejected", reason: manifest.error?.message ?? "" });
      }
    }
  }
  for (const outcome of outcomes) {
    const failedRows = new Map((outcome.rowFailures ?? []).map((issue) => [issue.row, issue.reason]));
    const reason = outcome.failure ? `${outcome.failure.code}: ${outcome.failure.message}` : "";
    for (const [from, to] of outcome.rows) {
      for (let row = from; row <= to; row++) {
        if (outcome.status === "accepted") {
          const failure = failedRows.get(row);
          state.set(row, failure === undefined ? { state: "accepted" } : { state: "failed", reason: failure });
        } else state.set(row, { state: outcome.status, reason });
      }
    }
  }
  return window.messages.map((message) => {
    const records: Record<RecordState, number> = {
      accepted: 0,
      rejected: 0,
      failed: 0,
      "dead-lettered": 0,
      pending: 0,
    };
    const issues: IntakeMessageOutcome["issues"] = [];
    let record = 0;
    for (const [from, to] of message.rows) {
      for (let row = from; row <= to; row++) {
        record++;
        const found = state.get(row) ?? { state: "pending" as const };
        records[found.state]++;
        if (found.state !== "accepted" && found.state !== "pending") {
          issues.push({ record, state: found.state, reason: found.reason ?? "" });
        }
      }
    }
    const status =
      records.pending > 0 ? "running" : issues.length > 0 ? "complete with failures" : ("complete" as const);
    return {
      messageId: message.messageId,
      ...(message.id !== undefined ? { id: message.id } : {}),
      status,
      records,
      issues,
    };
  });
}

/**
 * `intakeMessageOutcomes` with every rejected row: read from the split's parts when the manifest keeps them there
 * (a window holds at most one invocation's payload, so its rejected rows fit in memory).
 */
export async function windowMessageOutcomes(
  window: IntakeWindow,
  manifest: SplitManifest | undefined,
  outcomes: BatchOutcome[],
  readRejectedRows: (parts: number) => AsyncIterable<RejectedRow>,
): Promise<IntakeMessageOutcome[]> {
  const parts = manifest?.rejectedRowParts ?? 0;
  if (parts === 0) return intakeMessageOutcomes(window, manifest, outcomes);
  const rejected: RejectedRow[] = [];
  for await (const row of readRejectedRows(parts)) rejected.push(row);
  return intakeMessageOutcomes(window, manifest, outcomes, rejected);
}

/** One message's outcome: the state all its records share, `mixed` when they differ. */
export type MessageOutcomeState = RecordState | "mixed";

/** `report.json`'s list of a window's producer messages (`intake`), so a report alone says what became of each. */
export interface IntakeWindowListing {
  windowId: string;
  messages: Array<{
    /** The SQS message id, and the producer's `id` when the message had one. */
    messageId: string;
    id?: string;
    outcome: MessageOutcomeState;
    /** Its records by state (states with none left out). */
    records: Partial<Record<RecordState, number>>;
  }>;
}

export function intakeWindowListing(window: IntakeWindow, outcomes: IntakeMessageOutcome[]): IntakeWindowListing {
  return {
    windowId: window.windowId,
    messages: outcomes.map((message) => {
      const present = (Object.entries(message.records) as Array<[RecordState, number]>).filter(([, n]) => n > 0);
      return {
        messageId: message.messageId,
        ...(message.id !== undefined ? { id: message.id } : {}),
        outcome: present.length === 1 ? (present[0] as [RecordState, number])[0] : "mixed",
        records: Object.fromEntries(present),
      };
    }),
  };
}

/** How the event and `status --message` name a producer message: its producer `id`, else its SQS message id. */
export const producerMessageName = (message: { messageId: string; id?: string | undefined }): string =>
  message.id ?? message.messageId;
