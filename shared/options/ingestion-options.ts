import { z } from "zod";

/** `dedupeFields` as a list of one or two distinct attribute names (AND semantics when two). */
export const DedupeFieldListSchema = z
  // A Marketo field name is at most 255 characters, and the sender's body schema holds it to that.
  .array(z.string().trim().min(1).max(255))
  .min(1, "dedupeFields needs one or two attribute names")
  .max(2, "dedupeFields takes at most two attribute names")
  .refine((fields) => new Set(fields).size === fields.length, "dedupeFields must name two different attributes");
