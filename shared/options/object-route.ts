import { InputFileError } from "../parsing/input-file-error.ts";

/** The Data Ingestion object types this deployment sends. */
export const OBJECT_TYPES = [
  "persons",
  "customobjects",
  "companies",
  "programmembers",
  "programmembers/delete",
  "lists",
  "lists/remove",
] as const;
export type ObjectType = (typeof OBJECT_TYPES)[number];

export interface ObjectRoute {
  objectType: ObjectType;
  /** Resource path under `/subscriptions/{munchkinId}/`. */
  resource: string;
  /** Custom object API name (custom objects only). */
  apiName?: string;
}

/** What `--object` and key prefixes accept, for messages. */
export const OBJECT_NAMES =
  "persons, customobjects/{apiName}, companies, programmembers, programmembers/delete, lists, lists/remove";

/**
 * A custom object's API name, as it appears in a key, a message and Marketo's path. Marketo's pages give no
 * pattern (examples: `car_c`, `purchases`); assumed: letters, digits and underscores, starting with a letter,
 * at most 50 characters, which also keeps anything that could change the path (`/`, `.`, `?`, `%`) out of it.
 */
export const API_NAME = /^[A-Za-z][A-Za-z0-9_]{0,49}$/;

/**
 * An object type by name, as `marketo-ingest run --object` takes it: `persons`, `customobjects/{apiName}`,
 * `companies`, `programmembers`, `programmembers/delete`, `lists`, `lists/remove`.
 */
export function routeForObjectName(name: string): ObjectRoute {
  const route = matchRoute(name.split("/"));
  if (!route || route.consumed !== name.split("/").length) {
    throw new InputFileError("UNKNOWN_OBJECT_TYPE", `unknown object type "${name}"; expected one of: ${OBJECT_NAMES}`);
  }
  return route.route;
}

/**
 * A dropped file says what it holds by its key: `persons/2026/leads.csv`, `customobjects/car_c/cars.csv`,
 * `companies/…`, `programmembers/…`, `programmembers/delete/…`, `lists/…`, `lists/remove/…`.
 */
export function routeForObjectKey(key: string): ObjectRoute {
  const segments = key.split("/");
  const match = matchRoute(segments);
  // The key must name a file below the type's prefix, not just the prefix.
  if (!match || segments.length <= match.consumed || segments.slice(match.consumed).join("/") === "") {
    throw new InputFileError(
      "UNKNOWN_OBJECT_TYPE",
      `object key "${key}" does not start with an object type prefix; drop files under one of: ${OBJECT_NAMES.split(
        ", ",
      )
        .map((name) => `${name}/`)
        .join(", ")}`,
    );
  }
  return match.route;
}

function matchRoute(segments: string[]): { route: ObjectRoute; consumed: number } | undefined {
  const [first, second] = segments;
  switch (first) {
    case "persons":
    case "companies":
      return { route: { objectType: first, resource: first }, consumed: 1 };
    case "programmembers":
      return second === "delete"
        ? { route: { objectType: "programmembers/delete", resource: "programmembers/delete" }, consumed: 2 }
        : { route: { objectType: "programmembers", resource: "programmembers" }, consumed: 1 };
    case "lists":
      return second === "remove"
        ? { route: { objectType: "lists/remove", resource: "lists/remove" }, consumed: 2 }
        : { route: { objectType: "lists", resource: "lists" }, consumed: 1 };
    case "customobjects":
      if (!second || !API_NAME.test(second)) {
        throw new InputFileError(
          "UNKNOWN_OBJECT_TYPE",
          `custom objects go under customobjects/{apiName}/ with the object's API name (letters, digits, _); got "${second ?? ""}"`,
        );
      }
      return {
        route: { objectType: "customobjects", resource: `customobjects/${second}`, apiName: second },
        consumed: 2,
      };
    default:
      return undefined;
  }
}

/**
 * The resource under `/subscriptions/{munchkinId}/` for an object type: derived, never taken from a message, so
 * a queue message cannot choose the Marketo path. Types other than custom objects are their own resource.
 */
export function ingestionResource(route: { objectType: ObjectType; apiName?: string | undefined }): string {
  if (route.objectType !== "customobjects") return route.objectType;
  if (route.apiName === undefined || !API_NAME.test(route.apiName)) {
    throw new Error("a custom object resource needs a valid API name");
  }
  return `customobjects/${route.apiName}`;
}

/** Whether `resource` is one this deployment sends to (every object type, custom objects by a valid API name). */
export function isIngestionResource(resource: string): boolean {
  if (resource.startsWith("customobjects/")) return API_NAME.test(resource.slice("customobjects/".length));
  return resource !== "customobjects" && (OBJECT_TYPES as readonly string[]).includes(resource);
}
