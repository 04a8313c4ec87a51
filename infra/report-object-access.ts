import { JOB_SLOT_PREFIX } from "../shared/contracts/job-slots.ts";
import { INTAKE_PREFIX } from "../shared/contracts/intake-window.ts";
import { ISSUE_ROWS_FILE, REPORT_FILE, SPLIT_CLAIM_FILE } from "../shared/report/build-file-report.ts";
import {
  HELD_MESSAGES_FOLDER,
  INFLATED_COPY_FILE,
  OPEN_BULK_PARTS_FOLDER,
  ROW_MARKS_FILE,
  SPLIT_CHECKPOINT_FILE,
  SPLIT_STATE_FOLDER,
} from "../shared/contracts/split-checkpoint.ts";

/** The objects of one file's report folder (`reports/{key}/{version}/…`) a function reads or writes. */
export interface ReportObjectAccess {
  /** Names under the file's report folder it may read (GetObject). */
  read: readonly string[];
  /** Names under the file's report folder it may write (PutObject; multipart uploads need it too). */
  write: readonly string[];
  /** Of those, the ones written with the row-data tag (PutObject with `x-amz-tagging` needs PutObjectTagging). */
  tagged?: readonly string[];
}

/**
 * What each function's code does in the work bucket, by object name (see shared/aws/s3-report-store.ts,
 * shared/claims/batch-claim.ts, shared/contracts/*): the grants are built from this table, and the infra test
 * checks the synthesized policies against the calls listed there.
 */
/**
 * What any split touches, wherever it runs (splitter or intake): the file's claim, manifest and report, what it
 * writes for the senders and the report writer, and its checkpoint.
 */
const SPLIT_READS = [SPLIT_CLAIM_FILE, "manifest.json", REPORT_FILE, SPLIT_CHECKPOINT_FILE] as const;
const SPLIT_WRITES = [
  SPLIT_CLAIM_FILE,
  "manifest.json",
  "bodies/*",
  "bulk-parts/*",
  "rejected-rows/*",
  ROW_MARKS_FILE,
  SPLIT_CHECKPOINT_FILE,
] as const;

export const REPORT_OBJECT_ACCESS = {
  // Claims the file, checks for an earlier manifest or report, writes the manifest (a `failed` one too, from the
  // split-failures queue), rejected rows, staged request bodies and bulk parts, row marks; a split that pauses
  // writes and reads back its checkpoint, held messages, a bulk split's open part and a gzip file's inflated copy
  // (`split/…`).
  splitter: {
    read: [...SPLIT_READS, `${SPLIT_STATE_FOLDER}*`],
    write: [...SPLIT_WRITES, `${SPLIT_STATE_FOLDER}*`],
    tagged: ["rejected-rows/*", INFLATED_COPY_FILE, `${OPEN_BULK_PARTS_FOLDER}*`],
  },
  // Claims a batch, reads its body when it did not fit a message, writes its outcome; for a message it must
  // dead-letter, reads the manifest (was this batch announced?) before recording the rows dead-lettered.
  sender: {
    read: ["claims/*", "batches/*", "bodies/*", "manifest.json"],
    write: ["claims/*", "batches/*"],
  },
  // Claims a part, reads it, writes its outcome.
  bulkImporter: {
    read: ["claims/*", "batches/*", "bulk-parts/*"],
    write: ["claims/*", "batches/*"],
  },
  // Folds the manifest, the outcomes and the rejected rows into report.json and the rows-with-issues CSV.
  // With row marks, it reads only stretches of the file (the dropped object, or a gzip file's inflated copy).
  reportWriter: {
    read: ["manifest.json", "batches/*", "rejected-rows/*", ROW_MARKS_FILE, INFLATED_COPY_FILE],
    write: [REPORT_FILE, ISSUE_ROWS_FILE],
    tagged: [ISSUE_ROWS_FILE],
  },
  // Splits each window of producer messages (and each object an S3 pointer names; Data Ingestion types only, so no
  // bulk part is ever open at a pause) as the splitter splits a file, row marks included. A split that runs out of
  // time pauses: checkpoint and held messages written, for the splitter to go on from (it alone reads them back,
  // and makes a gzip file's inflated copy).
  intake: {
    read: SPLIT_READS,
    write: [...SPLIT_WRITES, `${HELD_MESSAGES_FOLDER}*`],
    tagged: ["rejected-rows/*"],
  },
} as const satisfies Record<string, ReportObjectAccess>;

/** `reports/*\/{name}`: any file's report folder (keys hold slashes; `*` in an IAM resource spans them). */
export const reportObjectPattern = (name: string): string => `reports/*/${name}`;

/** Intake window files only (`intake/{day}/{window}/{n}-{type}.ndjson`): not their descriptors, nor the claims. */
export const intakeWindowFilePattern = `${INTAKE_PREFIX}*.ndjson`;

/** The bulk importer's job-slot objects. */
export const jobSlotPattern = `${JOB_SLOT_PREFIX}*`;
