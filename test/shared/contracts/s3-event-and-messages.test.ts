import { describe, expect, it } from "vitest";
import { toQueueSafeJson, toQueueSafeText } from "../../../shared/text/queue-text.ts";
import { InputFileError } from "../../../shared/parsing/input-file-error.ts";
import { objectCreatedEvent } from "../../../local/s3-notification.ts";
import {
  BatchMessageSchema,
  countRows,
  serializeBatchMessage,
  toRowRanges,
} from "../../../shared/contracts/batch-message.ts";
import { routeForObjectKey, routeForObjectName } from "../../../shared/options/object-route.ts";
import { droppedFiles, reportPrefixFor, UnrecognizedEventError } from "../../../shared/contracts/s3-event.ts";

describe("droppedFiles", () => {
  const record = (key: string, eventName = "ObjectCreated:Put") => ({
    eventName,
    s3: { bucket: { name: "drop" }, object: { key, size: 10, eTag: "abc", versionId: "v1" } },
  });

  it("decodes URL-encoded keys with + for spaces", () => {
    expect(droppedFiles({ Records: [record("persons/my+file%C3%A9%2B1.csv")] })).toEqual([
      { bucket: "drop", key: "persons/my fileé+1.csv", versionId: "v1", eTag: "abc", size: 10 },
    ]);
  });

  it("reads only what it uses: a full S3 record from an IPv6 client is a file like any other", () => {
    // Powertools' S3Schema requires an IPv4 sourceIPAddress, so it would refuse this real-shaped event.
    const full = {
      eventVersion: "2.1",
      eventSource: "aws:s3",
      awsRegion: "eu-west-1",
      eventTime: "2026-12-01T10:00:00.000Z",
      userIdentity: { principalId: "AWS:AIDAEXAMPLE" },
      requestParameters: { sourceIPAddress: "2001:db8::1" },
      responseElements: { "x-amz-request-id": "R", "x-amz-id-2": "I" },
      ...record("persons/v6.csv"),
    };
    expect(droppedFiles({ Records: [full] }).map((f) => f.key)).toEqual(["persons/v6.csv"]);
  });

  it.each([
    "persons/Größe-ő 2026.csv",
    "persons/東京 データ.csv",
    "persons/🎉 party.csv",
    "persons/a+b c%20d%.csv",
    "persons/ctl\u0001nl\ncr\rtab\t.csv",
    `persons/${"é".repeat(494)}.csv`,
  ])("gives back %j from its S3 event encoding (+ for spaces)", (key) => {
    const event = objectCreatedEvent({ bucket: "drop", key, size: 1 });
    expect(event.Records[0]?.s3.object.key).toMatch(/^[\x21-\x7E]+$/);
    expect(droppedFiles(event)[0]?.key).toBe(key);
  });

  it("acknowledges the s3:TestEvent with no files", () => {
    expect(droppedFiles({ Service: "Amazon S3", Event: "s3:TestEvent", Bucket: "drop" })).toEqual([]);
  });

  it("ignores non-creation events and refuses what is not an S3 event", () => {
    expect(droppedFiles({ Records: [record("persons/a.csv", "ObjectRemoved:Delete")] })).toEqual([]);
    expect(() => droppedFiles({ hello: "world" })).toThrow(UnrecognizedEventError);
  });

  it("gives each object version its own report prefix", () => {
    expect(reportPrefixFor({ bucket: "b", key: "persons/a.csv", versionId: "v9" })).toBe("reports/persons/a.csv/v9/");
    expect(reportPrefixFor({ bucket: "b", key: "persons/a.csv", eTag: '"e1"' })).toBe("reports/persons/a.csv/etag-e1/");
  });
});

describe("routeForObjectKey", () => {
  it.each([
    ["persons/2026/a.csv", "persons", "persons"],
    ["customobjects/car_c/cars.csv", "customobjects", "customobjects/car_c"],
    ["companies/acme.json", "companies", "companies"],
    ["programmembers/q3/webinar.csv", "programmembers", "programmembers"],
    ["programmembers/delete/q3.csv", "programmembers/delete", "programmembers/delete"],
    ["lists/2026/newsletter.csv", "lists", "lists"],
    ["lists/remove.csv", "lists", "lists"],
    ["lists/remove/unsubscribed.csv", "lists/remove", "lists/remove"],
  ])("routes %s to %s (POST /%s)", (key, objectType, resource) => {
    expect(routeForObjectKey(key)).toMatchObject({ objectType, resource });
  });

  it.each([
    ["leads/a.csv", /does not start with an object type prefix; drop files under one of: persons\/, customobjects/],
    ["a.csv", /does not start with an object type prefix/],
    ["persons/", /does not start with an object type prefix/],
    ["customobjects/cars.csv", /customobjects\/\{apiName\}\//],
    ["customobjects/car-c/cars.csv", /API name/],
    ["programmembers/delete/", /does not start with an object type prefix/],
    ["lists/remove/", /does not start with an object type prefix/],
  ])("rejects %s", (key, message) => {
    expect(() => routeForObjectKey(key)).toThrow(InputFileError);
    expect(() => routeForObjectKey(key)).toThrow(message);
  });
});

describe("routeForObjectName", () => {
  it("takes the same words as the key prefixes, and nothing after them", () => {
    expect(routeForObjectName("customobjects/car_c")).toMatchObject({ apiName: "car_c" });
    expect(routeForObjectName("programmembers/delete").resource).toBe("programmembers/delete");
    expect(routeForObjectName("lists")).toEqual({ objectType: "lists", resource: "lists" });
    expect(routeForObjectName("lists/remove")).toEqual({ objectType: "lists/remove", resource: "lists/remove" });
    expect(() => routeForObjectName("lists/delete")).toThrow(/unknown object type "lists\/delete"/);
    expect(() => routeForObjectName("persons/extra")).toThrow(/unknown object type "persons\/extra"/);
    expect(() => routeForObjectName("leads")).toThrow(/expected one of: persons, customobjects\/\{apiName\}/);
  });
});

describe("batch messages", () => {
  it("keeps row numbers as compact ranges", () => {
    const ranges = toRowRanges([1, 2, 3, 5, 7, 8]);
    expect(ranges).toEqual([
      [1, 3],
      [5, 5],
      [7, 8],
    ]);
    expect(countRows(ranges)).toBe(6);
  });

  it("embeds the exact body and parses back with the schema to the same text", () => {
    const body = '{"persons":[{"email":"a@x.io","zip":"04906"}]}';
    const text = serializeBatchMessage(
      {
        v: 2,
        file: { bucket: "drop", key: "persons/a.csv", reportPrefix: "reports/persons/a.csv/v1/" },
        objectType: "persons",
        batch: { index: 0, rowCount: 1, rows: [[1, 1]], bytes: Buffer.byteLength(body) },
      },
      body,
    );
    expect(text.endsWith(`"body":${body}}`)).toBe(true);
    const parsed = BatchMessageSchema.parse(JSON.parse(text));
    expect(JSON.stringify(parsed.body)).toBe(body);
  });

  it("escapes the characters SQS (or its emulator) refuses, keeping the JSON's meaning", () => {
    const json = toQueueSafeJson({ name: "a\uFFFEb\uFFFF 🎉 ok" });
    expect(json).toBe('{"name":"a\\ufffeb\\uffff \\ud83c\\udf89 ok"}');
    expect(JSON.parse(json)).toEqual({ name: "a\uFFFEb\uFFFF 🎉 ok" });
    expect(toQueueSafeJson({ name: "Zoë 山田" })).toBe('{"name":"Zoë 山田"}');
    // A message's file key is escaped too: S3 keys may hold any of these characters.
    const head = { v: 2 as const, objectType: "persons" as const };
    const message = serializeBatchMessage(
      {
        ...head,
        file: { bucket: "drop", key: "persons/🎉.csv", reportPrefix: "reports/persons/🎉.csv/v1/" },
        batch: { index: 0, rowCount: 1, rows: [[1, 1]], bytes: 10 },
      },
      '{"persons":[{"n":"\uFFFF"}]}',
    );
    expect(message).not.toMatch(/[\u{10000}-\u{10FFFF}\uFFFE\uFFFF]/u);
    expect(JSON.parse(message)).toMatchObject({
      file: { key: "persons/🎉.csv" },
      body: { persons: [{ n: "\uFFFF" }] },
    });
  });

  it("makes any text SQS-safe: JSON keeps its meaning, attribute text gets readable escapes", () => {
    const key = "persons/🎉\u0001\uFFFF\uD800.csv";
    const head = toQueueSafeText(JSON.stringify({ file: { key } }));
    expect(head).toMatch(/^[\x20-\x7E]+$/);
    expect(JSON.parse(head)).toEqual({ file: { key } });
    expect(toQueueSafeText(`reports/${key}/v1/`)).toBe("reports/persons/\\ud83c\\udf89\\u0001\\uffff\\ud800.csv/v1/");
    expect(toQueueSafeText("tab\tnl\ncr\r ok é")).toBe("tab\tnl\ncr\r ok é");
  });
});
