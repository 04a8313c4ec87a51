import { describe, expect, it } from "vitest";
import { convertText, type FieldType } from "../../../shared/options/field-types.ts";
import { resolveFileOptions } from "../../../shared/options/file-options.ts";
import { routeForObjectName } from "../../../shared/options/object-route.ts";
import { createRecordPreparer, missingRequiredColumn } from "../../../shared/options/record-rules.ts";

const preparer = (object: string, sidecar: Record<string, unknown> = {}, text = true) => {
  const options = resolveFileOptions(routeForObjectName(object), { sidecar });
  return createRecordPreparer(options.request, options.fieldTypes, text);
};

describe("row rules: a row that breaks one is rejected alone, naming the field", () => {
  it.each([
    // persons: the dedupe fields must be there
    ["persons", {}, { firstName: "Ann" }, "email", /email is required: it is a dedupe field \(email\)/],
    ["persons", { dedupeFields: "email,sfdcLeadId" }, { email: "a@x.io" }, "sfdcLeadId", /email \+ sfdcLeadId/],
    // custom objects
    ["customobjects/car_c", { dedupeBy: "marketoGUID" }, { vin: "1" }, "marketoGUID", /marketoGUID is required/],
    // companies
    [
      "companies",
      {},
      { company: "Acme" },
      "externalCompanyId",
      /externalCompanyId is required when dedupeBy is dedupeFields/,
    ],
    ["companies", {}, { externalCompanyId: "e1", id: "5" }, "id", /id is not allowed when dedupeBy is dedupeFields/],
    ["companies", { action: "updateOnly", dedupeBy: "idField" }, { company: "Acme" }, "id", /id is required/],
    ["companies", { action: "updateOnly", dedupeBy: "idField" }, { id: "x1" }, "id", /id must be a positive integer/],
    [
      "companies",
      { action: "updateOnly", dedupeBy: "idField" },
      { id: "5", externalCompanyId: "e" },
      "externalCompanyId",
      /not allowed when dedupeBy is idField/,
    ],
    // program members (sync)
    ["programmembers", {}, { programId: "1", leadId: "2" }, "status", /status is required/],
    [
      "programmembers",
      {},
      { programId: "1", leadId: "2", status: "Not in Program" },
      "status",
      /programmembers\/delete/,
    ],
    ["programmembers", {}, { programId: "1", leadId: "2", statusName: "not in program" }, "status", /Not in Program/],
    [
      "programmembers",
      {},
      { programId: "1", leadId: "2", status: "Member", statusName: "Attended" },
      "status",
      /disagree/,
    ],
    ["programmembers", { status: "Member" }, { leadId: "2" }, "programId", /programId is required/],
    ["programmembers", { status: "Member" }, { programId: "0", leadId: "2" }, "programId", /positive integer/],
    ["programmembers", { status: "Member" }, { programId: "1.5", leadId: "2" }, "programId", /positive integer/],
    ["programmembers", { status: "Member" }, { programId: "1" }, "leadId", /leadId is required/],
    ["programmembers", { status: "Member" }, { programId: "1", leadId: "-3" }, "leadId", /positive integer/],
    // program members (delete)
    [
      "programmembers/delete",
      {},
      { programId: "1", leadId: "2", status: "Member" },
      "status",
      /only programId and leadId/,
    ],
    ["programmembers/delete", {}, { programId: "1" }, "leadId", /leadId is required/],
  ])("%s %j: %j → rejected on %s", (object, sidecar, values, field, reason) => {
    const result = preparer(object, sidecar)(values);
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.field).toBe(field);
    expect(result.reason).toMatch(reason);
  });

  it.each([
    ["persons", {}, { email: "a@x.io", postalCode: "04906" }, { email: "a@x.io", postalCode: "04906" }, undefined],
    [
      "companies",
      {},
      { ExternalCompanyId: "e1", company: "Acme" },
      { ExternalCompanyId: "e1", company: "Acme" },
      undefined,
    ],
    [
      "companies",
      { action: "updateOnly", dedupeBy: "idField" },
      { ID: "42", company: "Acme" },
      { id: 42, company: "Acme" },
      undefined,
    ],
    [
      "programmembers",
      {},
      { programId: "1001", leadId: "7", status: "Member", note: "x" },
      { leadId: 7, note: "x" },
      { programId: 1001, status: "Member" },
    ],
    [
      "programmembers",
      {},
      { programid: "1001", LeadId: "7", StatusName: "Attended" },
      { leadId: 7 },
      { programId: 1001, status: "Attended" },
    ],
    [
      "programmembers",
      { status: "Member" },
      { programId: "1", leadId: "2" },
      { leadId: 2 },
      { programId: 1, status: "Member" },
    ],
    ["programmembers/delete", {}, { programId: "1", leadId: "2" }, { leadId: 2 }, { programId: 1 }],
  ])("%s %j: %j → sent as %j in %j", (object, sidecar, values, sent, program) => {
    const result = preparer(object, sidecar)(values);
    expect(result).toEqual({ ok: true, object: sent, ...(program ? { program } : {}) });
  });

  it("applies declared types to CSV text, and leaves JSON values as they are", () => {
    const sidecar = { fieldTypes: { age: "integer", score: "number", vip: "boolean", since: "date" } };
    const values = { email: "a@x.io", age: "42", score: "-1.50", vip: "Yes", since: "2024-02-29", zip: "04906" };
    expect(preparer("persons", sidecar)(values)).toEqual({
      ok: true,
      object: { email: "a@x.io", age: 42, score: -1.5, vip: true, since: "2024-02-29", zip: "04906" },
    });
    const json = { email: "a@x.io", age: "42", vip: false };
    expect(preparer("persons", sidecar, false)(json)).toEqual({ ok: true, object: json });
  });

  it("rejects a value that does not parse as its declared type, naming the field but not the value", () => {
    const result = preparer("persons", { fieldTypes: { age: "integer" } })({ email: "a@x.io", age: "forty" });
    expect(result).toEqual({ ok: false, field: "age", reason: "age is not an integer" });
  });
});

describe("list rows: leadId (or its alias id) and the list, from a listId column or the file's listId option", () => {
  it.each([
    ["lists", {}, { listId: "1001", leadId: "7" }, { leadId: 7 }, 1001],
    ["lists", {}, { ListID: " 1001 ", LEADID: "0007" }, { leadId: 7 }, 1001],
    ["lists", {}, { listId: "1001", id: "7" }, { leadId: 7 }, 1001],
    ["lists", {}, { listId: "1001", leadId: "7", id: "7" }, { leadId: 7 }, 1001],
    ["lists", { listId: 55 }, { leadId: "7" }, { leadId: 7 }, 55],
    ["lists", { listId: "55" }, { leadId: "7", listId: "" }, { leadId: 7 }, 55],
    ["lists", { listId: 55 }, { leadId: "7", listId: "1001" }, { leadId: 7 }, 1001],
    ["lists", {}, { listId: "1001", leadId: "7", note: "" }, { leadId: 7 }, 1001],
    ["lists/remove", { listId: 55 }, { id: "8" }, { leadId: 8 }, 55],
    ["lists/remove", {}, { listId: "9", leadId: "8" }, { leadId: 8 }, 9],
  ])("%s %j: %j → leads[] gets %j in list %i", (object, sidecar, values, sent, listId) => {
    expect(preparer(object, sidecar)(values)).toEqual({ ok: true, object: sent, listId });
  });

  it("takes JSON numbers as they are", () => {
    expect(preparer("lists", {}, false)({ listId: 1001, id: 7 })).toEqual({
      ok: true,
      object: { leadId: 7 },
      listId: 1001,
    });
  });

  it.each([
    ["lists", {}, { leadId: "7" }, "listId", "listId is required (a listId column, or the file's listId option)"],
    ["lists/remove", {}, { leadId: "7", listId: "" }, "listId", /listId is required/],
    ["lists", { listId: 55 }, { listId: "0", leadId: "7" }, "listId", "listId must be a positive integer"],
    ["lists", {}, { listId: "-4", leadId: "7" }, "listId", "listId must be a positive integer"],
    ["lists", {}, { listId: "12.5", leadId: "7" }, "listId", "listId must be a positive integer"],
    ["lists", {}, { listId: "L1", leadId: "7" }, "listId", "listId must be a positive integer"],
    ["lists", {}, { listId: "1001" }, "leadId", "leadId is required (a leadId column, or its alias id)"],
    ["lists", {}, { listId: "1001", leadId: "", id: "" }, "leadId", /leadId is required/],
    ["lists", {}, { listId: "1001", leadId: "0" }, "leadId", "leadId must be a positive integer"],
    ["lists", {}, { listId: "1001", leadId: "7.0" }, "leadId", "leadId must be a positive integer"],
    ["lists", {}, { listId: "1001", leadId: "9007199254740993" }, "leadId", "leadId must be a positive integer"],
    ["lists", {}, { listId: "1001", id: "abc" }, "id", "id must be a positive integer"],
    [
      "lists",
      {},
      { listId: "1001", leadId: "7", id: "8" },
      "leadId",
      "leadId and id disagree (id is an alias of leadId)",
    ],
    ["lists/remove", { listId: 5 }, { leadId: "7", id: "70" }, "leadId", /disagree/],
    ["lists", {}, { listId: "1001", leadId: "7", email: "a@x.io" }, "email", /email is not accepted in a list row/],
  ])("%s %j: %j → rejected on %s", (object, sidecar, values, field, reason) => {
    const result = preparer(object, sidecar)(values);
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.field).toBe(field);
    expect(result.reason).toMatch(reason);
  });

  it("rejects JSON ids that are not positive integers", () => {
    expect(preparer("lists", {}, false)({ listId: 1001, leadId: 7.5 })).toMatchObject({ ok: false, field: "leadId" });
    expect(preparer("lists", {}, false)({ listId: "1001", leadId: true })).toMatchObject({
      ok: false,
      field: "leadId",
    });
    expect(preparer("lists", {}, false)({ listId: -1, leadId: 7 })).toMatchObject({ ok: false, field: "listId" });
  });
});

describe("convertText", () => {
  it.each<[FieldType, string, unknown]>([
    ["number", "1234.5", 1234.5],
    ["number", "-0.25", -0.25],
    ["number", "+7", 7],
    ["integer", "007", 7],
    ["boolean", "TRUE", true],
    ["boolean", "0", false],
    ["boolean", "no", false],
    ["date", "2024-02-29", "2024-02-29"],
    ["datetime", "2024-02-29T13:45:00Z", "2024-02-29T13:45:00Z"],
    ["datetime", "2024-02-29T13:45:00.123+02:00", "2024-02-29T13:45:00.123+02:00"],
    ["string", " keep ", " keep "],
  ])("%s %j → %j", (type, text, value) => {
    expect(convertText(type, text)).toEqual({ ok: true, value });
  });

  it.each<[FieldType, string]>([
    ["number", "5e+06"],
    ["number", "1,000"],
    ["number", "NaN"],
    ["number", ""],
    ["integer", "1.0"],
    ["integer", "9007199254740993"],
    ["boolean", "maybe"],
    ["date", "2023-02-29"],
    ["date", "29/02/2024"],
    ["datetime", "2024-02-29 13:45"],
    ["datetime", "2024-13-01T00:00:00Z"],
  ])("%s %j is refused", (type, text) => {
    expect(convertText(type, text).ok).toBe(false);
  });
});

describe("a header without a column every row needs", () => {
  const missing = (object: string, sidecar: Record<string, unknown>, columns: string[]) =>
    missingRequiredColumn(resolveFileOptions(routeForObjectName(object), { sidecar }).request, columns);
  /** A full row of those columns with values the rules accept (ids are numbers). */
  const fullRow = (columns: string[]) =>
    Object.fromEntries(columns.map((column) => [column, /id$/i.test(column) ? "7" : "x"]));

  it.each([
    ["persons", {}, ["firstName", "lastName"], "email"],
    ["persons", { dedupeFields: "email,sfdcLeadId" }, ["email", "firstName"], "sfdcLeadId"],
    ["customobjects/car_c", { dedupeBy: "marketoGUID" }, ["vin"], "marketoGUID"],
    ["companies", {}, ["company"], "externalCompanyId"],
    ["companies", { action: "updateOnly", dedupeBy: "idField" }, ["company"], "id"],
    ["programmembers", { status: "Member" }, ["leadId"], "programId"],
    ["programmembers", {}, ["programId", "leadId"], "status"],
    ["programmembers/delete", {}, ["programId"], "leadId"],
    ["lists", {}, ["leadId"], "listId"],
    ["lists", { listId: 5 }, ["email"], "leadId"],
  ])(
    "%s %j with columns %j: names %s, the field every such row is rejected for",
    (object, sidecar, columns, column) => {
      expect(missing(object, sidecar, columns)?.column).toBe(column);
      // The same verdict the row rules give each row of such a file.
      const verdict = preparer(object, sidecar)(fullRow(columns));
      expect(verdict).toMatchObject({ ok: false, field: column });
    },
  );

  it.each([
    ["persons", {}, ["Email", "email"]],
    ["companies", { action: "updateOnly", dedupeBy: "idField" }, ["ID"]],
    ["programmembers", {}, ["programid", "LeadId", "statusName"]],
    ["lists", {}, ["listId", "id"]],
    ["customobjects/car_c", {}, ["vin"]],
  ])("%s %j with columns %j: nothing missing", (object, sidecar, columns) => {
    expect(missing(object, sidecar, columns)).toBeUndefined();
  });
});
