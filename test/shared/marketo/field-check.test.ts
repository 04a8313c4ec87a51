import { describe, expect, it } from "vitest";
import { FieldCheck } from "../../../shared/marketo/field-check.ts";

const fields = [
  { name: "email", dataType: "email" },
  { name: "firstName", dataType: "string", length: 5 },
  { name: "leadScore", dataType: "integer" },
  { name: "annualRevenue", dataType: "currency" },
  { name: "unsubscribed", dataType: "boolean" },
  { name: "dateOfBirth", dataType: "date" },
  { name: "lastSeenAt", dataType: "datetime" },
];

describe("FieldCheck: a file's columns against Marketo's field list", () => {
  it("names unknown columns with the field probably meant, and ignores the route's own columns", () => {
    const check = new FieldCheck(fields, ["programId"]);
    check.observe(1, { emial: "a@example.com", FIRSTNAME: "Ann", programId: "7", "Lead Score": "3", zzz: "x" });
    expect(check.findings()).toEqual([
      { kind: "unknown", column: "emial", suggestion: "email" },
      { kind: "unknown", column: "Lead Score", suggestion: "leadScore" },
      { kind: "unknown", column: "zzz" },
    ]);
  });

  it("counts values that do not fit each type, with the first row numbers; blanks are not mismatches", () => {
    const check = new FieldCheck(fields);
    const rows = [
      {
        leadScore: "10",
        annualRevenue: "1.5",
        unsubscribed: "true",
        dateOfBirth: "1990-01-31",
        lastSeenAt: "2026-01-01T10:00:00Z",
      },
      {
        leadScore: "ten",
        annualRevenue: "lots",
        unsubscribed: "maybe",
        dateOfBirth: "31/01/1990",
        lastSeenAt: "yesterday",
      },
      { leadScore: 2.5, firstName: "Bartholomew", email: "not-an-email", unsubscribed: "" },
    ];
    rows.forEach((values, i) => check.observe(i + 1, values));
    const byColumn = Object.fromEntries(check.findings().map((f) => [f.column, f]));
    expect(byColumn.leadScore).toEqual({
      kind: "type",
      column: "leadScore",
      dataType: "integer",
      expected: "a whole number",
      rows: 2,
      firstRows: [2, 3],
    });
    expect(byColumn.annualRevenue).toMatchObject({ expected: "a number", rows: 1, firstRows: [2] });
    expect(byColumn.unsubscribed).toMatchObject({ expected: "true or false", rows: 1 });
    expect(byColumn.dateOfBirth).toMatchObject({ expected: "a date YYYY-MM-DD", rows: 1 });
    expect(byColumn.lastSeenAt).toMatchObject({ expected: "an ISO 8601 date-time", rows: 1 });
    expect(byColumn.firstName).toMatchObject({ expected: "at most 5 characters", rows: 1, firstRows: [3] });
    expect(byColumn.email).toMatchObject({ expected: "an email address", rows: 1 });
    expect(JSON.stringify(check.findings())).not.toMatch(/ten|Bartholomew|not-an-email/); // never a value
  });
});
