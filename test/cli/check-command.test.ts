import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { type MarketoSimulator, startMarketoSimulator } from "../../local/marketo-simulator/index.ts";
import { runCli, withoutMarketo } from "../support/cli-process.ts";

const cli = (args: string[], env: Record<string, string> = {}) => runCli(args, { ...withoutMarketo(), ...env });

const credentialsOf = (sim: MarketoSimulator) => ({
  MARKETO_CLIENT_ID: sim.clientId,
  MARKETO_CLIENT_SECRET: sim.clientSecret,
  MARKETO_MUNCHKIN_ID: sim.munchkinId,
  MARKETO_IDENTITY_URL: sim.identityUrl,
  MARKETO_INGESTION_URL: sim.ingestionUrl,
  MARKETO_REST_URL: sim.restUrl,
});

let dir: string;
let sim: MarketoSimulator;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "marketo-ingest-check-"));
  sim = await startMarketoSimulator({ maxLifetimeMs: 120_000 });
});
afterEach(() => sim.reset());
afterAll(async () => {
  await sim.close();
  await rm(dir, { recursive: true, force: true });
});

describe("marketo-ingest check (pre-flight)", () => {
  it("plans exactly the requests and bytes that run then sends, and sends nothing itself", async () => {
    const file = join(dir, "many.csv");
    const rows = Array.from({ length: 2_345 }, (_, i) => `p${i}@example.com,Name ${i}`);
    await writeFile(file, `email,firstName\n${rows.join("\n")}\n`);

    const checked = await cli(["check", file, "--object", "persons", "--json"], credentialsOf(sim));
    expect(checked.code).toBe(0);
    const plan = JSON.parse(checked.stdout) as {
      requests: number;
      bytes: number;
      rowsRead: number;
      rowsToSend: number;
    };
    expect(plan).toMatchObject({ requests: 3, rowsRead: 2_345, rowsToSend: 2_345 });
    expect(sim.requests).toHaveLength(0); // describe is not an ingestion request, and nothing else was called

    const ran = await cli(["run", file, "--object", "persons"], credentialsOf(sim));
    expect(ran.code).toBe(0);
    const sent = sim.requests.filter((r) => r.status === 202);
    expect(sent).toHaveLength(plan.requests);
    expect(sent.reduce((sum, r) => sum + r.bodyBytes, 0)).toBe(plan.bytes);
  }, 90_000);

  it("without credentials: the plan with rejected rows and their reasons, and a note that fields were not compared", async () => {
    const file = join(dir, "rejects.csv");
    await writeFile(file, "email,firstName\na@example.com,Ann\n,NoEmail\nc@example.com,Cy,extra\n");
    const { code, stdout } = await cli(["check", file, "--object", "persons"]);
    expect(code).toBe(1);
    expect(stdout).toContain("check persons/rejects.csv: persons — nothing sent");
    expect(stdout).toMatch(/rows read 3 · to send 1 in 1 request \(\d+ bytes, largest \d+\) · rejected 2/);
    expect(stdout).toContain("  ✗ 1 row: email is required: it is a dedupe field (email) (row 2)");
    expect(stdout).toContain("  ✗ 1 row: row has 3 fields but the header has 2 (row 3)");
    expect(stdout).toContain("fields: not compared with Marketo");
    expect(stdout).not.toContain("a@example.com");
  });

  it("with credentials: a misspelled column and a value of the wrong type are named, with the field meant", async () => {
    const file = join(dir, "misspelled.csv");
    await writeFile(file, "Email Address,frstName,leadScore,Notes\na@example.com,Ann,10,x\nb@example.com,Bo,ten,y\n");
    const { code, stdout } = await cli(
      ["check", file, "--object", "persons", "--field-map", '{"Email Address":"email","Notes":null}'],
      credentialsOf(sim),
    );
    expect(code).toBe(1);
    expect(stdout).toMatch(/rows read 2 · to send 2 in 1 request/);
    expect(stdout).toContain("fields (Marketo 123-ABC-456): 3 columns · 1 unknown · 1 with values of the wrong type");
    expect(stdout).toContain("  ✗ frstName: no such field in Marketo (did you mean firstName?)");
    expect(stdout).toContain("  ✗ leadScore: 1 row not a whole number (Marketo type integer; row 2)");
    expect(stdout).not.toMatch(/Email Address|Notes:|ten/); // mapped names only; never a value
  });

  it("with credentials: a clean file exits 0; each object type asks its own describe endpoint", async () => {
    const cars = join(dir, "cars.csv");
    await writeFile(cars, "vin,year\nV1,2003\n");
    const clean = await cli(["check", cars, "--object", "customobjects/car_c"], credentialsOf(sim));
    expect(clean.stdout).toContain("fields (Marketo 123-ABC-456): 2 columns · 0 unknown · 0 with values");
    expect(clean.code).toBe(0);

    const companies = join(dir, "companies.csv");
    await writeFile(companies, "externalCompanyId,company,numberOfEmployees,industy\nC1,Acme,many,Tools\n");
    const co = await cli(["check", companies, "--object", "companies"], credentialsOf(sim));
    expect(co.code).toBe(1);
    expect(co.stdout).toContain("  ✗ industy: no such field in Marketo (did you mean industry?)");
    expect(co.stdout).toContain("  ✗ numberOfEmployees: 1 row not a whole number");

    const members = join(dir, "members.csv");
    await writeFile(members, "programId,leadId,status,reachedSuccess\n1001,7,Registered,perhaps\n");
    const pm = await cli(["check", members, "--object", "programmembers"], credentialsOf(sim));
    expect(pm.stdout).toContain("  ✗ reachedSuccess: 1 row not true or false (Marketo type boolean; row 1)");

    const boats = join(dir, "boats.csv");
    await writeFile(boats, "hull\nH1\n");
    const unknownObject = await cli(["check", boats, "--object", "customobjects/boat_c"], credentialsOf(sim));
    expect(unknownObject.code).toBe(1);
    expect(unknownObject.stdout).toContain("fields: ✗ could not read Marketo's field list");
    expect(unknownObject.stdout).toContain("1013 Object not found");
  }, 60_000);

  it("bulk: plans import files; a file rejected whole says why and that nothing would be sent", async () => {
    const file = join(dir, "bulk.csv");
    await writeFile(file, "email,leadScore\na@example.com,1\nb@example.com,2\n");
    const bulk = await cli(["check", file, "--object", "bulk/leads", "--lookup-field", "email"]);
    expect(bulk.stdout).toContain("check bulk/leads/bulk.csv: bulk/leads (Bulk Import) — nothing sent");
    expect(bulk.stdout).toMatch(/rows read 2 · to send 2 in 1 import file \(\d+ bytes/);

    const badOption = await cli(["check", file, "--object", "companies", "--action", "CreateOnly"]);
    expect(badOption.code).toBe(1);
    expect(badOption.stdout).toMatch(/file rejected: INVALID_OPTIONS: .*case-sensitive.*; nothing of it would be sent/);

    const usage = await cli(["check", file]);
    expect(usage.code).toBe(2);
    expect(usage.stderr).toContain("check needs a FILE and --object");
  }, 60_000);
});
