import { describe, expect, it } from "vitest";
import { useHarness } from "./harness.ts";

const h = useHarness();

describe("reader limits come from the splitter's settings", () => {
  it("MAX_COLUMNS: a file wider than the limit is rejected with the limit named, and nothing is sent", async () => {
    const csv = "email,firstName,lastName,company\na@x.io,Ann,Lee,Acme\n";
    const result = await h().run("persons/wide.csv", csv, { splitterEnv: { MAX_COLUMNS: "3" } });

    expect(result.manifest).toMatchObject({ status: "rejected", error: { code: "TOO_MANY_COLUMNS", line: 1 } });
    expect(result.manifest?.error?.message).toMatch(/more than 3 columns \(limit MAX_COLUMNS\)/);
    expect(h().sim.requests).toHaveLength(0);
  });

  it("the same file under the default limits goes through", async () => {
    const csv = "email,firstName,lastName,company\na@x.io,Ann,Lee,Acme\n";
    const result = await h().run("persons/wide-ok.csv", csv);

    expect(result.summary).toMatchObject({ status: "complete", rowsRead: 1, accepted: 1 });
  });
});
