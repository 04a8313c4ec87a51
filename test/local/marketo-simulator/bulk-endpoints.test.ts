import { parse } from "csv-parse/sync";
import { setTimeout as sleep } from "node:timers/promises";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { type MarketoSimulator, startMarketoSimulator } from "../../../local/marketo-simulator/index.ts";

/** The simulator's Bulk Import API (as Adobe's Bulk Import pages describe it), over real HTTP with multipart uploads. */
let sim: MarketoSimulator;
let token: string;

interface Envelope {
  requestId: string;
  success: boolean;
  result?: Array<Record<string, unknown>>;
  errors?: Array<{ code: string; message: string }>;
}

async function tokenFor(target: MarketoSimulator): Promise<string> {
  const url = `${target.identityUrl}/oauth/token?grant_type=client_credentials&client_id=${target.clientId}&client_secret=${target.clientSecret}`;
  return ((await (await fetch(url)).json()) as { access_token: string }).access_token;
}

beforeAll(async () => {
  sim = await startMarketoSimulator({
    bulkImportMs: 50,
    maxBulkFileBytes: 4_000,
    maxLifetimeMs: 60_000,
    customObjectDedupeFields: { car_c: ["vin"] },
  });
});
afterAll(() => sim.close());
beforeEach(async () => {
  sim.reset();
  token = await tokenFor(sim);
});

const bearer = () => ({ authorization: `Bearer ${token}` });

async function submit(
  path: string,
  file: string | undefined,
  fields: Record<string, string> = {},
  headers: Record<string, string> = bearer(),
  target: MarketoSimulator = sim,
): Promise<{ status: number; body: Envelope }> {
  const form = new FormData();
  for (const [name, value] of Object.entries(fields)) form.set(name, value);
  if (file !== undefined) form.set("file", new Blob([file], { type: "text/csv" }), "import.csv");
  const response = await fetch(`${target.restUrl}${path}`, { method: "POST", headers, body: form });
  return { status: response.status, body: (await response.json()) as Envelope };
}

async function get(path: string, headers: Record<string, string> = bearer()) {
  const response = await fetch(`${sim.restUrl}${path}`, { headers });
  return {
    status: response.status,
    contentType: response.headers.get("content-type") ?? "",
    text: await response.text(),
  };
}

async function getJson(path: string, headers: Record<string, string> = bearer()): Promise<Envelope> {
  return JSON.parse((await get(path, headers)).text) as Envelope;
}

/** Polls a status path until the job is Complete or Failed (bounded). */
async function finished(statusPath: string): Promise<Record<string, unknown>> {
  for (let i = 0; i < 100; i++) {
    const result = (await getJson(statusPath)).result?.[0];
    if (result?.status === "Complete" || result?.status === "Failed") return result;
    await sleep(20);
  }
  throw new Error(`job at ${statusPath} did not finish`);
}

const batchIdOf = (body: Envelope) => body.result?.[0]?.batchId as number;
const leadStatus = (id: number) => `/bulk/v1/leads/batch/${id}.json`;
const errorOf = (body: Envelope) => body.errors?.[0];

describe("submit → Queued → Complete, per object type", () => {
  it("leads: counts, message and persons stored under the partition|lookup key", async () => {
    const file = "email,firstName,leadScore\na@example.com,Able,10\nb@example.com,Baker,\nc@example.com,Charlie,3\n";
    const { status, body } = await submit("/bulk/v1/leads.json?partitionName=Europe", file, { format: "csv" });
    expect(status).toBe(200);
    const batchId = batchIdOf(body);
    expect(body).toMatchObject({ success: true, result: [{ batchId, importId: String(batchId), status: "Queued" }] });
    expect(await finished(leadStatus(batchId))).toEqual({
      batchId,
      importId: String(batchId),
      status: "Complete",
      numOfLeadsProcessed: 3,
      numOfRowsFailed: 0,
      numOfRowsWithWarning: 0,
      message: "Import succeeded, 3 records imported (3 members)",
    });
    expect(sim.persons().map((p) => p.key)).toEqual([
      "Europe|a@example.com",
      "Europe|b@example.com",
      "Europe|c@example.com",
    ]);
    expect(sim.persons()[1]).toEqual({
      key: "Europe|b@example.com",
      fields: { email: "b@example.com", firstName: "Baker" },
      writes: 1,
      lastRequestId: String(batchId),
    });
    expect(sim.bulkJobs[0]).toMatchObject({
      batchId,
      objectType: "leads",
      status: "Complete",
      format: "csv",
      rowCount: 3,
      bytes: Buffer.byteLength(file),
      options: { lookupField: "email", partitionName: "Europe" },
      processed: 3,
      failed: 0,
      warnings: 0,
    });
  });

  it("leads: a second import of the same rows upserts (writes 2), lookupField from the form", async () => {
    const file = "id,firstName\n17,Able\n";
    for (let i = 0; i < 2; i++) {
      const { body } = await submit("/bulk/v1/leads.json", file, { lookupField: "id" });
      await finished(leadStatus(batchIdOf(body)));
    }
    expect(sim.persons()).toEqual([expect.objectContaining({ key: "Default|17", writes: 2 })]);
  });

  it("leads: tsv files are read with tabs", async () => {
    const { body } = await submit("/bulk/v1/leads.json?format=tsv", "email\tcompany\na@example.com\tAcme, Inc.\n");
    expect((await finished(leadStatus(batchIdOf(body)))).numOfLeadsProcessed).toBe(1);
    expect(sim.persons()[0]?.fields).toEqual({ email: "a@example.com", company: "Acme, Inc." });
  });

  it("custom objects: objectApiName, numOfObjectsProcessed, stored by dedupe field; a blank dedupe value fails", async () => {
    const file = "color,make,vin\nred,bmw,V1\nblue,bmw,\nyellow,bmw,V2\n";
    const { body } = await submit("/bulk/v1/customobjects/car_c/import.json", file, { format: "csv" });
    const batchId = batchIdOf(body);
    expect(body.result).toEqual([{ batchId, importId: String(batchId), objectApiName: "car_c", status: "Queued" }]);
    const result = await finished(`/bulk/v1/customobjects/car_c/import/${batchId}/status.json`);
    expect(result).toMatchObject({
      status: "Complete",
      objectApiName: "car_c",
      numOfObjectsProcessed: 2,
      numOfRowsFailed: 1,
      numOfRowsWithWarning: 0,
      message: "Import completed with errors, 2 records imported (2 members), 1 failed",
    });
    expect(sim.customObjects("car_c").map((o) => o.fields)).toEqual([
      { color: "red", make: "bmw", vin: "V1" },
      { color: "yellow", make: "bmw", vin: "V2" },
    ]);
    const failures = await get(`/bulk/v1/customobjects/car_c/import/${batchId}/failures.json`);
    expect(parse(failures.text)).toEqual([
      ["color", "make", "vin", "Import Failure Reason"],
      ["blue", "bmw", "", "Missing value for dedupe field vin"],
    ]);
  });

  it("custom objects: a dedupe field absent from the header fails the job", async () => {
    const { body } = await submit("/bulk/v1/customobjects/car_c/import.json", "color, vin\nred,V1\n");
    expect(await finished(`/bulk/v1/customobjects/car_c/import/${batchIdOf(body)}/status.json`)).toMatchObject({
      status: "Failed",
      message: "Import failed: dedupe field vin not in file header",
      numOfObjectsProcessed: 0,
    });
    expect(sim.customObjects("car_c")).toEqual([]);
  });

  it("program members: stored by programId and lower-cased e-mail with the file's status", async () => {
    const file = "firstName,email,leadScore\nJoanna,Joanna@Lannister.com,0\nTywin,Tywin@Lannister.com,5\n";
    const { body } = await submit("/bulk/v1/program/1234/members/import.json?format=csv", file, {
      programMemberStatus: "On List",
    });
    const batchId = batchIdOf(body);
    expect(body.result).toEqual([{ batchId, importId: String(batchId), status: "Queued" }]);
    expect(await finished(`/bulk/v1/program/members/import/${batchId}/status.json`)).toMatchObject({
      status: "Complete",
      numOfLeadsProcessed: 2,
      numOfRowsFailed: 0,
      message: "Import succeeded, 2 records imported (2 members)",
    });
    expect(sim.bulkProgramMembers()).toEqual([
      {
        key: "1234:joanna@lannister.com",
        programId: 1234,
        email: "Joanna@Lannister.com",
        status: "On List",
        fields: { firstName: "Joanna", email: "Joanna@Lannister.com", leadScore: "0" },
        writes: 1,
        lastRequestId: String(batchId),
      },
      expect.objectContaining({ key: "1234:tywin@lannister.com" }),
    ]);
    expect(sim.bulkJobs[0]).toMatchObject({ objectType: "programmembers", programId: 1234 });
  });

  it("program members: programMemberStatus is required, programId must be a positive integer", async () => {
    const file = "email\na@example.com\n";
    const missing = await submit("/bulk/v1/program/1234/members/import.json", file);
    expect(errorOf(missing.body)?.code).toBe("1003");
    const badId = await submit("/bulk/v1/program/abc/members/import.json", file, { programMemberStatus: "x" });
    expect(errorOf(badId.body)?.code).toBe("1003");
    expect(sim.bulkJobs).toHaveLength(0);
    expect(sim.bulkLog.map((e) => [e.event, e.code])).toEqual([
      ["rejected", "1003"],
      ["rejected", "1003"],
    ]);
  });

  it("status changes on time without any request (timer-driven)", async () => {
    await submit("/bulk/v1/leads.json", "email\na@example.com\n");
    for (let i = 0; i < 50 && sim.bulkJobs[0]?.status !== "Complete"; i++) await sleep(20);
    expect(sim.bulkJobs[0]?.status).toBe("Complete");
    expect(sim.bulkLog.map((e) => e.event)).toEqual(["submitted", "started", "finished"]);
  });
});

describe("queue: FIFO, 2 importing, 10 open", () => {
  it("the first two start first; never more than 2 importing", async () => {
    const ids: number[] = [];
    for (let i = 0; i < 5; i++)
      ids.push(batchIdOf((await submit("/bulk/v1/leads.json", `email\nu${i}@example.com\n`)).body));
    for (const id of ids) await finished(leadStatus(id));
    const started = sim.bulkLog.filter((e) => e.event === "started").map((e) => e.batchId);
    expect(started).toEqual(ids);
    expect(sim.bulkStats().maxImporting).toBeLessThanOrEqual(2);
    const [first, second, third] = sim.bulkJobs;
    expect(third?.startedAt).toBeGreaterThanOrEqual(Math.min(first?.finishedAt ?? 0, second?.finishedAt ?? 0));
  });

  it("the 11th submit while none finished gets 1016 and creates no job", async () => {
    // Its own simulator with a long import time, so no job can finish while the 11 submits are sent.
    const slow = await startMarketoSimulator({ bulkImportMs: 10_000, maxLifetimeMs: 60_000 });
    try {
      const headers = { authorization: `Bearer ${await tokenFor(slow)}` };
      const answers: Envelope[] = [];
      for (let i = 0; i < 11; i++) {
        answers.push((await submit("/bulk/v1/leads.json", `email\nq${i}@example.com\n`, {}, headers, slow)).body);
      }
      expect(answers.slice(0, 10).every((a) => a.success)).toBe(true);
      expect(answers[10]).toMatchObject({ success: false, errors: [{ code: "1016", message: "Too many imports" }] });
      expect(slow.bulkJobs).toHaveLength(10);
      expect(slow.bulkJobs.map((j) => j.status)).toEqual([...Array(2).fill("Importing"), ...Array(8).fill("Queued")]);
      expect(slow.bulkStats()).toEqual({ maxOpen: 10, maxImporting: 2, tooManyImports: 1 });
    } finally {
      await slow.close();
    }
  });

  it("occupyBulkQueue(10) → 1016 until releaseBulkQueue(); a queued job's failures are 'Job not finished'", async () => {
    sim.occupyBulkQueue(10);
    expect(sim.bulkJobs.filter((j) => j.foreign)).toHaveLength(10);
    const refused = await submit("/bulk/v1/leads.json", "email\na@example.com\n");
    expect(errorOf(refused.body)).toEqual({ code: "1016", message: "Too many imports" });
    sim.releaseBulkQueue();
    sim.occupyBulkQueue(2);
    const accepted = await submit("/bulk/v1/leads.json", "email\na@example.com\n");
    const batchId = batchIdOf(accepted.body);
    expect((await getJson(leadStatus(batchId))).result?.[0]?.status).toBe("Queued");
    expect(errorOf(await getJson(`/bulk/v1/leads/batch/${batchId}/failures.json`))).toEqual({
      code: "1003",
      message: "Job not finished",
    });
    sim.releaseBulkQueue();
    expect((await finished(leadStatus(batchId))).status).toBe("Complete");
    expect(sim.bulkStats()).toMatchObject({ maxOpen: 10, tooManyImports: 1 });
  });
});

describe("failures and warnings files", () => {
  it("submitted columns + reason column, reverse order, quoted values round-trip", async () => {
    const file = [
      "email,firstName,leadScore",
      'a@example.com,"Doe, ""J""",10',
      'b@example.com,"two\nlines, comma",abc',
      ",Nobody,1",
      "not-an-email,Warn,2",
      "c@example.com,Short",
    ].join("\r\n");
    const { body } = await submit("/bulk/v1/leads.json", file);
    const batchId = batchIdOf(body);
    expect(await finished(leadStatus(batchId))).toMatchObject({
      numOfLeadsProcessed: 2,
      numOfRowsFailed: 3,
      numOfRowsWithWarning: 1,
      message: "Import completed with errors, 2 records imported (2 members), 3 failed, 1 warning.",
    });
    const failures = await get(`/bulk/v1/leads/batch/${batchId}/failures.json`);
    expect(failures.status).toBe(200);
    expect(failures.contentType).toMatch(/^text\/csv/);
    expect(parse(failures.text, { relax_column_count: true })).toEqual([
      ["email", "firstName", "leadScore", "Import Failure Reason"],
      ["c@example.com", "Short", "Row has 2 fields, header has 3"],
      ["", "Nobody", "1", "Missing value for lookup field email"],
      ["b@example.com", "two\nlines, comma", "abc", "Invalid data type in field leadScore"],
    ]);
    const warnings = await get(`/bulk/v1/leads/batch/${batchId}/warnings.json`);
    expect(parse(warnings.text)).toEqual([
      ["email", "firstName", "leadScore", "Import Warning Reason"],
      ["not-an-email", "Warn", "2", "Invalid email address"],
    ]);
    expect(sim.persons().map((p) => p.key)).toEqual(["Default|a@example.com", "Default|not-an-email"]);
    expect(sim.persons()[0]?.fields.firstName).toBe('Doe, "J"');
  });

  it("ssv keeps its semicolon delimiter and quotes values holding one", async () => {
    const file = 'email;company\nbad-address;"Lannister; House"\nok@example.com;Stark\n';
    const { body } = await submit("/bulk/v1/program/7/members/import.json", file, {
      format: "SSV",
      programMemberStatus: "Member",
    });
    const batchId = batchIdOf(body);
    expect(await finished(`/bulk/v1/program/members/import/${batchId}/status.json`)).toMatchObject({
      numOfLeadsProcessed: 2,
      numOfRowsWithWarning: 1,
      message: "Import succeeded, 2 records imported (2 members), 1 warning.",
    });
    const warnings = await get(`/bulk/v1/program/members/import/${batchId}/warnings.json`);
    expect(warnings.text).toBe(
      'email;company;Import Warning Reason\nbad-address;"Lannister; House";Invalid email address\n',
    );
    expect(sim.bulkJobs[0]?.format).toBe("ssv");
  });

  it("404 when there are none; 1013 for a batchId unknown for that object type", async () => {
    const { body } = await submit("/bulk/v1/leads.json", "email\na@example.com\n");
    const batchId = batchIdOf(body);
    await finished(leadStatus(batchId));
    expect((await get(`/bulk/v1/leads/batch/${batchId}/failures.json`)).status).toBe(404);
    expect((await get(`/bulk/v1/leads/batch/${batchId}/warnings.json`)).status).toBe(404);
    for (const path of [
      `/bulk/v1/customobjects/car_c/import/${batchId}/status.json`,
      `/bulk/v1/program/members/import/${batchId}/failures.json`,
      "/bulk/v1/leads/batch/999999.json",
    ]) {
      expect(errorOf(await getJson(path))).toEqual({ code: "1013", message: "Import job not found" });
    }
  });
});

describe("request rules", () => {
  it("413 over maxBulkFileBytes, no job created", async () => {
    const file = `email,notes\n${"x@example.com,".padEnd(5_000, "n")}\n`;
    const { status, body } = await submit("/bulk/v1/leads.json", file);
    expect(status).toBe(413);
    expect(errorOf(body)?.code).toBe("413");
    expect(sim.bulkJobs).toHaveLength(0);
  });

  it("413 when the whole multipart body is over 10,000,000 bytes, though the file alone is under 10 MB", async () => {
    // Adobe: 413 when "the request payload exceeds … 10MB for Import Lead"; the simulator's defaults, not this suite's.
    const marketo = await startMarketoSimulator({ maxLifetimeMs: 60_000 });
    try {
      const auth = { authorization: `Bearer ${await tokenFor(marketo)}` };
      const boundary = "----sim-test-boundary";
      const head = `--${boundary}\r\nContent-Disposition: form-data; name="format"\r\n\r\ncsv\r\n--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="big.csv"\r\nContent-Type: text/csv\r\n\r\n`;
      const tail = `\r\n--${boundary}--\r\n`;
      const framing = Buffer.byteLength(head) + Buffer.byteLength(tail);
      const body = (total: number) => {
        const row = "a@example.com,";
        const file = `email,notes\n${row}${"n".repeat(total - framing - "email,notes\n".length - row.length - 1)}\n`;
        const bytes = Buffer.from(head + file + tail);
        expect(bytes.length).toBe(total);
        expect(Buffer.byteLength(file)).toBeLessThan(10_000_000);
        return bytes;
      };
      const post = async (bytes: Buffer) => {
        const response = await fetch(`${marketo.restUrl}/bulk/v1/leads.json`, {
          method: "POST",
          headers: { ...auth, "content-type": `multipart/form-data; boundary=${boundary}` },
          body: bytes,
        });
        return { status: response.status, body: (await response.json()) as Envelope };
      };

      const over = await post(body(10_000_001));
      expect(over.status).toBe(413);
      expect(errorOf(over.body)?.code).toBe("413");
      expect(marketo.bulkJobs).toHaveLength(0);

      const atLimit = await post(body(10_000_000));
      expect(atLimit.status).toBe(200);
      expect(atLimit.body.success).toBe(true);
      expect(marketo.bulkJobs).toHaveLength(1);
    } finally {
      await marketo.close();
    }
  });

  it("format must be csv, tsv or ssv; file is required", async () => {
    expect(errorOf((await submit("/bulk/v1/leads.json", "email\na@b.co\n", { format: "xlsx" })).body)?.code).toBe(
      "1003",
    );
    expect(errorOf((await submit("/bulk/v1/leads.json", undefined, { format: "csv" })).body)?.code).toBe("1003");
    expect(sim.bulkJobs).toHaveLength(0);
  });

  it("a header-only file or a file without the lookup column fails the job", async () => {
    const headerOnly = batchIdOf((await submit("/bulk/v1/leads.json", "email,firstName\n")).body);
    const noLookup = batchIdOf((await submit("/bulk/v1/leads.json", "firstName\nAble\n")).body);
    expect((await finished(leadStatus(headerOnly))).message).toBe("Import failed: file has no data rows");
    expect((await finished(leadStatus(noLookup))).message).toBe("Import failed: lookup field email not in file header");
    expect(sim.persons()).toEqual([]);
  });
});

describe("auth: Authorization: Bearer only", () => {
  const file = "email\na@example.com\n";

  it("missing → 600, query or form token → 601, unknown token → 601", async () => {
    expect(errorOf((await submit("/bulk/v1/leads.json", file, {}, {})).body)).toEqual({
      code: "600",
      message: "Access token missing",
    });
    const queryMessage = "access_token query parameter is not supported; send Authorization: Bearer";
    expect(errorOf((await submit(`/bulk/v1/leads.json?access_token=${token}`, file, {}, {})).body)).toEqual({
      code: "601",
      message: queryMessage,
    });
    expect(errorOf((await submit("/bulk/v1/leads.json", file, { access_token: token }, bearer())).body)?.code).toBe(
      "601",
    );
    expect(errorOf((await submit("/bulk/v1/leads.json", file, {}, { authorization: "Bearer nope" })).body)).toEqual({
      code: "601",
      message: "Access token invalid",
    });
    expect(errorOf(await getJson(leadStatus(1), {}))?.code).toBe("600");
    expect(sim.bulkJobs).toHaveLength(0);
  });

  it("expired token → 602", async () => {
    sim.expireTokens();
    const { status, body } = await submit("/bulk/v1/leads.json", file);
    expect(status).toBe(200);
    expect(errorOf(body)).toEqual({ code: "602", message: "Access token expired" });
  });
});

describe("faults on bulk paths", () => {
  const file = "email\na@example.com\n";

  it("failJob: the next job created on the path ends Failed with the message; the one after is fine", async () => {
    sim.injectFault({ kind: "failJob", message: "Import failed: boom" });
    const status = await getJson(leadStatus(1));
    expect(errorOf(status)?.code).toBe("1013");
    const failed = batchIdOf((await submit("/bulk/v1/leads.json", file)).body);
    const ok = batchIdOf((await submit("/bulk/v1/leads.json", file)).body);
    expect(await finished(leadStatus(failed))).toMatchObject({
      status: "Failed",
      message: "Import failed: boom",
      numOfLeadsProcessed: 0,
    });
    expect((await finished(leadStatus(ok))).status).toBe("Complete");
    expect(sim.persons()).toEqual([expect.objectContaining({ writes: 1, lastRequestId: String(ok) })]);
  });

  it("restError 1029 → HTTP 200 envelope, no job; the next submit is accepted", async () => {
    sim.injectFault({ kind: "restError", code: "1029" });
    const refused = await submit("/bulk/v1/leads.json", file);
    expect(refused.status).toBe(200);
    expect(refused.body).toMatchObject({
      success: false,
      errors: [{ code: "1029", message: "Too many jobs in queue" }],
    });
    expect(typeof refused.body.requestId).toBe("string");
    expect((await submit("/bulk/v1/leads.json", file)).body.success).toBe(true);
    expect(sim.bulkLog.filter((e) => e.event !== "started").map((e) => [e.event, e.code])).toEqual([
      ["rejected", "1029"],
      ["submitted", undefined],
    ]);
  });

  it("status fault answers that HTTP status; a Data Ingestion call does not consume a bulk restError", async () => {
    sim.injectFault({ kind: "restError", code: "606" });
    sim.injectFault({ kind: "status", status: 503, path: "/bulk/v1/" });
    const ingestion = await fetch(`${sim.ingestionUrl}/subscriptions/${sim.munchkinId}/persons`, {
      method: "POST",
      headers: { "content-type": "application/json", "x-mkto-user-token": token },
      body: JSON.stringify({ persons: [{ email: "a@example.com" }] }),
    });
    expect(ingestion.status).toBe(202);
    expect(errorOf((await submit("/bulk/v1/leads.json", file)).body)?.code).toBe("606");
    const unavailable = await submit("/bulk/v1/leads.json", file);
    expect(unavailable.status).toBe(503);
    expect(errorOf(unavailable.body)?.code).toBe("503");
  });
});

describe("reset", () => {
  it("clears jobs, log and bulk program members; batchIds keep counting", async () => {
    const first = batchIdOf(
      (await submit("/bulk/v1/program/5/members/import.json", "email\na@example.com\n", { programMemberStatus: "x" }))
        .body,
    );
    await finished(`/bulk/v1/program/members/import/${first}/status.json`);
    sim.reset();
    expect([sim.bulkJobs.length, sim.bulkLog.length, sim.bulkProgramMembers().length]).toEqual([0, 0, 0]);
    token = await tokenFor(sim);
    expect(batchIdOf((await submit("/bulk/v1/leads.json", "email\nb@example.com\n")).body)).toBeGreaterThan(first);
  });
});
