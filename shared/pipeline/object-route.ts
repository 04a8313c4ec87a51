import { InputFileError } from "../parsing/input-file-error.ts";

/** The Data Ingestion object types this deployment sends. */
export type ObjectType = "persons";

export interface ObjectRoute {
  objectType: ObjectType;
  /** Resource path under `/subscriptions/{munchkinId}/`. */
  resource: string;
  /** Request member that holds the objects. */
  arrayKey: string;
}

const ROUTES: Record<ObjectType, ObjectRoute> = {
  persons: { objectType: "persons", resource: "persons", arrayKey: "persons" },
};

export const OBJECT_TYPES = Object.keys(ROUTES) as ObjectType[];

export function routeForObjectType(name: string): ObjectRoute {
  const route = ROUTES[name as ObjectType];
  if (!route) {
    throw new InputFileError(
      "UNKNOWN_OBJECT_TYPE",
      `unknown object type "${name}"; expected one of: ${OBJECT_TYPES.join(", ")}`,
    );
  }
  return route;
}

/** A dropped file says what it holds by its first key segment: `persons/2026/leads.csv` holds persons. */
export function routeForObjectKey(key: string): ObjectRoute {
  const slash = key.indexOf("/");
  if (slash <= 0) {
    throw new InputFileError(
      "UNKNOWN_OBJECT_TYPE",
      `object key "${key}" has no type prefix; drop files under one of: ${OBJECT_TYPES.map((t) => `${t}/`).join(", ")}`,
    );
  }
  return routeForObjectType(key.slice(0, slash));
}
