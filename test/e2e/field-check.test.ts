import { PutObjectCommand } from "@aws-sdk/client-s3";
import { describe, expect, it } from "vitest";
import { createSplitterHandler } from "../../functions/splitter/handler.ts";
import { lambdaContext } from "../../local/lambda-context.ts";
import { localSplitterEnv, SECRET_ID } from "../../local/run-pipeline-locally.ts";
import { objectCreatedEvent } from "../../local/s3-notification.ts";
import { S3ReportStore } from "../../shared/aws/s3-report-store.ts";
import { fileRefFor } from "../../shared/contracts/s3-event.ts";
import { useHarness } from "./harness.ts";

const h = useHarness();

describe("fieldCheck=reject: the splitter compares a file's columns with Marketo's field list on arrival", () => {
  it("a misspelled column rejects the file with one message naming it and the field meant; nothing is sent", async () => {
    const result = await h().run(
      "companies/misspelled.csv",
      "externalCompanyId,company,industy\r\nC1,Acme,Tools\r\nC2,Globex,Energy\r\n",
      { sidecar: JSON.stringify({ fieldCheck: "reject" }) },
    );
    expect(result.manifest).toMatchObject({
      status: "rejected",
      error: {
        code: "UNKNOWN_FIELD",
        message:
          'column "industy" (did you mean industry?) is not a field of companies in Marketo: rename the column or map it with fieldMap',
      },
    });
    expect(result.summary).toMatchObject({ status: "rejected", accepted: 0 });
    expect(h().sim.requests).toHaveLength(0);
    expect(h().sim.describeRequests.map((call) => call.path)).toEqual(["/rest/v1/companies/describe.json"]);
  });

  it("the stack default applies it to every file of the type; a clean file is checked and sent", async () => {
    const splitterEnv = { DEFAULT_FILE_OPTIONS: JSON.stringify({ persons: { fieldCheck: "reject" } }) };
    const bad = await h().run("persons/typo.csv", "email,firstName,lastNmae\r\nann@example.com,Ann,Lee\r\n", {
      splitterEnv,
    });
    expect(bad.manifest?.error?.code).toBe("UNKNOWN_FIELD");
    expect(bad.manifest?.error?.message).toContain('"lastNmae" (did you mean lastName?)');

    const clean = await h().run("persons/clean.csv", "email,firstName,lastName\r\nann@example.com,Ann,Lee\r\n", {
      splitterEnv,
    });
    expect(clean.summary).toMatchObject({ status: "complete", accepted: 1 });
    expect(clean.manifest?.fieldCheck).toEqual({ result: "passed" });
    expect(clean.report?.fieldCheck).toEqual({ result: "passed" });
  });

  it("the check sees the columns after fieldMap, and takes NDJSON records' keys as its columns", async () => {
    const mapped = await h().run("persons/mapped.csv", "E-mail,Vorname\r\nann@example.com,Ann\r\n", {
      sidecar: JSON.stringify({ fieldCheck: "reject", fieldMap: { "E-mail": "email", Vorname: "firstName" } }),
    });
    expect(mapped.summary).toMatchObject({ status: "complete", accepted: 1 });

    const records = await h().run(
      "persons/records.ndjson",
      '{"email":"ann@example.com"}\n{"email":"bo@example.com","compnay":"Acme"}\n',
      { metadata: { "field-check": "reject" } },
    );
    expect(records.manifest?.error).toMatchObject({ code: "UNKNOWN_FIELD", line: 2 });
    expect(records.manifest?.error?.message).toContain('"compnay" (did you mean company?)');
    expect(h().sim.requests).toHaveLength(1); // the mapped file's request only
  });

  it("a describe that fails does not lose the file: it is sent unchecked and its report says why", async () => {
    h().sim.injectFault({ kind: "status", status: 503, path: "/rest/v1/leads/describe2.json" });
    const result = await h().run("persons/outage.csv", "email,firstName\r\nann@example.com,Ann\r\n", {
      sidecar: JSON.stringify({ fieldCheck: "reject" }),
    });
    expect(result.summary).toMatchObject({ status: "complete", accepted: 1 });
    expect(result.manifest?.fieldCheck).toMatchObject({ result: "skipped" });
    expect(result.report?.fieldCheck).toEqual(result.manifest?.fieldCheck);
    expect(result.manifest?.fieldCheck).toMatchObject({
      reason: expect.stringMatching(
        /^Marketo's field list could not be read \(.*503.*\); the file was sent unchecked$/,
      ),
    });
  });

  it("a warm splitter asks Marketo once per object for many files (the field list is cached per container)", async () => {
    const { aws, sim, secret } = h();
    aws.secrets.putSecret(SECRET_ID, JSON.stringify(secret));
    const splitter = createSplitterHandler(localSplitterEnv(aws));
    const keys = ["persons/warm-1.csv", "persons/warm-2.csv", "persons/warm-3.csv"];
    const reports = new S3ReportStore(aws.s3, aws.workBucket);
    for (const [i, key] of keys.entries()) {
      const body = `email,firstName\r\nuser${i}@example.com,U${i}\r\n`;
      const put = await aws.s3.send(
        new PutObjectCommand({ Bucket: aws.dropBucket, Key: key, Body: body, Metadata: { "field-check": "reject" } }),
      );
      const dropped = { bucket: aws.dropBucket, key, size: body.length, eTag: put.ETag?.replace(/"/g, "") ?? "" };
      await splitter(objectCreatedEvent(dropped), lambdaContext("splitter", { requestId: `warm-${i}` }));
      expect((await reports.getManifest(fileRefFor(dropped)))?.fieldCheck).toEqual({ result: "passed" });
    }
    expect(sim.describeRequests).toEqual([{ path: "/rest/v1/leads/describe2.json", status: 200 }]);
  });
});
