/**
 * How many Data Ingestion requests an emoji-dense persons file needs, against the 1 MB bound and the greedy
 * minimum computed from the raw UTF-8 bytes Marketo receives. Runs the splitter's real plan and packer, then reads
 * each queued message back the way the sender does (inline body, or the stored body it points to).
 * Run: npx tsx scripts/measure-emoji-packing.ts [rows]
 */
import { answerHelp } from "./script-help.ts";
import { readCsvRows } from "../shared/parsing/csv-rows.ts";
import { resolveFileOptions } from "../shared/options/file-options.ts";
import { routeForObjectName } from "../shared/options/object-route.ts";
import { planRequests } from "../functions/splitter/request-plan.ts";
import { splitFile } from "../functions/splitter/split-file.ts";
import { emojiDensePersons, toCsv } from "./make-sample-persons.ts";

answerHelp(
  "Usage: npx tsx scripts/measure-emoji-packing.ts [ROWS]\n\nSplits ROWS (default 10000) emoji-dense persons with the real plan and packer and prints the requests needed against the 1 MB bound and the greedy minimum.",
);
const ROWS = Number(process.argv[2] ?? 10_000);
if (!Number.isInteger(ROWS) || ROWS < 1) {
  console.error(`ROWS must be a whole number of rows, not ${JSON.stringify(process.argv[2])}`);
  process.exit(2);
}
const LIMITS = { maxObjects: 1_000, maxBytes: 1_000_000 };
const COLUMNS = ["email", "firstName", "lastName", "notes"];
/** `{"persons":[` and `]}`: the frame of a persons request without header options. */
const FRAME_BYTES = Buffer.byteLength('{"persons":[]}');

/** Fewest requests an order-preserving split of these rows allows, counting raw UTF-8 bytes and objects. */
function greedyMinimum(rowBytes: readonly number[]): number {
  let requests = 0;
  let bytes = 0;
  let objects = 0;
  for (const size of rowBytes) {
    if (objects > 0 && (objects === LIMITS.maxObjects || bytes + 1 + size > LIMITS.maxBytes)) {
      requests++;
      objects = 0;
    }
    bytes = objects === 0 ? FRAME_BYTES + size : bytes + 1 + size;
    objects++;
  }
  return requests + (objects > 0 ? 1 : 0);
}

async function measure(label: string, rows: Array<Record<string, string>>): Promise<void> {
  const csv = Buffer.from(toCsv(rows, COLUMNS));
  const route = routeForObjectName("persons");
  const messages: string[] = [];
  const stored = new Map<string, string>();
  await splitFile(
    {
      file: { bucket: "drop-bucket", key: "persons/emoji.csv", reportPrefix: "reports/persons/emoji.csv/v1/" },
      route,
      plan: planRequests(resolveFileOptions(route, {}), true),
      openRows: () =>
        readCsvRows(
          (async function* () {
            yield csv;
          })(),
        ),
      limits: LIMITS,
    },
    {
      publish: async (message) => void messages.push(message.body),
      flush: async () => {},
      storeBody: async (key: string, text: string) => void stored.set(key, text),
    },
  );
  // What the sender sends: the inline body re-serialized, or the stored body text.
  const sent = messages.map((text) => {
    const message = JSON.parse(text) as { body?: unknown; bodyObject?: { key: string } };
    return message.body !== undefined
      ? JSON.stringify(message.body)
      : (stored.get(message.bodyObject?.key ?? "") ?? "");
  });
  const sentBytes = sent.map((body) => Buffer.byteLength(body));
  const rowBytes = rows.map((row) =>
    Buffer.byteLength(JSON.stringify(Object.fromEntries(Object.entries(row).filter(([, value]) => value !== "")))),
  );
  const rawTotal = FRAME_BYTES + rowBytes.reduce((sum, bytes) => sum + bytes, 0) + rows.length - 1;
  const bound = Math.ceil(rawTotal / LIMITS.maxBytes);
  const greedy = greedyMinimum(rowBytes);
  const queueBytes = messages.map((text) => Buffer.byteLength(text));
  console.log(
    [
      `${label}: ${rows.length.toLocaleString()} rows, ${(rawTotal / 1e6).toFixed(2)} MB raw JSON`,
      `  requests ${sent.length} · greedy minimum (raw bytes) ${greedy} · ceil(raw / 1 MB) ${bound} · ratio to bound ${(sent.length / bound).toFixed(2)}×`,
      `  request body sent: mean ${Math.round(sentBytes.reduce((a, b) => a + b, 0) / sent.length).toLocaleString()} B, max ${Math.max(...sentBytes).toLocaleString()} B`,
      `  queue messages: max ${Math.max(...queueBytes).toLocaleString()} B, bodies stored in the work bucket ${stored.size}`,
    ].join("\n"),
  );
}

await measure("notes all emoji (250)", emojiDensePersons(ROWS, { seed: 1, emojiShare: 1 }));
await measure("notes 1/3 emoji (600)", emojiDensePersons(ROWS, { seed: 2, notesLength: 600, emojiShare: 1 / 3 }));
await measure("notes 1/10 emoji (900)", emojiDensePersons(ROWS, { seed: 3, notesLength: 900, emojiShare: 0.1 }));
