// Internal queue messages are validated, not trusted: every field of every message read from a queue is checked
// against a closed schema, and a rejection says where (path) and what (rule), readably.
import { MockAgent } from "undici";
import { describe, expect, it } from "vitest";
import type { z } from "zod";
import { BulkPartMessageSchema } from "../../../shared/contracts/bulk-message.ts";
import { MarketoRequestError } from "../../../shared/marketo/errors.ts";
import { IngestionClient } from "../../../shared/marketo/ingestion-client.ts";
import type { TokenProvider } from "../../../shared/marketo/token-provider.ts";
import { BatchMessageSchema, BatchMessageText } from "../../../shared/contracts/batch-message.ts";
import { ingestionResource, isIngestionResource, OBJECT_TYPES } from "../../../shared/options/object-route.ts";
import { describeIssues } from "../../../shared/text/issues.ts";
import { ReportMessageSchema } from "../../../shared/contracts/report-message.ts";
import { FakeClock } from "../../support/fake-clock.ts";

/** The reason a dead-lettered message carries: `path: rule; …`, or undefined when the value is valid. */
function reasonFor(schema: z.ZodType, value: unknown): string | undefined {
  const parsed = schema.safeParse(value);
  return parsed.success ? undefined : describeIssues(parsed.error.issues);
}

const file = { bucket: "marketo-ingest-drop", key: "persons/a.csv", reportPrefix: "reports/persons/a.csv/v1/" };
const personsBody = { priority: "high", persons: [{ email: "a@x.io" }, { email: "b@x.io" }] };
const persons = {
  v: 2,
  file,
  objectType: "persons",
  batch: { index: 0, rowCount: 2, rows: [[1, 2]], bytes: JSON.stringify(personsBody).length },
  body: personsBody,
};
const carFile = { ...file, key: "customobjects/car_c/a.csv", reportPrefix: "reports/customobjects/car_c/a.csv/v1/" };
const cars = {
  ...persons,
  file: carFile,
  objectType: "customobjects",
  apiName: "car_c",
  batch: { ...persons.batch, rowCount: 1, rows: [[1, 1]] },
  body: { dedupeBy: "dedupeFields", customObjects: [{ vin: "V1" }] },
};
const members = {
  ...persons,
  file: { ...file, key: "programmembers/a.csv", reportPrefix: "reports/programmembers/a.csv/v1/" },
  objectType: "programmembers",
  body: { programs: [{ programId: 7, status: "Registered", members: [{ leadId: 1 }, { leadId: 2 }] }] },
};

describe("batch messages (ingestion queue)", () => {
  it("accepts what the splitter writes: every object type, the body inline or stored in the work bucket", () => {
    for (const message of [persons, cars, members]) expect(reasonFor(BatchMessageSchema, message)).toBeUndefined();
    const stored = { ...persons, body: undefined, bodyObject: { key: "reports/persons/a.csv/v1/bodies/000000.json" } };
    expect(reasonFor(BatchMessageSchema, stored)).toBeUndefined();
  });

  it.each([
    [
      "a resource to call, smuggled in",
      { ...persons, resource: "../../rest/v1/leads" },
      /^\(message\): Unrecognized key: "resource"/,
    ],
    ["an object type with a query", { ...persons, objectType: "persons?x=1" }, /^objectType: Invalid option/],
    ["an unknown object type", { ...persons, objectType: "leads" }, /^objectType: Invalid option/],
    [
      "a custom object API name that is a path",
      { ...cars, apiName: "car_c/../../identity/oauth/token" },
      /^apiName: must be a custom object API name/,
    ],
    [
      "a custom object API name with a dash",
      { ...cars, apiName: "car-c" },
      /^apiName: must be a custom object API name/,
    ],
    [
      "a custom object without its API name",
      { ...cars, apiName: undefined },
      /^apiName: is required for custom objects/,
    ],
    ["an API name on another type", { ...persons, apiName: "car_c" }, /^apiName: does not apply to persons/],
    [
      "an extra field",
      { ...persons, batch: { ...persons.batch, priority: 1 } },
      /^batch: Unrecognized key: "priority"/,
    ],
    ["an older message version", { ...persons, v: 1 }, /^v: Invalid input: expected 2/],
    [
      "a batch index that is not an integer",
      { ...persons, batch: { ...persons.batch, index: 1.5 } },
      /^batch\.index: /,
    ],
    [
      "a row range that ends before it starts",
      { ...persons, batch: { ...persons.batch, rows: [[3, 2]] } },
      /^batch\.rows\.0: range starts after it ends/,
    ],
    [
      "row ranges that overlap",
      {
        ...persons,
        batch: {
          ...persons.batch,
          rowCount: 3,
          rows: [
            [1, 2],
            [2, 2],
          ],
        },
      },
      /^batch\.rows\.1: ranges must be in ascending order/,
    ],
    [
      "a row count the ranges do not hold",
      { ...persons, batch: { ...persons.batch, rowCount: 3 } },
      /^batch\.rowCount: rows hold 2 rows/,
    ],
    [
      "a body over Marketo's size limit",
      { ...persons, batch: { ...persons.batch, bytes: 1_000_001 } },
      /^batch\.bytes: Too big/,
    ],
    [
      "a bucket that is not an S3 bucket name",
      { ...persons, file: { ...file, bucket: "Drop_Bucket" } },
      /^file\.bucket: must be an S3 bucket name/,
    ],
    [
      "a bucket formatted as an IP address",
      { ...persons, file: { ...file, bucket: "192.168.1.1" } },
      /^file\.bucket: must not be formatted as an IP address/,
    ],
    [
      "a report prefix outside reports/",
      { ...persons, file: { ...file, reportPrefix: "bulk-slots/" } },
      /^file\.reportPrefix: Invalid string: must start with "reports\/"/,
    ],
    [
      "a report prefix without its final slash",
      { ...persons, file: { ...file, reportPrefix: "reports/persons/a.csv/v1" } },
      /^file\.reportPrefix: Invalid string: must end with "\/"/,
    ],
    [
      "another file's report prefix",
      { ...persons, file: { ...file, reportPrefix: "reports/persons/b.csv/v1/" } },
      /^file\.reportPrefix: must be reports\/\{key\}\/\{version\}\//,
    ],
    [
      "a report prefix of another version",
      { ...persons, file: { ...file, versionId: "v2" } },
      /^file\.reportPrefix: must end in the file's versionId/,
    ],
    [
      "the array key of another type",
      { ...persons, body: { input: [{ email: "a@x.io" }] } },
      /^body\.persons: Invalid input: expected array, received undefined; body: Unrecognized key: "input"$/,
    ],
    [
      "a header member of another type",
      { ...persons, body: { ...personsBody, dedupeBy: "idField" } },
      /^body: Unrecognized key: "dedupeBy"/,
    ],
    [
      "a priority Marketo does not know",
      { ...persons, body: { ...personsBody, priority: "urgent" } },
      /^body\.priority: Invalid option/,
    ],
    [
      "objects that are not objects",
      { ...persons, body: { persons: ["a@x.io", "b@x.io"] } },
      /^body\.persons\.0: Invalid input: expected record/,
    ],
    [
      "fewer objects than rows",
      { ...persons, body: { persons: [{ email: "a@x.io" }] } },
      /^body: holds 1 objects; the batch has 2 rows/,
    ],
    [
      "a programId that is not an integer",
      { ...members, body: { programs: [{ ...members.body.programs[0], programId: 7.5 }] } },
      /^body\.programs\.0\.programId: Invalid input: expected int/,
    ],
    [
      "a programId as text",
      { ...members, body: { programs: [{ ...members.body.programs[0], programId: "7" }] } },
      /^body\.programs\.0\.programId: Invalid input: expected number/,
    ],
    [
      "a stored body somewhere else in the bucket",
      { ...persons, body: undefined, bodyObject: { key: "bulk-slots/0.json" } },
      /^bodyObject\.key: must be the batch's body key/,
    ],
    [
      "both an inline and a stored body",
      { ...persons, bodyObject: { key: "reports/persons/a.csv/v1/bodies/000000.json" } },
      /^body: needs exactly one of body and bodyObject/,
    ],
  ])("rejects %s, saying where", (_name, message, reason) => {
    expect(reasonFor(BatchMessageSchema, message)).toMatch(reason);
  });

  it("rejects text that is not JSON, as the sender reads queue bodies", () => {
    expect(reasonFor(BatchMessageText, '{"v":2,"oops"')).toBe("(message): is not valid JSON");
  });

  it("derives the Marketo resource from the object type: every type of the one list, custom objects by API name", () => {
    for (const objectType of OBJECT_TYPES) {
      if (objectType === "customobjects") continue;
      expect(ingestionResource({ objectType })).toBe(objectType);
      expect(isIngestionResource(objectType)).toBe(true);
    }
    expect(ingestionResource({ objectType: "customobjects", apiName: "car_c" })).toBe("customobjects/car_c");
    expect(() => ingestionResource({ objectType: "customobjects", apiName: "../x" })).toThrow(/valid API name/);
    for (const forged of [
      "../identity/oauth/token",
      "persons?x=1",
      "persons/../leads",
      "customobjects",
      "customobjects/a/b",
    ]) {
      expect(isIngestionResource(forged)).toBe(false);
    }
  });

  it("the Data Ingestion client refuses a path that is not a known resource, before any request", async () => {
    const http = new MockAgent();
    http.disableNetConnect();
    const tokens = { getToken: async () => "token", invalidate: () => {} } as unknown as TokenProvider;
    const client = new IngestionClient({
      endpoints: { ingestionUrl: "http://127.0.0.1:9", munchkinId: "123-ABC-456" },
      tokens,
      dispatcher: http,
      clock: new FakeClock(),
    });
    const refused = client.submit({ resource: "../identity/oauth/token", body: "{}" });
    await expect(refused).rejects.toBeInstanceOf(MarketoRequestError);
    await expect(refused).rejects.toMatchObject({ failure: { code: "invalid_resource", disposition: "permanent" } });
    await http.close();
  });
});

describe("bulk part messages (bulk queue)", () => {
  const bulkFile = { ...file, key: "bulk/leads/a.csv", reportPrefix: "reports/bulk/leads/a.csv/v1/" };
  const part = {
    v: 1,
    kind: "bulk-part",
    file: bulkFile,
    route: { target: "leads" },
    params: { format: "csv", lookupField: "email" },
    part: {
      index: 3,
      key: "reports/bulk/leads/a.csv/v1/bulk-parts/000003.csv",
      bytes: 40,
      rowCount: 2,
      rows: [[1, 2]],
    },
    stage: { step: "submit", tries: 0, waits: 0 },
    copyId: "6f1c2b7e-8d4a-4c1e-9f3b-2a5d7e9c1b01",
  };

  it("accepts what the splitter and the importer write", () => {
    expect(reasonFor(BulkPartMessageSchema, part)).toBeUndefined();
    const poll = {
      ...part,
      stage: { step: "poll", batchId: 9, slot: 2, submittedAt: "2026-11-01T10:00:00.000Z", polls: 1, tries: 0 },
    };
    expect(reasonFor(BulkPartMessageSchema, poll)).toBeUndefined();
  });

  it.each([
    [
      "a part key elsewhere in the work bucket",
      { ...part, part: { ...part.part, key: "bulk-slots/0.json" } },
      /^part\.key: must be the part's key/,
    ],
    [
      "a custom object API name that is a path",
      { ...part, route: { target: "customobjects", apiName: "a/../b" } },
      /^route\.apiName: must be a custom object API name/,
    ],
    [
      "a programId that is not an integer",
      { ...part, route: { target: "programmembers", programId: 1.5 } },
      /^route\.programId: /,
    ],
    [
      "a job parameter the import does not take",
      { ...part, params: { format: "csv", programMemberStatus: "Member" } },
      /^params\.programMemberStatus: does not apply to leads/,
    ],
    ["a listId that is not an integer", { ...part, params: { format: "csv", listId: "12" } }, /^params\.listId: /],
    ["an extra field", { ...part, stage: { ...part.stage, sleepMs: 5 } }, /^stage: Unrecognized key: "sleepMs"/],
    ["a copy id that is not one the splitter draws", { ...part, copyId: "x" }, /^copyId: Invalid UUID/],
    [
      "a stage time that is not a time",
      { ...part, stage: { ...part.stage, firstTriedAt: "yesterday" } },
      /^stage\.firstTriedAt: Invalid ISO datetime/,
    ],
  ])("rejects %s, saying where", (_name, message, reason) => {
    expect(reasonFor(BulkPartMessageSchema, message)).toMatch(reason);
  });
});

describe("report messages (report queue)", () => {
  const report = { v: 1, kind: "file-report", file, checks: 0 };

  it("accepts what the splitter and the report writer write", () => {
    expect(reasonFor(ReportMessageSchema, report)).toBeUndefined();
    expect(
      reasonFor(ReportMessageSchema, { ...report, checks: 3, firstCheckAt: "2026-11-01T10:00:00.000Z" }),
    ).toBeUndefined();
  });

  it.each([
    ["an extra field", { ...report, reportKey: "x" }, /^\(message\): Unrecognized key: "reportKey"/],
    [
      "a bucket that is not an S3 bucket name",
      { ...report, file: { ...file, bucket: "a" } },
      /^file\.bucket: must be an S3 bucket name/,
    ],
    [
      "another file's report prefix",
      { ...report, file: { ...file, reportPrefix: "reports/other/v1/" } },
      /^file\.reportPrefix: must be reports/,
    ],
    ["a check count that is not an integer", { ...report, checks: 0.5 }, /^checks: /],
    ["a first check that is not a time", { ...report, firstCheckAt: "soon" }, /^firstCheckAt: Invalid ISO datetime/],
  ])("rejects %s, saying where", (_name, message, reason) => {
    expect(reasonFor(ReportMessageSchema, message)).toMatch(reason);
  });
});
