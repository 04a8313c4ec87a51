import { z } from "zod";
import { countRows, type FileRef, FileRefSchema, RowRangesSchema } from "./batch-message.ts";
import { BULK_MAX_REQUEST_BYTES } from "./marketo-limits.ts";
import { API_NAME } from "../options/object-route.ts";
import type { BulkFormat } from "../text/csv-text.ts";

// Closed schemas, like the batch message's: a bulk message names work-bucket keys and Marketo paths.

export const BulkRouteSchema = z.discriminatedUnion("target", [
  z.strictObject({ target: z.literal("leads") }),
  z.strictObject({
    target: z.literal("customobjects"),
    apiName: z.string().regex(API_NAME, "must be a custom object API name (letters, digits, _)"),
  }),
  z.strictObject({ target: z.literal("programmembers"), programId: z.number().int().positive() }),
]);

/** Parameters of the import job (form fields besides `file`). */
export const BulkJobParamsSchema = z.strictObject({
  format: z.enum(["csv", "tsv", "ssv"]),
  lookupField: z.string().min(1).max(255).optional(),
  listId: z.number().int().positive().optional(),
  partitionName: z.string().min(1).max(255).optional(),
  programMemberStatus: z.string().min(1).max(255).optional(),
});
export type BulkJobParams = z.infer<typeof BulkJobParamsSchema>;

/** Which job parameters each target takes (besides `format`): Marketo's form fields of that import. */
const TARGET_PARAMS = {
  leads: ["lookupField", "listId", "partitionName"],
  customobjects: [],
  programmembers: ["programMemberStatus"],
} as const satisfies Record<z.infer<typeof BulkRouteSchema>["target"], ReadonlyArray<keyof BulkJobParams>>;

/** Key of a part in the work bucket. */
export const partKey = (file: Pick<FileRef, "reportPrefix">, index: number, format: BulkFormat): string =>
  `${file.reportPrefix}bulk-parts/${String(index).padStart(6, "0")}.${format}`;

/** One part of a split file: a complete import file in the work bucket, with its rows' original numbers. */
export const BulkPartSchema = z
  .strictObject({
    index: z.number().int().nonnegative(),
    /** Key of the part in the work bucket (always `partKey` of the part). */
    key: z.string().min(1),
    bytes: z.number().int().positive().max(BULK_MAX_REQUEST_BYTES),
    rowCount: z.number().int().positive(),
    /** Original row numbers of the part's rows, in the part's order. */
    rows: RowRangesSchema,
  })
  .refine((part) => countRows(part.rows) === part.rowCount, {
    path: ["rowCount"],
    message: "must equal the number of rows its ranges hold",
  });
export type BulkPart = z.infer<typeof BulkPartSchema>;

const IsoTime = z.iso.datetime();

/** Where a part is in its life; every wait is a new, delayed message, so no Lambda sleeps for minutes. */
export const BulkStageSchema = z.discriminatedUnion("step", [
  z.strictObject({
    step: z.literal("submit"),
    /** Failed submissions so far (transient errors); capped by the importer's max attempts. */
    tries: z.number().int().nonnegative(),
    /** Times the part waited for a free job slot or for Marketo's job queue (1016/1029): never a failure. */
    waits: z.number().int().nonnegative(),
    firstTriedAt: IsoTime.optional(),
  }),
  z.strictObject({
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

export const BulkPartMessageSchema = z
  .strictObject({
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
    copyId: z.uuid().optional(),
  })
  .superRefine(({ file, route, params, part }, ctx) => {
    const allowed: ReadonlyArray<string> = TARGET_PARAMS[route.target];
    for (const name of Object.keys(params)) {
      if (name !== "format" && !allowed.includes(name)) {
        ctx.addIssue({ code: "custom", path: ["params", name], message: `does not apply to ${route.target}` });
      }
    }
    if (route.target === "programmembers" && params.programMemberStatus === undefined) {
      ctx.addIssue({
        code: "custom",
        path: ["params", "programMemberStatus"],
        message: "is required for programmembers",
      });
    }
    if (part.key !== partKey(file, part.index, params.format)) {
      ctx.addIssue({
        code: "custom",
        path: ["part", "key"],
        message: "must be the part's key under the file's report prefix",
      });
    }
  });
export type BulkPartMessage = z.infer<typeof BulkPartMessageSchema>;

/** The holder name of a part's job slot: stable across redeliveries so a retry finds its own slot again. */
export const partHolder = (message: Pick<BulkPartMessage, "file" | "part">): string =>
  `${message.file.reportPrefix}${message.part.index}`;

/** The file name a part is imported under (in the multipart request): 1-based, as people count parts. */
export const partFileName = (index: number, format: BulkJobParams["format"]): string =>
  `part-${String(index + 1).padStart(6, "0")}.${format}`;
