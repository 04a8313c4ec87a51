import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { parseIntakeBody } from "../../../shared/contracts/intake-message.ts";
import { INTAKE_SCHEMA_PATH, intakeSchemaText } from "../../../scripts/generate-intake-schema.ts";

const persons = { v: 1, objectType: "persons", records: [{ email: "a@example.com" }] };

describe("intake message contract", () => {
  it("the committed JSON Schema is the one generated from the zod schema (regenerate on change)", async () => {
    expect(readFileSync(INTAKE_SCHEMA_PATH, "utf8")).toBe(await intakeSchemaText());
  });

  it.each([
    ["persons with options and an id", { ...persons, id: "order-17", options: { priority: "high" } }],
    ["a custom object", { v: 1, objectType: "customobjects/car_c", records: [{ vin: "1" }] }],
    ["an S3 pointer", { v: 1, objectType: "lists", options: { listId: 7 }, s3: { bucket: "bkt", key: "a.ndjson" } }],
  ])("accepts %s", (_what, message) => {
    const parsed = parseIntakeBody(JSON.stringify(message));
    expect(parsed).toMatchObject({ ok: true, envelope: "none" });
  });

  it.each([
    ["not JSON", "{persons", "invalid_json", ""],
    [
      "an unknown object type",
      JSON.stringify({ ...persons, objectType: "leads" }),
      "unknown_object_type",
      "objectType",
    ],
    ["an unknown field", JSON.stringify({ ...persons, extra: 1 }), "schema_violation", ""],
    ["no records", JSON.stringify({ ...persons, records: [] }), "schema_violation", "records"],
    ["a record that is not an object", JSON.stringify({ ...persons, records: ["x"] }), "schema_violation", "records.0"],
    ["records and s3 both", JSON.stringify({ ...persons, s3: { bucket: "bkt", key: "k" } }), "schema_violation", ""],
    ["another version", JSON.stringify({ ...persons, v: 2 }), "schema_violation", "v"],
    ["an unknown option", JSON.stringify({ ...persons, options: { speed: 1 } }), "schema_violation", "options"],
  ])("refuses %s with a code and the path", (_what, body, code, path) => {
    const parsed = parseIntakeBody(body);
    expect(parsed.ok).toBe(false);
    if (!parsed.ok) expect(parsed.error).toMatchObject({ code, path });
  });

  it("unwraps an SNS notification (subscription without raw message delivery)", () => {
    const notification = {
      Type: "Notification",
      MessageId: "m-1",
      TopicArn: "arn:aws:sns:us-east-1:111122223333:producers",
      Message: JSON.stringify(persons),
      Timestamp: "2026-12-01T00:00:00.000Z",
    };
    expect(parseIntakeBody(JSON.stringify(notification))).toMatchObject({
      ok: true,
      envelope: "sns",
      message: persons,
    });
  });

  it("unwraps an EventBridge event (rule target without input transformer): the message is its detail", () => {
    const event = { version: "0", id: "e-1", "detail-type": "records", source: "shop.orders", detail: persons };
    expect(parseIntakeBody(JSON.stringify(event))).toMatchObject({ ok: true, envelope: "eventbridge" });
    const bad = { ...event, detail: { ...persons, objectType: "x" } };
    expect(parseIntakeBody(JSON.stringify(bad))).toMatchObject({
      ok: false,
      envelope: "eventbridge",
      error: { code: "unknown_object_type" },
    });
  });
});
