import { InputFileError } from "../parsing/input-file-error.ts";
import { type ObjectRoute, API_NAME } from "./object-route.ts";

/** The Bulk Import job types: leads, one custom object, or the members of one program. */
export type BulkRoute =
  { target: "leads" } | { target: "customobjects"; apiName: string } | { target: "programmembers"; programId: number };
export type BulkTarget = BulkRoute["target"];

/** Names of the bulk targets as option-default keys and in messages. */
export const BULK_TYPES = ["bulk/leads", "bulk/customobjects", "bulk/programmembers"] as const;
export type BulkType = (typeof BULK_TYPES)[number];
export const bulkType = (route: BulkRoute): BulkType => `bulk/${route.target}`;

export const BULK_PREFIXES = "bulk/leads/, bulk/customobjects/{apiName}/, bulk/programmembers/{programId}/";

const POSITIVE_INT = /^[1-9][0-9]{0,15}$/;

export const isBulkKey = (key: string): boolean => key.startsWith("bulk/");

/**
 * A drop under `bulk/leads/…`, `bulk/customobjects/{apiName}/…` or `bulk/programmembers/{programId}/…` goes
 * through Bulk Import; anything else under `bulk/` is refused with the prefixes it could have used.
 */
export function bulkRouteForKey(key: string): BulkRoute {
  const [, target, second, ...rest] = key.split("/");
  const unknown = (why: string) =>
    new InputFileError("UNKNOWN_OBJECT_TYPE", `${why}; bulk files go under one of: ${BULK_PREFIXES}`);
  switch (target) {
    case "leads":
      if (second === undefined || [second, ...rest].join("/") === "") throw unknown(`"${key}" names no file`);
      return { target: "leads" };
    case "customobjects":
      if (!second || !API_NAME.test(second)) throw unknown(`"${second ?? ""}" is not a custom object API name`);
      if (rest.join("/") === "") throw unknown(`"${key}" names no file`);
      return { target: "customobjects", apiName: second };
    case "programmembers":
      if (!second || !POSITIVE_INT.test(second) || !Number.isSafeInteger(Number(second))) {
        throw unknown(`"${second ?? ""}" is not a program id`);
      }
      if (rest.join("/") === "") throw unknown(`"${key}" names no file`);
      return { target: "programmembers", programId: Number(second) };
    default:
      throw unknown(`"${target ?? ""}" is not a bulk object type`);
  }
}

/**
 * `mode=bulk` on a Data Ingestion prefix: persons become a lead import, a custom object stays itself, program
 * members need the program id as an option (Bulk Import takes one program per job).
 */
export function bulkRouteFor(route: ObjectRoute, programId: number | undefined): BulkRoute {
  switch (route.objectType) {
    case "persons":
      return { target: "leads" };
    case "customobjects":
      return { target: "customobjects", apiName: route.apiName as string };
    case "programmembers":
      if (programId === undefined) {
        throw new InputFileError(
          "INVALID_OPTIONS",
          "mode=bulk for program members needs the option programId (or drop under bulk/programmembers/{programId}/)",
        );
      }
      return { target: "programmembers", programId };
    default:
      throw new InputFileError(
        "INVALID_OPTIONS",
        `mode=bulk is not available for ${route.objectType}: Bulk Import takes leads, custom objects and program members`,
      );
  }
}
