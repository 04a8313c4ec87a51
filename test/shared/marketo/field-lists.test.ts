import { describe, expect, it } from "vitest";
import { CachedFieldLists } from "../../../shared/marketo/field-lists.ts";
import type { MarketoField } from "../../../shared/marketo/describe-client.ts";
import { bulkRouteForKey } from "../../../shared/options/bulk-route.ts";
import { routeForObjectName } from "../../../shared/options/object-route.ts";
import { FakeClock } from "../../support/fake-clock.ts";

const EMAIL: MarketoField = { name: "email", dataType: "email" };

function listsWith(answer: (path: string) => Promise<MarketoField[]>) {
  const clock = new FakeClock();
  const asked: string[] = [];
  const lists = new CachedFieldLists(
    (path) => {
      asked.push(path);
      return answer(path);
    },
    { ttlMs: 60_000, clock },
  );
  return { clock, asked, lists };
}

describe("Marketo's field lists, cached per container", () => {
  it("asks once per describe path within the TTL, and again once it has passed", async () => {
    const { clock, asked, lists } = listsWith(async () => [EMAIL]);
    await lists.fieldsFor(routeForObjectName("persons"));
    clock.advance(59_999);
    expect(await lists.fieldsFor(bulkRouteForKey("bulk/leads/x.csv"))).toEqual([EMAIL]); // the same lead fields
    expect(asked).toEqual(["/rest/v1/leads/describe2.json"]);
    clock.advance(1);
    await lists.fieldsFor(routeForObjectName("persons"));
    expect(asked).toHaveLength(2);
  });

  it("keeps no failure: the next file asks Marketo again", async () => {
    let fail = true;
    const { asked, lists } = listsWith(async () => {
      if (fail) throw new Error("503");
      return [EMAIL];
    });
    await expect(lists.fieldsFor(routeForObjectName("persons"))).rejects.toThrow("503");
    fail = false;
    expect(await lists.fieldsFor(routeForObjectName("persons"))).toEqual([EMAIL]);
    expect(asked).toHaveLength(2);
  });
});
