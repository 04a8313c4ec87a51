/**
 * Writes samples/persons.csv: deterministic, messy on purpose (quoted commas, embedded newlines, doubled quotes,
 * non-ASCII names, empty cells, leading-zero postal codes, CRLF line ends). Run: npx tsx scripts/make-sample-persons.ts
 */
import { answerHelp } from "./script-help.ts";
import { writeFileSync } from "node:fs";

const FIRST = [
  "José",
  "Zoë",
  "Øyvind",
  "Łukasz",
  "François",
  "Ana",
  "Đorđe",
  "Siobhán",
  "Jürgen",
  "Mei",
  "Ngozi",
  "Ömer",
  "Björk",
  "Renée",
  "Chidi",
  "Yūki",
];
const LAST = [
  "Müller",
  "Núñez",
  "Śliwa",
  "O'Brien",
  "van der Berg",
  "山田",
  "Kowalski",
  "Smith",
  "García",
  "Nguyễn",
  "Dubois",
  "Ivanović",
  "Øster",
  "Haddad",
];
const COMPANIES = [
  "Acme, Inc.",
  "Globex",
  "Initech",
  'Umbrella "Health"',
  "Stark Industries",
  "Wayne Enterprises",
  "Soylent Corp",
  "",
];
const CITIES = ["Zürich", "São Paulo", "Kraków", "Portland", "Montréal", "Reykjavík", "Kyōto", "Lagos"];
const POSTAL = ["04906", "01001", "00501", "97201", "8001", "H2X 1Y4", "", "02134"];

function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state * 1_664_525 + 1_013_904_223) >>> 0;
    return state / 2 ** 32;
  };
}

const quote = (value: string): string => (/[",\r\n]/.test(value) ? `"${value.replace(/"/g, '""')}"` : value);

const COLUMNS = ["email", "firstName", "lastName", "company", "title", "city", "postalCode", "phone", "notes"] as const;

/** Deterministic persons as field → value (empty string = empty cell). */
export function samplePersons(rows: number, seed = 42): Array<Record<string, string>> {
  const random = seededRandom(seed);
  const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)] as T;
  const persons: Array<Record<string, string>> = [];
  for (let i = 1; i <= rows; i++) {
    const notes =
      i % 7 === 0 ? `Met at booth ${i % 30}, asked for\na follow-up call` : i % 11 === 0 ? 'Said "call me, maybe"' : "";
    persons.push({
      email: `person${String(i).padStart(5, "0")}@example.com`,
      firstName: pick(FIRST),
      lastName: pick(LAST),
      company: pick(COMPANIES),
      title: i % 5 === 0 ? "" : pick(["CTO", "VP, Marketing", "Engineer", "Directrice générale"]),
      city: pick(CITIES),
      postalCode: pick(POSTAL),
      phone: i % 3 === 0 ? "" : `+1 555 ${String(1000 + (i % 9000)).padStart(4, "0")}`,
      notes,
    });
  }
  return persons;
}

const EMOJI = ["🎉", "😀", "🚀", "👍", "🔥", "💡", "🌍", "📈", "🙏", "🤝", "🧪", "🐙"];
const CJK = ["山", "田", "太", "郎", "東", "京", "愛", "学"];

/**
 * Deterministic persons whose `notes` are astral-plane text (emoji: 4 bytes in UTF-8, 12 as a JSON `\uXXXX`
 * pair), `emojiShare` of its characters (the rest CJK and ASCII): the load that shows whether request sizes are
 * counted on the bytes sent.
 */
export function emojiDensePersons(
  rows: number,
  options: { seed?: number; notesLength?: number; emojiShare?: number } = {},
): Array<Record<string, string>> {
  const { seed = 42, notesLength = 250, emojiShare = 1 } = options;
  const random = seededRandom(seed);
  const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)] as T;
  return Array.from({ length: rows }, (_, i) => {
    let notes = "";
    for (let c = 0; c < notesLength; c++) {
      notes += random() < emojiShare ? pick(EMOJI) : random() < 0.5 ? pick(CJK) : "a";
    }
    return {
      email: `emoji${String(i + 1).padStart(6, "0")}@example.com`,
      firstName: `${pick(FIRST)} ${pick(EMOJI)}`,
      lastName: pick(LAST),
      notes,
    };
  });
}

/** RFC 4180 CSV with CRLF line ends and a UTF-8 BOM, the way spreadsheet tools often save it. */
export function toCsv(rows: Array<Record<string, string>>, columns: readonly string[] = COLUMNS): string {
  const lines = [columns.join(","), ...rows.map((row) => columns.map((c) => quote(row[c] ?? "")).join(","))];
  return `\uFEFF${lines.join("\r\n")}\r\n`;
}

if (process.argv[1]?.endsWith("make-sample-persons.ts")) {
  answerHelp(
    "Usage: node --import tsx scripts/make-sample-persons.ts\n\nWrites samples/persons.csv again: 5,000 messy persons (quoted commas, multi-line notes, non-ASCII, CRLF, BOM), the same every time.",
  );
  writeFileSync(new URL("../samples/persons.csv", import.meta.url), toCsv(samplePersons(5_000)));
}
