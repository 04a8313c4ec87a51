import { z } from "zod";

/** Standard person attributes Marketo accepts in `dedupeFields` (custom string/integer fields are allowed too). */
export const STANDARD_PERSON_DEDUPE_FIELDS = [
  "id",
  "email",
  "sfdcAccountId",
  "sfdcContactId",
  "sfdcLeadId",
  "sfdcLeadOwnerId",
] as const;

export const PrioritySchema = z.enum(["normal", "high"]);

/** `dedupeFields` as a list of one or two distinct attribute names (AND semantics when two). */
export const DedupeFieldListSchema = z
  .array(z.string().trim().min(1))
  .min(1, "dedupeFields needs one or two attribute names")
  .max(2, "dedupeFields takes at most two attribute names")
  .refine((fields) => new Set(fields).size === fields.length, "dedupeFields must name two different attributes");
