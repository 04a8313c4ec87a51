import { describe, expect, it } from "vitest";
import { readSettings, SettingsError } from "../../../shared/config/settings.ts";
import { SenderSettingsSchema } from "../../../functions/ingestion-sender/settings.ts";

const env = {
  MARKETO_SECRET_ID: "s",
  INGESTION_QUEUE_URL: "q",
  INGESTION_DLQ_URL: "d",
  WORK_BUCKET: "w",
};

describe("REQUEST_SOURCE (sent as X-Request-Source)", () => {
  it("defaults to marketo-ingest and takes visible ASCII up to 50 characters", () => {
    expect(readSettings(SenderSettingsSchema, env).REQUEST_SOURCE).toBe("marketo-ingest");
    expect(readSettings(SenderSettingsSchema, { ...env, REQUEST_SOURCE: "crm-sync/v2" }).REQUEST_SOURCE).toBe(
      "crm-sync/v2",
    );
  });

  it.each(["Größe-ő", "two words", "a\nb", "x".repeat(51), ""])(
    "refuses %j at cold start, naming the variable",
    (value) => {
      expect(() => readSettings(SenderSettingsSchema, { ...env, REQUEST_SOURCE: value })).toThrow(SettingsError);
      expect(() => readSettings(SenderSettingsSchema, { ...env, REQUEST_SOURCE: value })).toThrow(/REQUEST_SOURCE/);
    },
  );
});
