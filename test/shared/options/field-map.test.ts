import { describe, expect, it } from "vitest";
import { checkDefaultOptions, resolveTarget } from "../../../shared/options/file-options.ts";
import { bulkRouteForKey } from "../../../shared/options/bulk-route.ts";
import { routeForObjectName } from "../../../shared/options/object-route.ts";

describe("fieldMap option layers", () => {
  it("comes from stack defaults, sidecar or metadata (metadata wins), for Data Ingestion and bulk routes alike", () => {
    const defaults = { persons: { fieldMap: { "E-mail": "email" } } };
    expect(resolveTarget(routeForObjectName("persons"), { defaults }).fieldMap).toEqual({ "E-mail": "email" });
    const layered = resolveTarget(routeForObjectName("persons"), {
      defaults,
      sidecar: { fieldMap: { Mail: "email" } },
      metadata: { "field-map": '{"Notes":null}' },
    });
    expect(layered.fieldMap).toEqual({ Notes: null });
    const bulk = resolveTarget(bulkRouteForKey("bulk/leads/x.csv"), { sidecar: { fieldMap: { Score: "leadScore" } } });
    expect(bulk).toMatchObject({ kind: "bulk", fieldMap: { Score: "leadScore" } });
    // Not a job parameter: nothing of it reaches the import request's form fields.
    expect(bulk.options).not.toHaveProperty("fieldMap");
    expect(resolveTarget(routeForObjectName("persons"), {})).not.toHaveProperty("fieldMap");
  });

  it("an invalid stack default fails the synth check, naming the option", () => {
    expect(() =>
      checkDefaultOptions({ companies: { fieldMap: { Name: 42 } } } as never, (type) => routeForObjectName(type)),
    ).toThrow(/stack default options for companies: fieldMap/);
  });
});
