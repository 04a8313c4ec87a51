/**
 * Writes samples/persons.csv: deterministic, messy on purpose (quoted commas, embedded newlines, doubled quotes,
 * non-ASCII names, empty cells, leading-zero postal codes, CRLF line ends). Run: npx tsx scripts/make-sample-persons.ts
 */
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

export function samplePersonsCsv(rows: number, seed = 42): string {
  const random = seededRandom(seed);
  const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)] as T;
  const lines = [
    ["email", "firstName", "lastName", "company", "title", "city", "postalCode", "phone", "notes"].join(","),
  ];
  for (let i = 1; i <= rows; i++) {
    const notes =
      i % 7 === 0 ? `Met at booth ${i % 30}, asked for\na follow-up call` : i % 11 === 0 ? 'Said "call me, maybe"' : "";
    const record = [
      `person${String(i).padStart(5, "0")}@example.com`,
      pick(FIRST),
      pick(LAST),
      pick(COMPANIES),
      i % 5 === 0 ? "" : pick(["CTO", "VP, Marketing", "Engineer", "Directrice générale"]),
      pick(CITIES),
      pick(POSTAL),
      i % 3 === 0 ? "" : `+1 555 ${String(1000 + (i % 9000)).padStart(4, "0")}`,
      notes,
    ];
    lines.push(record.map(quote).join(","));
  }
  // Saved the way spreadsheet tools often do: with a UTF-8 byte order mark.
  return `\uFEFF${lines.join("\r\n")}\r\n`;
}

if (process.argv[1]?.endsWith("make-sample-persons.ts")) {
  writeFileSync(new URL("../samples/persons.csv", import.meta.url), samplePersonsCsv(5_000));
}
