import { z } from "zod";

/** The JSON stored in Secrets Manager (or given by MARKETO_* variables locally). */
export const MarketoSecretSchema = z
  .object({
    clientId: z.string().min(1),
    clientSecret: z.string().min(1),
    munchkinId: z.string().regex(/^[0-9A-Za-z]{3}-[0-9A-Za-z]{3}-[0-9A-Za-z]{3}$/, "munchkinId looks like 123-ABC-456"),
    identityUrl: z.url().optional(),
    restUrl: z.url().optional(),
    ingestionUrl: z.url().optional(),
  })
  .strict();

export type MarketoSecret = z.infer<typeof MarketoSecretSchema>;

export class SecretFormatError extends Error {
  override readonly name = "SecretFormatError";
}

/** Parses the secret string; the error names the offending keys, never their values. */
export function parseMarketoSecret(secretString: string): MarketoSecret {
  let raw: unknown;
  try {
    raw = JSON.parse(secretString);
  } catch {
    throw new SecretFormatError("Marketo secret is not valid JSON");
  }
  const parsed = MarketoSecretSchema.safeParse(raw);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((issue) => `${issue.path.join(".") || "(root)"}: ${issue.code}`);
    throw new SecretFormatError(`Marketo secret is invalid (${problems.join("; ")})`);
  }
  return parsed.data;
}
