import { describe, expect, it } from "vitest";
import { multipartFileName } from "../../../shared/marketo/bulk-multipart.ts";
import { traceHeaderValue } from "../../../shared/marketo/http.ts";
import { batchCorrelationId } from "../../../functions/ingestion-sender/correlation-id.ts";
import { reportPrefixFor } from "../../../shared/contracts/s3-event.ts";

/** Keys S3 accepts (UTF-8, up to 1,024 bytes) that are not header text. */
const KEYS = [
  "persons/Größe-ő 2026.csv",
  "persons/東京 データ 2026.csv",
  "persons/🎉 party 🎉.csv",
  "persons/with spaces and + plus.csv",
  "persons/100% done %41.csv",
  "persons/ctl\u0001nl\ncr\rtab\t.csv",
  `persons/${"a".repeat(992)}.csv`,
  `persons/${"é".repeat(494)}.csv`,
  `persons/${"🎉".repeat(247)}.csv`,
  "persons/plain.csv",
];
const fileOf = (key: string, eTag = "0123456789abcdef") => ({
  key,
  reportPrefix: reportPrefixFor({ bucket: "d", key, eTag }),
});
const VISIBLE_ASCII = /^[\x21-\x7E]+$/;

describe("batchCorrelationId: X-Correlation-Id for any S3 key", () => {
  it("the test keys are what the issue names: non-Latin-1, CJK, emoji, +, %, controls and ~1,000-byte keys", () => {
    expect(KEYS.filter((key) => [...key].some((c) => (c.codePointAt(0) ?? 0) > 0xff)).length).toBeGreaterThan(3);
    for (const key of KEYS.slice(6, 9)) expect(Buffer.byteLength(key)).toBeGreaterThanOrEqual(996);
    for (const key of KEYS) expect(Buffer.byteLength(key)).toBeLessThanOrEqual(1024);
  });

  it.each(KEYS.map((key) => [JSON.stringify(key).slice(0, 40), key]))(
    "%s: visible ASCII only, at most 255 characters, for any batch index",
    (_name, key) => {
      for (const index of [0, 7, 999_999]) {
        const id = batchCorrelationId(fileOf(key), index);
        expect(id).toMatch(VISIBLE_ASCII);
        expect(id.length).toBeLessThanOrEqual(255);
      }
    },
  );

  it("is deterministic: the same file and batch give the same id", () => {
    for (const key of KEYS) expect(batchCorrelationId(fileOf(key), 3)).toBe(batchCorrelationId(fileOf(key), 3));
  });

  it("is distinct for distinct batches, files and versions, also when long keys differ only past the cut", () => {
    const longA = `persons/${"x".repeat(900)}-A.csv`;
    const longB = `persons/${"x".repeat(900)}-B.csv`;
    const files = [...KEYS, longA, longB].flatMap((key) => [fileOf(key, "etag-one"), fileOf(key, "etag-two")]);
    const ids = files.flatMap((file) => [0, 1, 2, 10, 11].map((index) => batchCorrelationId(file, index)));
    expect(new Set(ids).size).toBe(files.length * 5);
  });

  it("is traceable: the key percent-encoded (whole characters only when cut), the report prefix's hash, the index", () => {
    const key = "persons/Größe-ő 2026.csv";
    const id = batchCorrelationId(fileOf(key), 4);
    expect(id).toMatch(/^persons\/Gr%C3%B6%C3%9Fe-%C5%91%202026\.csv#[0-9a-f]{16}\/4$/);
    for (const each of KEYS) {
      const readable = batchCorrelationId(fileOf(each), 12).replace(/#[0-9a-f]{16}\/12$/, "");
      // decodeURIComponent throws on a split escape: the cut always falls between characters.
      expect(each.startsWith(decodeURIComponent(readable))).toBe(true);
    }
    expect(decodeURIComponent(batchCorrelationId(fileOf("persons/a+b%c.csv"), 0).split("#")[0] ?? "")).toBe(
      "persons/a+b%c.csv",
    );
  });
});

describe("traceHeaderValue", () => {
  it("leaves visible ASCII as it is, encodes anything else, and cuts to the limit", () => {
    expect(traceHeaderValue("reports/a.csv/v1/3", 255)).toBe("reports/a.csv/v1/3");
    expect(traceHeaderValue("marketo ingest ő", 50)).toBe("marketo%20ingest%20%C5%91");
    expect(traceHeaderValue("x".repeat(300), 255)).toHaveLength(255);
    // Cut between whole characters: 4 emoji (12 characters each once encoded) fit in 50, and still decode.
    const cut = traceHeaderValue("🎉".repeat(100), 50);
    expect(cut).toMatch(/^[\x21-\x7E]{48}$/);
    expect(decodeURIComponent(cut)).toBe("🎉".repeat(4));
  });
});

describe("multipartFileName", () => {
  it.each([
    ["part-000001.csv", "part-000001.csv"],
    ['Größe "ő"\r\n2026.csv', "Gr__e______2026.csv"],
    ["東京 🎉.tsv", "____.tsv"],
    ["", "file"],
  ])("%j → %j", (name, expected) => {
    expect(multipartFileName(name)).toBe(expected);
  });

  it("is ASCII without quotes, CR or LF and at most 100 characters, keeping the extension", () => {
    for (const name of [...KEYS, `${"ő".repeat(300)}.ssv`]) {
      const safe = multipartFileName(name);
      expect(safe).toMatch(/^[A-Za-z0-9._-]{1,100}$/);
    }
    expect(multipartFileName(`${"a".repeat(300)}.ssv`)).toBe(`${"a".repeat(96)}.ssv`);
  });
});
