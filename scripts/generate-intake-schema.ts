// Writes the intake message's JSON Schema (generated from its zod schema) to docs/schemas/. Run after changing
// shared/contracts/intake-message.ts: `node --import tsx scripts/generate-intake-schema.ts`.
import { writeFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { format, resolveConfig } from "prettier";
import { intakeMessageJsonSchema } from "../shared/contracts/intake-message.ts";

export const INTAKE_SCHEMA_PATH = fileURLToPath(new URL("../docs/schemas/intake-message.v1.json", import.meta.url));

/** The file's text as committed: the generated schema, formatted as `npm run lint` expects. */
export async function intakeSchemaText(): Promise<string> {
  const options = (await resolveConfig(INTAKE_SCHEMA_PATH)) ?? {};
  return format(JSON.stringify(intakeMessageJsonSchema()), { ...options, filepath: INTAKE_SCHEMA_PATH });
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  writeFileSync(INTAKE_SCHEMA_PATH, await intakeSchemaText());
  console.log(`wrote ${INTAKE_SCHEMA_PATH}`);
}
