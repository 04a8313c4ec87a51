import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type MarketoSimulator, startMarketoSimulator } from "../../../local/marketo-simulator/index.ts";

let sim: MarketoSimulator;
beforeAll(async () => {
  sim = await startMarketoSimulator({
    maxLifetimeMs: 60_000,
    schemas: { customObjects: { boat_c: [{ name: "hull", dataType: "string", length: 20 }] } },
  });
});
afterAll(() => sim.close());

async function token(): Promise<string> {
  const answer = await fetch(
    `${sim.identityUrl}/oauth/token?grant_type=client_credentials&client_id=${sim.clientId}&client_secret=${sim.clientSecret}`,
  );
  return ((await answer.json()) as { access_token: string }).access_token;
}

const describeAt = async (path: string, bearer?: string) => {
  const answer = await fetch(`${sim.restUrl}${path}`, bearer ? { headers: { authorization: `Bearer ${bearer}` } } : {});
  return { status: answer.status, body: (await answer.json()) as Record<string, unknown> };
};

describe("simulator: REST describe endpoints", () => {
  it("answers each object's fields in Marketo's envelope, with the custom objects it was given", async () => {
    const bearer = await token();
    const leads = await describeAt("/rest/v1/leads/describe2.json", bearer);
    expect(leads.status).toBe(200);
    expect(leads.body).toMatchObject({ success: true, result: [{ name: "API Lead" }] });
    const leadFields = (leads.body.result as Array<{ fields: Array<{ name: string; dataType: string }> }>)[0]!.fields;
    expect(leadFields).toContainEqual(expect.objectContaining({ name: "email", dataType: "email" }));

    for (const path of ["/rest/v1/companies/describe.json", "/rest/v1/programs/members/describe.json"]) {
      expect((await describeAt(path, bearer)).body).toMatchObject({ success: true });
    }
    expect((await describeAt("/rest/v1/customobjects/boat_c/describe.json", bearer)).body).toMatchObject({
      success: true,
      result: [{ name: "boat_c", fields: [{ name: "hull", dataType: "string", length: 20 }] }],
    });
  });

  it("refuses an unknown custom object (1013), a missing or unknown token (601) and an expired one (602)", async () => {
    const bearer = await token();
    expect((await describeAt("/rest/v1/customobjects/car_x/describe.json", bearer)).body).toMatchObject({
      success: false,
      errors: [{ code: "1013" }],
    });
    expect((await describeAt("/rest/v1/leads/describe2.json")).body).toMatchObject({ errors: [{ code: "601" }] });
    expect((await describeAt("/rest/v1/leads/describe2.json", "forged")).body).toMatchObject({
      errors: [{ code: "601" }],
    });
    sim.expireTokens();
    expect((await describeAt("/rest/v1/leads/describe2.json", bearer)).body).toMatchObject({
      errors: [{ code: "602" }],
    });
  });
});
