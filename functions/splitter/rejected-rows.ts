import type { RowRejection } from "../../shared/parsing/source-row.ts";
import type { RejectionGroup } from "../../shared/report/file-report.ts";
import type { RejectionState } from "../../shared/contracts/split-checkpoint.ts";

/** Rejected rows the manifest lists itself (the rest are in the parts); a few are enough to see what went wrong. */
export const REJECTED_ROWS_IN_MANIFEST = 100;
/** Distinct reasons grouped by name; beyond, rows count under OTHER_REASONS (some reasons carry sizes). */
export const MAX_REJECTION_GROUPS = 100;
export const OTHER_REASONS = "other reasons (each row's reason is in rows-with-issues.csv)";
/** Part size: bounded memory however many rows are rejected. */
export const REJECTED_PART_BYTES = 4 * 1024 * 1024;

export interface RejectionSummary {
  /** The first REJECTED_ROWS_IN_MANIFEST rejections. */
  rejections: RowRejection[];
  rejected: number;
  rejectionGroups: RejectionGroup[];
  /** NDJSON parts stored (0 without a store, or when nothing was rejected). */
  rejectedRowParts: number;
}

/** Stores one NDJSON part of rejected rows (`index` from 0). */
export type StoreRejectedRows = (index: number, ndjson: string) => Promise<void>;

/**
 * Takes a split's rejected rows one at a time and keeps only counts, groups and the first few in memory; the rows
 * themselves go to NDJSON parts as they fill. Without a store (the pre-flight, a test), it only counts.
 */
export class RejectionRecorder {
  private readonly first: RowRejection[] = [];
  private readonly groups = new Map<string, RejectionGroup>();
  private other: RejectionGroup | undefined;
  private count = 0;
  private parts = 0;
  private lines: string[] = [];
  private bytes = 0;

  constructor(
    private readonly store?: StoreRejectedRows,
    private readonly partBytes = REJECTED_PART_BYTES,
    saved?: RejectionState,
  ) {
    if (!saved) return;
    this.first.push(...saved.first);
    for (const group of saved.groups) this.groups.set(groupKey(group), { ...group });
    if (saved.other) this.other = { ...saved.other };
    this.count = saved.count;
    this.parts = saved.parts;
  }

  /** Writes the rows not yet in a part, and returns what a recorder built from it needs to go on. */
  async save(): Promise<RejectionState> {
    await this.flushPart();
    return {
      first: [...this.first],
      groups: [...this.groups.values()].map((group) => ({ ...group })),
      ...(this.other ? { other: { ...this.other } } : {}),
      count: this.count,
      parts: this.parts,
    };
  }

  async add(rejection: RowRejection): Promise<void> {
    this.count++;
    if (this.first.length < REJECTED_ROWS_IN_MANIFEST) this.first.push(rejection);
    this.group(rejection);
    if (!this.store) return;
    const { kind: _kind, ...row } = rejection;
    const line = `${JSON.stringify(row)}\n`;
    this.lines.push(line);
    this.bytes += Buffer.byteLength(line);
    if (this.bytes >= this.partBytes) await this.flushPart();
  }

  async finish(): Promise<RejectionSummary> {
    await this.flushPart();
    return {
      rejections: this.first,
      rejected: this.count,
      rejectionGroups: [...this.groups.values(), ...(this.other ? [this.other] : [])],
      rejectedRowParts: this.parts,
    };
  }

  private group(rejection: RowRejection): void {
    const key = groupKey(rejection);
    const known = this.groups.get(key);
    if (known) known.rows++;
    else if (this.groups.size < MAX_REJECTION_GROUPS) {
      this.groups.set(key, {
        reason: rejection.reason,
        ...(rejection.field ? { field: rejection.field } : {}),
        rows: 1,
      });
    } else {
      this.other ??= { reason: OTHER_REASONS, rows: 0 };
      this.other.rows++;
    }
  }

  private async flushPart(): Promise<void> {
    if (!this.store || this.lines.length === 0) return;
    await this.store(this.parts++, this.lines.join(""));
    this.lines = [];
    this.bytes = 0;
  }
}

const groupKey = (rejection: { field?: string; reason: string }) => `${rejection.field ?? ""}\u0000${rejection.reason}`;
