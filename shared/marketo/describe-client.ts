import { type Dispatcher, fetch } from "undici";
import { z } from "zod";
import { type BulkRoute } from "../options/bulk-route.ts";
import type { ObjectRoute } from "../options/object-route.ts";
import type { Clock } from "../time/clock.ts";
import { failureOf, parseEnvelope } from "./bulk-import-client.ts";
import type { MarketoEndpoints } from "./endpoints.ts";
import { transportFailure } from "./errors.ts";
import type { TokenProvider } from "./token-provider.ts";
import { callWithToken } from "./with-token.ts";

/** One field of a Marketo object, as the REST describe endpoints list it. */
export const MarketoFieldSchema = z.object({
  name: z.string().min(1),
  dataType: z.string(),
  length: z.number().int().optional(),
  updateable: z.boolean().optional(),
});
export type MarketoField = z.infer<typeof MarketoFieldSchema>;

const DescribeResultSchema = z.object({ fields: z.array(MarketoFieldSchema) });

const LEADS = "/rest/v1/leads/describe2.json";
const PROGRAM_MEMBERS = "/rest/v1/programs/members/describe.json";

/**
 * The describe endpoints whose fields a file's columns may name: leads (describe2, the REST names Data Ingestion
 * and Bulk Import take), companies, program members (a bulk program member import also takes lead fields), one
 * custom object. Lists have none: their rows name leads and lists by id, not fields.
 */
export function describePathsFor(route: ObjectRoute | BulkRoute): string[] {
  if ("target" in route) {
    if (route.target === "leads") return [LEADS];
    if (route.target === "programmembers") return [PROGRAM_MEMBERS, LEADS];
    return [customObjectPath(route.apiName)];
  }
  switch (route.objectType) {
    case "persons":
      return [LEADS];
    case "companies":
      return ["/rest/v1/companies/describe.json"];
    case "programmembers":
    case "programmembers/delete":
      return [PROGRAM_MEMBERS];
    case "customobjects":
      return [customObjectPath(route.apiName as string)];
    default:
      return [];
  }
}

const customObjectPath = (apiName: string) => `/rest/v1/customobjects/${encodeURIComponent(apiName)}/describe.json`;

export interface DescribeClientDeps {
  endpoints: Pick<MarketoEndpoints, "restUrl">;
  tokens: TokenProvider;
  dispatcher: Dispatcher;
  clock: Clock;
}

/** GET a describe endpoint (`Authorization: Bearer`): the object's fields. Errors carry Marketo's REST code. */
export async function describeFields(deps: DescribeClientDeps, path: string): Promise<MarketoField[]> {
  return callWithToken(deps.tokens, async (token) => {
    let response: Awaited<ReturnType<typeof fetch>>;
    try {
      response = await fetch(`${deps.endpoints.restUrl}${path}`, {
        headers: { authorization: `Bearer ${token}`, accept: "application/json" },
        dispatcher: deps.dispatcher,
      });
    } catch (error) {
      throw transportFailure(`GET ${path}`, error);
    }
    const text = await response.text();
    const envelope = response.status === 200 ? parseEnvelope(text) : undefined;
    if (!envelope || envelope.success !== true) throw failureOf(response, text, "GET", path, deps.clock.now());
    const [first] = envelope.result ?? [];
    return DescribeResultSchema.parse(first).fields;
  });
}
