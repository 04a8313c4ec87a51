import { describe, expect, it } from "vitest";
import { checkDefaultOptions, resolveTarget } from "../../../shared/options/file-options.ts";
import { bulkRouteForKey } from "../../../shared/options/bulk-route.ts";
import { routeForObjectName } from "../../../shared/options/object-route.ts";

describe("fieldCheck option", () => {
  it("reject, from the stack default, sidecar or metadata (metadata wins, `off` turns a default off)", () => {
    const defaults = { persons: { fieldCheck: "reject" as const } };
    expect(resolveTarget(routeForObjectName("persons"), { defaults }).fieldCheck).toBe("reject");
    expect(
      resolveTarget(routeForObjectName("persons"), { defaults, metadata: { "field-check": "off" } }),
    ).not.toHaveProperty("fieldCheck");
    expect(resolveTarget(bulkRouteForKey("bulk/leads/x.csv"), { sidecar: { fieldCheck: "REJECT" } }).fieldCheck).toBe(
      "reject",
    );
    expect(resolveTarget(routeForObjectName("companies"), {})).not.toHaveProperty("fieldCheck");
  });

  it("any other value, or a list file (whose rows name ids, not fields), is an invalid option", () => {
    expect(() => resolveTarget(routeForObjectName("persons"), { sidecar: { fieldCheck: "warn" } })).toThrow(
      /fieldCheck must be reject or off/,
    );
    expect(() => resolveTarget(routeForObjectName("lists"), { sidecar: { fieldCheck: "reject", listId: 1 } })).toThrow(
      /fieldCheck/,
    );
    expect(() =>
      checkDefaultOptions({ persons: { fieldCheck: "maybe" } } as never, (type) => routeForObjectName(type)),
    ).toThrow(/stack default options for persons: fieldCheck/);
  });
});
