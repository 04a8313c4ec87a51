import { z } from "zod";

/**
 * A value that arrives as JSON text (an environment variable, a `-c key=value`) or already parsed (cdk.json),
 * then checked by `schema`.
 */
export const jsonOf = <S extends z.ZodType>(schema: S, notJson = "is not valid JSON") =>
  z
    .unknown()
    .transform((value, ctx) => {
      if (typeof value !== "string") return value;
      try {
        return JSON.parse(value) as unknown;
      } catch {
        ctx.addIssue({ code: "custom", message: notJson });
        return z.NEVER;
      }
    })
    .pipe(schema);
