import { z } from "zod";
import { FileRefSchema, RowRangesSchema } from "../pipeline/batch-message.ts";

export const BulkRouteSchema = z.discriminatedUnion("target", [
  z.object({ target: z.literal("leads") }),
  z.object({ target: z.literal("customobjects"), apiName: z.string().min(1) }),
  z.object({ target: z.literal("programmembers"), programId: z.number().int().positive() }),
]);

/** Parameters of the import job (form fields besides `file`). */
export const BulkJobParamsSchema = z.object({
  format: z.enum(["csv", "tsv", "ssv"]),
  lookupField: z.string().min(1).optional(),
  listId: z.number().int().positive().optional(),
  partitionName: z.string().min(1).optional(),
  programMemberStatus: z.string().min(1).optional(),
});
export type BulkJobParams = z.infer<typeof BulkJobParamsSchema>;

/** One part of a split file: a complete import file in the work bucket, with its rows' original numbers. */
export const BulkPartSchema = z.object({
  index: z.number().int().nonnegative(),
  /** Key of the part in the work bucket. */
  key: z.string().min(1),
  bytes: z.number().int().positive(),
  rowCount: z.number().int().positive(),
  /** Original row numbers of the part's rows, in the part's order. */
  rows: RowRangesSchema,
});
export type BulkPart = z.infer<typeof BulkPartSchema>;

const IsoTime = z.string().min(1);

/** Where a part is in its life; every wait is a new, delayed message, so no Lambda sleeps for minutes. */
export const BulkStageSchema = z.discriminatedUnion("step", [
  z.object({
    step: z.literal("submit"),
    /** Failed submissions so far (transient errors); capped by the importer's max attempts. */
    tries: z.number().int().nonnegative(),
    /** Times the part waited for a free job slot or for Marketo's job queue (1016/1029): never a failure. */
    waits: z.number().int().nonnegative(),
    firstTriedAt: IsoTime.optional(),
  }),
  z.object({
    step: z.literal("poll"),
    batchId: z.number().int().positive(),
    slot: z.number().int().nonnegative(),
    submittedAt: IsoTime,
    polls: z.number().int().nonnegative(),
    tries: z.number().int().nonnegative(),
    firstTriedAt: IsoTime.optional(),
  }),
]);
export type BulkStage = z.infer<typeof BulkStageSchema>;

export const BulkPartMessageSchema = z.object({
  v: z.literal(1),
  kind: z.literal("bulk-part"),
  file: FileRefSchema,
  route: BulkRouteSchema,
  params: BulkJobParamsSchema,
  part: BulkPartSchema,
  stage: BulkStageSchema,
  /**
   * Which copy of the part's message this is: drawn when the splitter queues the part and carried by every wait,
   * so a resumed splitter's second copy is told apart from the first (SQS message ids change at each wait).
   */
  copyId: z.string().min(1).optional(),
});
export type BulkPartMessage = z.infer<typeof BulkPartMessageSchema>;

/** The holder name of a part's job slot: stable across redeliveries so a retry finds its own slot again. */
export const partHolder = (message: Pick<BulkPartMessage, "file" | "part">): string =>
  `${message.file.reportPrefix}${message.part.index}`;

/** The file name a part is imported under (in the multipart request): 1-based, as people count parts. */
export const partFileName = (index: number, format: BulkJobParams["format"]): string =>
  `part-${String(index + 1).padStart(6, "0")}.${format}`;
