import { describe, expect, it } from "vitest";
import { useHarness } from "./harness.ts";

const h = useHarness();

describe("fieldMap: a file's columns renamed or dropped before any rule reads them, for every route", () => {
  it("Data Ingestion persons: a sidecar fieldMap renames a column, drops another, and the report says so", async () => {
    const result = await h().run(
      "persons/mapped.csv",
      "Email Address,First,Internal Notes\r\nann@example.com,Ann,vip\r\nbo@example.com,Bo,call back\r\n",
      {
        sidecar: JSON.stringify({ fieldMap: { "Email Address": "email", First: "firstName", "Internal Notes": null } }),
      },
    );
    expect(result.summary).toMatchObject({ status: "complete", rowsRead: 2, accepted: 2 });
    expect(
      h()
        .sim.persons()
        .map((p) => p.fields),
    ).toEqual([
      { email: "ann@example.com", firstName: "Ann" },
      { email: "bo@example.com", firstName: "Bo" },
    ]);
    expect(result.manifest?.options).toMatchObject({
      fieldMap: { "Email Address": "email", First: "firstName", "Internal Notes": null },
    });
  });

  it("field types and dedupe fields name the mapped field; metadata carries the map as JSON", async () => {
    const result = await h().run("customobjects/car_c/mapped.csv", "VIN Number,Year\r\nV1,2003\r\n", {
      metadata: { "field-map": '{"VIN Number":"vin","Year":"year"}', "field-types": "year:integer" },
    });
    expect(result.summary).toMatchObject({ status: "complete", accepted: 1 });
    expect(
      h()
        .sim.customObjects("car_c")
        .map((c) => c.fields),
    ).toEqual([{ vin: "V1", year: 2003 }]);
  });

  it("Bulk Import: the part's header carries the mapped names, the dropped column is not submitted", async () => {
    const result = await h().run("bulk/leads/mapped.csv", "E-mail,Score,Secret\r\nann@example.com,10,x\r\n", {
      sidecar: JSON.stringify({ fieldMap: { "E-mail": "email", Score: "leadScore", Secret: "" } }),
    });
    expect(result.summary).toMatchObject({ status: "complete", accepted: 1 });
    expect(
      h()
        .sim.persons()
        .map((p) => p.fields),
    ).toEqual([{ email: "ann@example.com", leadScore: "10" }]);
  });

  it("two columns mapped to one name reject the whole file before anything is sent", async () => {
    const result = await h().run("persons/clash.csv", "Email Address,email\r\nann@example.com,bo@example.com\r\n", {
      sidecar: JSON.stringify({ fieldMap: { "Email Address": "email" } }),
    });
    expect(result.manifest).toMatchObject({
      status: "rejected",
      error: {
        code: "INVALID_OPTIONS",
        message: 'fieldMap: columns "Email Address" and "email" would both be sent as email',
      },
    });
    expect(h().sim.requests).toHaveLength(0);
  });

  it("a fieldMap that is not a map of names is an invalid option, named with its source", async () => {
    const result = await h().run("persons/bad-map.csv", "email\r\na@example.com\r\n", {
      metadata: { "field-map": "Email Address=email" },
    });
    expect(result.manifest).toMatchObject({ status: "rejected", error: { code: "INVALID_OPTIONS" } });
    expect(result.manifest?.error?.message).toMatch(/S3 object metadata: fieldMap.*not valid JSON/);
  });
});
