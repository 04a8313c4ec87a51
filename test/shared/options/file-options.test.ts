import { describe, expect, it } from "vitest";
import { optionsFromMetadata, resolveFileOptions } from "../../../shared/options/file-options.ts";
import { InputFileError } from "../../../shared/parsing/input-file-error.ts";
import { routeForObjectName } from "../../../shared/options/object-route.ts";
import { requestHeader } from "../../../functions/splitter/request-plan.ts";

const resolve = (object: string, sidecar: unknown, metadata: Record<string, string> = {}) =>
  resolveFileOptions(routeForObjectName(object), { sidecar, metadata });
const rejected = (object: string, sidecar: unknown) => () => resolve(object, sidecar);
const header = (object: string, sidecar: unknown) => requestHeader(resolve(object, sidecar).request).header;

describe("per-file options: the rules of the reference", () => {
  it.each([
    ["persons", {}, {}],
    ["persons", { priority: "high", partitionName: "EMEA" }, { priority: "high", partitionName: "EMEA" }],
    ["persons", { dedupeFields: "email" }, { dedupeFields: { field1: "email" } }],
    ["persons", { dedupeFields: ["email", "sfdcLeadId"] }, { dedupeFields: { field1: "email", field2: "sfdcLeadId" } }],
    ["customobjects/car_c", {}, { dedupeBy: "dedupeFields" }],
    [
      "customobjects/car_c",
      { dedupeBy: "marketoguid", priority: "High" },
      { priority: "high", dedupeBy: "marketoGUID" },
    ],
    ["companies", {}, { action: "createOrUpdate", dedupeBy: "dedupeFields" }],
    ["companies", { action: "createOnly" }, { action: "createOnly", dedupeBy: "dedupeFields" }],
    ["companies", { action: "updateOnly", dedupeBy: "IDFIELD" }, { action: "updateOnly", dedupeBy: "idField" }],
    [
      "companies",
      { action: "updateOnly", dedupeBy: "dedupefields" },
      { action: "updateOnly", dedupeBy: "dedupeFields" },
    ],
    ["programmembers", { status: "Member" }, {}],
    ["programmembers/delete", {}, {}],
  ])("%s with %j sends %j", (object, sidecar, expected) => {
    expect(header(object, sidecar)).toEqual(expected);
  });

  it.each([
    [
      "companies",
      { action: "CreateOnly" },
      /action must be one of createOnly, updateOnly, createOrUpdate \(case-sensitive\)/,
    ],
    ["companies", { action: "upsert" }, /action must be one of/],
    ["companies", { dedupeBy: "externalCompanyId" }, /dedupeBy of companies must be dedupeFields or idField/],
    ["companies", { dedupeBy: "idField" }, /createOrUpdate allows only dedupeBy dedupeFields/],
    ["companies", { action: "createOnly", dedupeBy: "idfield" }, /createOnly allows only dedupeBy dedupeFields/],
    ["customobjects/car_c", { dedupeBy: "idField" }, /dedupeBy of a custom object must be dedupeFields or marketoGUID/],
    ["persons", { priority: "urgent" }, /priority must be normal or high/],
    ["persons", { dedupeFields: "email,sfdcLeadId,id" }, /at most two attribute names/],
    ["persons", { dedupeFields: "email,email" }, /two different attributes/],
    ["persons", { dedupeFields: "" }, /dedupeFields/],
    ["persons", { partitionName: " " }, /partitionName must not be blank/],
    ["persons", { partitionName: "p".repeat(256) }, /partitionName.*<=255/],
    ["persons", { mode: "bulk", lookupField: "f".repeat(256) }, /lookupField.*<=255/],
    [
      "programmembers",
      { mode: "bulk", programId: 7, programMemberStatus: "s".repeat(256) },
      /programMemberStatus.*<=255/,
    ],
    ["programmembers", { status: "Not in Program" }, /status must not be "Not in Program".*programmembers\/delete/],
    ["programmembers", { status: "NOT IN PROGRAM" }, /programmembers\/delete/],
    ["programmembers", { status: " " }, /status must not be blank/],
    ["persons", { action: "createOnly" }, /action is not an option of persons \(it applies to companies\)/],
    ["companies", { priority: "high" }, /priority is not an option of companies/],
    ["programmembers/delete", { status: "Member" }, /status is not an option of programmembers\/delete/],
    ["lists", { listId: "0" }, /listId: must be a positive integer/],
    ["lists/remove", { listId: "L-7" }, /listId: must be a positive integer/],
    ["lists", { status: "Member" }, /status is not an option of lists/],
    ["lists/remove", { fieldTypes: { leadId: "integer" } }, /fieldTypes is not an option of lists\/remove/],
    ["persons", { colour: "blue" }, /unknown option "colour"/],
    ["persons", { format: "xlsx" }, /format/],
    ["persons", { fieldTypes: { age: "float" } }, /fieldTypes/],
    ["persons", [1, 2], /sidecar options file/],
  ])("%s with %j is rejected whole: %s", (object, sidecar, message) => {
    expect(rejected(object, sidecar)).toThrow(InputFileError);
    expect(rejected(object, sidecar)).toThrow(message);
    try {
      rejected(object, sidecar)();
    } catch (error) {
      expect((error as InputFileError).code).toBe("INVALID_OPTIONS");
    }
  });
});

describe("where options come from", () => {
  it("reads S3 metadata keys in any spelling and ignores metadata that names no option", () => {
    expect(
      optionsFromMetadata({ "dedupe-fields": "email", partitionname: "EMEA", field_types: "age:integer", mtime: "1" }),
    ).toEqual({
      options: { dedupeFields: "email", partitionName: "EMEA", fieldTypes: "age:integer" },
      ignored: ["mtime"],
    });
  });

  it("lets metadata win over the sidecar, and the sidecar over stack defaults, option by option", () => {
    const resolved = resolveFileOptions(routeForObjectName("persons"), {
      defaults: { persons: { priority: "high", partitionName: "Default EMEA", dedupeFields: ["email"] } },
      sidecar: { partitionName: "Sidecar", dedupeFields: "sfdcLeadId" },
      metadata: { "dedupe-fields": "id" },
    });
    expect(resolved.request).toEqual({
      objectType: "persons",
      priority: "high",
      partitionName: "Sidecar",
      dedupeFields: ["id"],
    });
  });

  it("ignores stack defaults of other object types but rejects a file-level option its type does not take", () => {
    const defaults = { companies: { action: "updateOnly" }, persons: { priority: "high" } };
    expect(resolveFileOptions(routeForObjectName("persons"), { defaults }).request).toMatchObject({ priority: "high" });
    expect(() => resolveFileOptions(routeForObjectName("persons"), { defaults, metadata: { action: "x" } })).toThrow(
      /S3 object metadata: action is not an option of persons/,
    );
  });

  it("takes declared field types as an object, as JSON text, or in the compact metadata form", () => {
    const expected = { age: "integer", active: "boolean", since: "date" };
    expect(resolve("persons", { fieldTypes: expected }).fieldTypes).toEqual(expected);
    expect(resolve("persons", {}, { "field-types": JSON.stringify(expected) }).fieldTypes).toEqual(expected);
    expect(resolve("persons", {}, { fieldtypes: "age:integer, active:boolean,since:date" }).fieldTypes).toEqual(
      expected,
    );
    expect(() => resolve("persons", {}, { fieldtypes: ":integer" })).toThrow(/names no field/);
  });

  it("takes a list's listId from metadata, sidecar or stack defaults, as for other options", () => {
    expect(resolve("lists", {}).request).toEqual({ objectType: "lists" });
    expect(resolve("lists", { listId: 1001 }).request).toEqual({ objectType: "lists", listId: 1001 });
    expect(resolve("lists/remove", {}, { "list-id": "77" }).request).toEqual({
      objectType: "lists/remove",
      listId: 77,
    });
    const defaults = { "lists/remove": { listId: 5 }, lists: { listId: 6 } };
    expect(resolveFileOptions(routeForObjectName("lists/remove"), { defaults }).request).toMatchObject({ listId: 5 });
    expect(
      resolveFileOptions(routeForObjectName("lists"), { defaults, sidecar: { listId: "8" } }).request,
    ).toMatchObject({ listId: 8 });
  });

  it("takes the input format from the options, overriding the file name", () => {
    expect(resolve("persons", { format: "ssv" }).format).toBe("ssv");
    expect(resolve("persons", {}).format).toBeUndefined();
  });
});
