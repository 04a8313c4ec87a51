// Writes the intake's public JSON Schemas (generated from their zod schemas) to docs/schemas/: the intake message
// and the window event's detail. Run after changing shared/contracts/intake-message.ts or intake-window-event.ts:
// `node --import tsx scripts/generate-intake-schema.ts`.
import { answerHelp } from "./script-help.ts";
import { writeFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { format, resolveConfig } from "prettier";
import { intakeMessageJsonSchema } from "../shared/contracts/intake-message.ts";
import { windowFinishedDetailJsonSchema } from "../shared/contracts/intake-window-event.ts";

export const INTAKE_SCHEMA_PATH = fileURLToPath(new URL("../docs/schemas/intake-message.v1.json", import.meta.url));
export const WINDOW_EVENT_SCHEMA_PATH = fileURLToPath(
  new URL("../docs/schemas/intake-window-finished.v1.json", import.meta.url),
);

/** A schema file's text as committed: the generated schema, formatted as `npm run lint` expects. */
async function schemaText(path: string, schema: Record<string, unknown>): Promise<string> {
  const options = (await resolveConfig(path)) ?? {};
  return format(JSON.stringify(schema), { ...options, filepath: path });
}

export const intakeSchemaText = (): Promise<string> => schemaText(INTAKE_SCHEMA_PATH, intakeMessageJsonSchema());
export const windowEventSchemaText = (): Promise<string> =>
  schemaText(WINDOW_EVENT_SCHEMA_PATH, windowFinishedDetailJsonSchema());

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  answerHelp(
    "Usage: node --import tsx scripts/generate-intake-schema.ts\n\nWrites the JSON Schemas of the intake message and the window-finished event (docs/schemas/) from their zod schemas. Run it after changing either; a test fails while they differ.",
  );
  for (const [path, text] of [
    [INTAKE_SCHEMA_PATH, intakeSchemaText],
    [WINDOW_EVENT_SCHEMA_PATH, windowEventSchemaText],
  ] as const) {
    writeFileSync(path, await text());
    console.log(`wrote ${path}`);
  }
}
