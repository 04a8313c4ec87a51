import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { type MarketoSimulator, startMarketoSimulator } from "../../../local/marketo-simulator/index.ts";

/** The simulator's rules for the endpoints other than /persons, from Adobe's Data Ingestion API reference, over real HTTP. */
let sim: MarketoSimulator;
let token: string;

beforeAll(async () => {
  sim = await startMarketoSimulator({ maxLifetimeMs: 60_000, customObjectDedupeFields: { car_c: ["vin"] } });
  const url = `${sim.identityUrl}/oauth/token?grant_type=client_credentials&client_id=${sim.clientId}&client_secret=${sim.clientSecret}`;
  token = ((await (await fetch(url)).json()) as { access_token: string }).access_token;
});
afterAll(() => sim.close());
beforeEach(() => sim.reset());

async function post(resource: string, body: unknown) {
  const response = await fetch(`${sim.ingestionUrl}/subscriptions/${sim.munchkinId}/${resource}`, {
    method: "POST",
    headers: { "content-type": "application/json", "x-mkto-user-token": token },
    body: JSON.stringify(body),
  });
  const text = await response.text();
  return {
    status: response.status,
    body: text ? (JSON.parse(text) as { error_code: string; message: string }) : undefined,
  };
}

const leads = (n: number, from = 1) => Array.from({ length: n }, (_, i) => ({ leadId: from + i }));

describe("POST /customobjects/{apiName}", () => {
  it.each([
    [{ customObjects: [{ vin: "1" }] }, 202],
    [{ dedupeBy: "dedupeFields", priority: "high", customObjects: [{ vin: "1" }] }, 202],
    [{ dedupeBy: "marketoGUID", customObjects: [{ marketoGUID: "g-1" }] }, 202],
    [{ dedupeBy: "idField", customObjects: [{ vin: "1" }] }, 400],
    [{ priority: "urgent", customObjects: [{ vin: "1" }] }, 400],
    [{ customObjects: [] }, 400],
    [{}, 400],
    [{ customObjects: Array.from({ length: 1001 }, (_, i) => ({ vin: String(i) })) }, 400],
  ])("%j → %i", async (body, status) => {
    const response = await post("customobjects/car_c", body);
    expect(response.status).toBe(status);
    if (status === 400) expect(response.body?.error_code).toBe("4000802");
  });

  it("upserts by the object's dedupe fields, per object type", async () => {
    await post("customobjects/car_c", { customObjects: [{ vin: "V1", make: "BMW" }] });
    await post("customobjects/car_c", { customObjects: [{ vin: "V1", model: "330i" }] });
    await post("customobjects/boat_c", { customObjects: [{ hull: "H1" }] });
    expect(sim.customObjects("car_c")).toEqual([
      expect.objectContaining({ fields: { vin: "V1", make: "BMW", model: "330i" }, writes: 2 }),
    ]);
    expect(sim.customObjects("boat_c")).toHaveLength(1);
  });
});

describe("POST /companies: the validation rules table", () => {
  it.each([
    ["default action and dedupeBy", { input: [{ externalCompanyId: "e1" }] }, 202],
    ["companies alias for input", { companies: [{ externalCompanyId: "e1" }] }, 202],
    ["action is case-sensitive", { action: "CreateOnly", input: [{ externalCompanyId: "e1" }] }, 400],
    ["unknown action", { action: "upsert", input: [{ externalCompanyId: "e1" }] }, 400],
    ["dedupeBy is case-insensitive", { action: "updateOnly", dedupeBy: "IDFIELD", input: [{ id: 5 }] }, 202],
    ["unknown dedupeBy", { dedupeBy: "name", input: [{ externalCompanyId: "e1" }] }, 400],
    ["idField with createOnly", { action: "createOnly", dedupeBy: "idField", input: [{ id: 5 }] }, 400],
    ["idField with createOrUpdate", { action: "createOrUpdate", dedupeBy: "idField", input: [{ id: 5 }] }, 400],
    ["dedupeFields needs externalCompanyId", { input: [{ company: "Acme" }] }, 400],
    ["dedupeFields forbids id", { input: [{ externalCompanyId: "e1", id: 5 }] }, 400],
    ["field names are case-insensitive", { input: [{ ExternalCompanyId: "e1" }] }, 202],
    ["idField needs id", { action: "updateOnly", dedupeBy: "idField", input: [{ company: "Acme" }] }, 400],
    ["idField needs an integer id", { action: "updateOnly", dedupeBy: "idField", input: [{ id: "5" }] }, 400],
    [
      "idField forbids externalCompanyId",
      { action: "updateOnly", dedupeBy: "idField", input: [{ id: 5, externalCompanyId: "e" }] },
      400,
    ],
    ["input must not be empty", { input: [] }, 400],
    [
      "at most 1,000 companies",
      { input: Array.from({ length: 1001 }, (_, i) => ({ externalCompanyId: `e${i}` })) },
      400,
    ],
  ])("%s", async (_rule, body, status) => {
    expect((await post("companies", body)).status).toBe(status);
  });

  it("identifies a company by externalCompanyId whatever the case of the field name", async () => {
    await post("companies", { input: [{ externalCompanyId: "ext-1" }] });
    await post("companies", { input: [{ ExternalCompanyId: "ext-1" }] });
    await post("companies", { input: [{ EXTERNALCOMPANYID: "ext-2" }] });
    expect(sim.companies().map((c) => c.writes)).toEqual([2, 1]);
  });

  it("createOnly never overwrites and updateOnly never creates", async () => {
    await post("companies", { action: "createOnly", input: [{ externalCompanyId: "e1", company: "Acme" }] });
    await post("companies", { action: "createOnly", input: [{ externalCompanyId: "e1", company: "Changed" }] });
    await post("companies", { action: "updateOnly", input: [{ externalCompanyId: "e2", company: "Ghost" }] });
    expect(sim.companies().map((c) => c.fields)).toEqual([{ externalCompanyId: "e1", company: "Acme" }]);
  });
});

describe("POST /programmembers and /programmembers/delete", () => {
  it.each([
    ["status", { programs: [{ programId: 1, status: "Member", members: leads(2) }] }, 202],
    ["statusName alias", { programs: [{ programId: 1, statusName: "Member", members: leads(2) }] }, 202],
    ["input alias for members", { programs: [{ programId: 1, status: "Member", input: leads(2) }] }, 202],
    ["Not in Program", { programs: [{ programId: 1, status: "Not in Program", members: leads(1) }] }, 400],
    ["not in program, any case", { programs: [{ programId: 1, status: "NOT IN PROGRAM", members: leads(1) }] }, 400],
    ["blank status", { programs: [{ programId: 1, status: " ", members: leads(1) }] }, 400],
    ["missing status", { programs: [{ programId: 1, members: leads(1) }] }, 400],
    ["programId 0", { programs: [{ programId: 0, status: "Member", members: leads(1) }] }, 400],
    ["programId as text", { programs: [{ programId: "1", status: "Member", members: leads(1) }] }, 400],
    ["programId 1.5", { programs: [{ programId: 1.5, status: "Member", members: leads(1) }] }, 400],
    ["empty members", { programs: [{ programId: 1, status: "Member", members: [] }] }, 400],
    ["member without leadId", { programs: [{ programId: 1, status: "Member", members: [{ note: "x" }] }] }, 400],
    ["empty programs", { programs: [] }, 400],
    [
      "1,000 leads across programs",
      {
        programs: [
          { programId: 1, status: "Member", members: leads(500) },
          { programId: 2, status: "Member", members: leads(500) },
        ],
      },
      202,
    ],
    [
      "1,001 leads across programs",
      {
        programs: [
          { programId: 1, status: "Member", members: leads(500) },
          { programId: 2, status: "Member", members: leads(501) },
        ],
      },
      400,
    ],
  ])("sync: %s", async (_rule, body, status) => {
    expect((await post("programmembers", body)).status).toBe(status);
  });

  it('refuses "Not in Program" with a pointer to the delete endpoint', async () => {
    const response = await post("programmembers", {
      programs: [{ programId: 1, status: "not in program", members: leads(1) }],
    });
    expect(response.body).toEqual({ error_code: "4000802", message: expect.stringMatching(/delete endpoint/) });
  });

  it("sync stores members with their status; delete removes exactly the listed ones", async () => {
    await post("programmembers", { programs: [{ programId: 7, status: "Member", members: leads(3) }] });
    expect(sim.programMembers().map((m) => [m.programId, m.leadId, m.status])).toEqual([
      [7, 1, "Member"],
      [7, 2, "Member"],
      [7, 3, "Member"],
    ]);
    expect(
      (await post("programmembers/delete", { programs: [{ programId: 7, members: [{ leadId: 2 }] }] })).status,
    ).toBe(202);
    expect(sim.programMembers().map((m) => m.leadId)).toEqual([1, 3]);
  });

  it.each([
    [{ programs: [{ programId: 7, members: leads(1000) }] }, 202],
    [{ programs: [{ programId: 7, input: leads(1) }] }, 202],
    [{ programs: [{ programId: 7, members: leads(1001) }] }, 400],
    [{ programs: [{ programId: -7, members: leads(1) }] }, 400],
    [{ programs: [{ programId: 7, members: [{}] }] }, 400],
    [{ programs: [] }, 400],
  ])("delete %#: → %i", async (body, status) => {
    expect((await post("programmembers/delete", body)).status).toBe(status);
  });
});

describe("POST /lists and /lists/remove: the validation rules table", () => {
  const invalidData = "4000802";
  const badRequest = "4000801";

  describe.each(["lists", "lists/remove"])("%s", (resource) => {
    it.each([
      ["leads", 202, "", { listId: 1001, leads: leads(3) }],
      ["input alias for leads", 202, "", { listId: 1001, input: leads(3) }],
      ["id alias for leadId", 202, "", { listId: 1001, leads: [{ id: 5 }] }],
      ["leadId and id that agree", 202, "", { listId: 1001, leads: [{ leadId: 5, id: 5 }] }],
      ["1,000 leads", 202, "", { listId: 1001, leads: leads(1000) }],
      ["1,001 leads", 400, invalidData, { listId: 1001, leads: leads(1001) }],
      ["missing listId", 400, invalidData, { leads: leads(1) }],
      ["listId 0", 400, invalidData, { listId: 0, leads: leads(1) }],
      ["negative listId", 400, invalidData, { listId: -3, leads: leads(1) }],
      ["listId 1.5", 400, invalidData, { listId: 1.5, leads: leads(1) }],
      ["listId as text", 400, invalidData, { listId: "1001", leads: leads(1) }],
      ["missing leads", 400, invalidData, { listId: 1001 }],
      ["empty leads", 400, invalidData, { listId: 1001, leads: [] }],
      ["leads not an array", 400, invalidData, { listId: 1001, leads: { leadId: 1 } }],
      ["a lead that is not an object", 400, invalidData, { listId: 1001, leads: [7] }],
      ["a lead without leadId", 400, invalidData, { listId: 1001, leads: [{}] }],
      ["leadId 0", 400, invalidData, { listId: 1001, leads: [{ leadId: 0 }] }],
      ["leadId as text", 400, invalidData, { listId: 1001, leads: [{ leadId: "5" }] }],
      ["leadId 2.5", 400, invalidData, { listId: 1001, leads: [{ leadId: 2.5 }] }],
      ["leadId and id that disagree", 400, invalidData, { listId: 1001, leads: [{ leadId: 5, id: 6 }] }],
      ["an unknown member of the body", 400, badRequest, { listId: 1001, leads: leads(1), priority: "high" }],
      ["an unknown member of a lead", 400, badRequest, { listId: 1001, leads: [{ leadId: 1, email: "a@x.io" }] }],
      ["both leads and input", 400, badRequest, { listId: 1001, leads: leads(1), input: leads(1) }],
    ])("%s → %i %s", async (_rule, status, errorCode, body) => {
      const response = await post(resource, body);
      expect(response.status).toBe(status);
      expect(response.body?.error_code ?? "").toBe(errorCode);
      // Logged under its own endpoint, so tests can tell list calls from the others.
      expect(sim.requests.at(-1)).toMatchObject({ endpoint: resource, status });
    });
  });

  it("answers 202 with an empty body and X-Request-Id", async () => {
    const response = await fetch(`${sim.ingestionUrl}/subscriptions/${sim.munchkinId}/lists`, {
      method: "POST",
      headers: { "content-type": "application/json", "x-mkto-user-token": token },
      body: JSON.stringify({ listId: 1001, leads: leads(2) }),
    });
    expect(response.status).toBe(202);
    expect(await response.text()).toBe("");
    expect(response.headers.get("x-request-id")).toBe(sim.requests.at(-1)?.requestId);
    expect(sim.requests.at(-1)).toMatchObject({ endpoint: "lists", objectCount: 2 });
  });

  it("a refused request changes no membership", async () => {
    await post("lists", { listId: 1001, leads: [{ leadId: 1 }, { leadId: 2, note: "x" }] });
    expect(sim.listMembers()).toEqual([]);
  });

  it("adds leads to each list and removes exactly the listed ones from the named list", async () => {
    await post("lists", { listId: 7, leads: leads(3) });
    await post("lists", { listId: 8, input: [{ id: 1 }] });
    await post("lists", { listId: 7, leads: [{ leadId: 3 }] });
    expect(sim.listMembers().map((m) => [m.listId, m.leadId, m.writes])).toEqual([
      [7, 1, 1],
      [7, 2, 1],
      [7, 3, 2],
      [8, 1, 1],
    ]);

    expect((await post("lists/remove", { listId: 7, leads: [{ leadId: 1 }, { id: 3 }] })).status).toBe(202);
    expect(sim.listMembers().map((m) => m.key)).toEqual(["7:2", "8:1"]);
    // Removing a lead that is not on the list is accepted and changes nothing.
    expect((await post("lists/remove", { listId: 8, leads: [{ leadId: 99 }] })).status).toBe(202);
    expect(sim.listMembers().map((m) => m.key)).toEqual(["7:2", "8:1"]);
  });
});
