/**
 * The Data Ingestion request rules, written from Adobe's Data Ingestion API reference and its OpenAPI document, on
 * purpose independently of the client's own checks so each verifies the other.
 */
export class RuleViolation extends Error {
  override readonly name = "RuleViolation";
  /**
   * The reference's 400 codes: `4000802` "Invalid data" for a value that breaks a rule, `4000801` "Bad request"
   * for a body the endpoint does not take at all (a member it does not know).
   */
  constructor(
    message: string,
    readonly errorCode: "4000801" | "4000802" = "4000802",
  ) {
    super(message);
  }
}

type Json = Record<string, unknown>;

const STANDARD_PERSON_DEDUPE = new Set([
  "id",
  "email",
  "sfdcAccountId",
  "sfdcContactId",
  "sfdcLeadId",
  "sfdcLeadOwnerId",
]);

export interface Limits {
  maxObjects: number;
  customPersonDedupeFields: ReadonlySet<string>;
}

export interface PersonsRequest {
  kind: "persons";
  dedupeFields: string[];
  partitionName: string;
  priority: string;
  persons: Json[];
}
export interface CustomObjectsRequest {
  kind: "customobjects";
  apiName: string;
  dedupeBy: "dedupeFields" | "marketoGUID";
  customObjects: Json[];
}
export interface CompaniesRequest {
  kind: "companies";
  action: "createOnly" | "updateOnly" | "createOrUpdate";
  dedupeBy: "dedupeFields" | "idField";
  companies: Json[];
}
export interface ProgramMembersRequest {
  kind: "programmembers" | "programmembers/delete";
  programs: Array<{ programId: number; status?: string; members: Json[] }>;
}
export interface ListRequest {
  kind: "lists" | "lists/remove";
  listId: number;
  leadIds: number[];
}
export type ValidRequest =
  PersonsRequest | CustomObjectsRequest | CompaniesRequest | ProgramMembersRequest | ListRequest;

const isObject = (value: unknown): value is Json =>
  typeof value === "object" && value !== null && !Array.isArray(value);
const isPositiveInteger = (value: unknown): value is number =>
  typeof value === "number" && Number.isInteger(value) && value > 0;

function objectArray(body: Json, keys: string[], what: string, limits: Limits): Json[] {
  const key = keys.find((k) => body[k] !== undefined);
  const value = key ? body[key] : undefined;
  if (!Array.isArray(value) || value.length === 0)
    throw new RuleViolation(`${keys.join(" or ")} must be a non-empty array`);
  if (value.length > limits.maxObjects) {
    throw new RuleViolation(`${what}: at most ${limits.maxObjects} objects per request, got ${value.length}`);
  }
  if (!value.every(isObject)) throw new RuleViolation(`every element of ${key} must be an object`);
  return value;
}

function priority(body: Json): string {
  const value = body.priority ?? "normal";
  if (value !== "normal" && value !== "high") throw new RuleViolation("priority must be normal or high");
  return value;
}

export function validatePersons(body: Json, limits: Limits): PersonsRequest {
  const persons = objectArray(body, ["persons"], "persons", limits);
  let dedupeFields = ["email"];
  if (body.dedupeFields !== undefined) {
    const d = body.dedupeFields;
    if (!isObject(d)) throw new RuleViolation("dedupeFields must be an object with field1 and optional field2");
    const extra = Object.keys(d).filter((k) => k !== "field1" && k !== "field2");
    if (extra.length > 0)
      throw new RuleViolation(`dedupeFields allows only field1 and field2, not ${extra.join(", ")}`);
    if (typeof d.field1 !== "string" || d.field1 === "") throw new RuleViolation("dedupeFields.field1 is required");
    if (d.field2 !== undefined && (typeof d.field2 !== "string" || d.field2 === "")) {
      throw new RuleViolation("dedupeFields.field2 must be a non-empty string");
    }
    dedupeFields = d.field2 ? [d.field1, d.field2 as string] : [d.field1];
    if (dedupeFields[0] === dedupeFields[1]) throw new RuleViolation("dedupeFields must name two different attributes");
    for (const field of dedupeFields) {
      if (!STANDARD_PERSON_DEDUPE.has(field) && !limits.customPersonDedupeFields.has(field)) {
        throw new RuleViolation(`dedupeFields: ${field} is not a supported dedupe attribute`);
      }
    }
  }
  let partitionName = "Default";
  if (body.partitionName !== undefined) {
    if (typeof body.partitionName !== "string" || body.partitionName.trim() === "") {
      throw new RuleViolation("partitionName must be a non-empty string");
    }
    partitionName = body.partitionName;
  }
  return { kind: "persons", dedupeFields, partitionName, priority: priority(body), persons };
}

export function validateCustomObjects(apiName: string, body: Json, limits: Limits): CustomObjectsRequest {
  priority(body);
  const dedupeBy = body.dedupeBy ?? "dedupeFields";
  if (dedupeBy !== "dedupeFields" && dedupeBy !== "marketoGUID") {
    throw new RuleViolation("dedupeBy must be dedupeFields or marketoGUID");
  }
  return {
    kind: "customobjects",
    apiName,
    dedupeBy,
    customObjects: objectArray(body, ["customObjects"], "customObjects", limits),
  };
}

export function validateCompanies(body: Json, limits: Limits): CompaniesRequest {
  const action = body.action ?? "createOrUpdate";
  if (action !== "createOnly" && action !== "updateOnly" && action !== "createOrUpdate") {
    throw new RuleViolation("action must be one of createOnly, updateOnly, createOrUpdate (case-sensitive)");
  }
  const rawDedupe = body.dedupeBy ?? "dedupeFields";
  if (typeof rawDedupe !== "string") throw new RuleViolation("dedupeBy must be dedupeFields or idField");
  const dedupeBy =
    rawDedupe.toLowerCase() === "dedupefields"
      ? "dedupeFields"
      : rawDedupe.toLowerCase() === "idfield"
        ? "idField"
        : undefined;
  if (!dedupeBy) throw new RuleViolation("dedupeBy must be dedupeFields or idField");
  if (dedupeBy === "idField" && action !== "updateOnly") {
    throw new RuleViolation(`${action} only allows dedupeBy dedupeFields`);
  }
  const companies = objectArray(body, ["input", "companies"], "companies", limits);
  // Company field names are case-insensitive.
  const field = (company: Json, name: string) =>
    Object.entries(company).find(([key]) => key.toLowerCase() === name.toLowerCase())?.[1];
  companies.forEach((company, i) => {
    const externalCompanyId = field(company, "externalCompanyId");
    const id = field(company, "id");
    if (dedupeBy === "dedupeFields") {
      if (externalCompanyId === undefined || externalCompanyId === "") {
        throw new RuleViolation(`company ${i}: externalCompanyId is required when dedupeBy is dedupeFields`);
      }
      if (id !== undefined) throw new RuleViolation(`company ${i}: id is not allowed when dedupeBy is dedupeFields`);
    } else {
      if (!isPositiveInteger(id)) {
        throw new RuleViolation(`company ${i}: id (a positive integer) is required when dedupeBy is idField`);
      }
      if (externalCompanyId !== undefined) {
        throw new RuleViolation(`company ${i}: externalCompanyId is not allowed when dedupeBy is idField`);
      }
    }
  });
  return { kind: "companies", action, dedupeBy, companies };
}

export function validateProgramMembers(body: Json, limits: Limits, remove: boolean): ProgramMembersRequest {
  const programs = body.programs;
  if (!Array.isArray(programs) || programs.length === 0) throw new RuleViolation("programs must be a non-empty array");
  let leads = 0;
  const parsed = programs.map((program, i) => {
    if (!isObject(program)) throw new RuleViolation(`programs[${i}] must be an object`);
    if (!isPositiveInteger(program.programId))
      throw new RuleViolation(`programs[${i}].programId must be a positive integer`);
    let status: string | undefined;
    if (!remove) {
      const raw = program.status ?? program.statusName;
      if (typeof raw !== "string" || raw.trim() === "") throw new RuleViolation(`programs[${i}].status is required`);
      if (raw.trim().toLowerCase() === "not in program") {
        throw new RuleViolation(`programs[${i}].status must not be "Not in Program"; use the delete endpoint`);
      }
      status = raw;
    }
    const members = program.members ?? program.input;
    if (!Array.isArray(members) || members.length === 0) {
      throw new RuleViolation(`programs[${i}].members must be a non-empty array`);
    }
    members.forEach((member, j) => {
      if (!isObject(member) || !isPositiveInteger(member.leadId)) {
        throw new RuleViolation(`programs[${i}].members[${j}].leadId is required (a positive integer)`);
      }
    });
    leads += members.length;
    return { programId: program.programId, ...(status !== undefined ? { status } : {}), members: members as Json[] };
  });
  if (leads > limits.maxObjects) {
    throw new RuleViolation(
      `at most ${limits.maxObjects} lead references per request across all programs, got ${leads}`,
    );
  }
  return { kind: remove ? "programmembers/delete" : "programmembers", programs: parsed };
}

const LIST_BODY_KEYS = new Set(["listId", "leads", "input"]);
const LEAD_KEYS = new Set(["leadId", "id"]);

/**
 * Add to / remove from a static list: `listId` a positive integer, `leads` (or its alias `input`) 1..1,000 lead
 * references, each `leadId` (or its alias `id`) a positive integer. Members the endpoint does not know are a bad
 * request.
 */
export function validateListRequest(body: Json, limits: Limits, remove: boolean): ListRequest {
  const unknown = Object.keys(body).filter((key) => !LIST_BODY_KEYS.has(key));
  if (unknown.length > 0) {
    throw new RuleViolation(
      `unknown member ${unknown.join(", ")}: the body takes listId and leads (or input)`,
      "4000801",
    );
  }
  if (body.leads !== undefined && body.input !== undefined) {
    throw new RuleViolation("leads and input are aliases: give one of them", "4000801");
  }
  if (!isPositiveInteger(body.listId)) throw new RuleViolation("listId is required and must be a positive integer");
  const leads = objectArray(body, ["leads", "input"], "leads", limits);
  const leadIds = leads.map((lead, j) => {
    const extra = Object.keys(lead).filter((key) => !LEAD_KEYS.has(key));
    if (extra.length > 0) {
      throw new RuleViolation(`leads[${j}]: unknown member ${extra.join(", ")} (a lead is leadId or id)`, "4000801");
    }
    const ids = [lead.leadId, lead.id].filter((value) => value !== undefined);
    if (ids.length === 0 || !ids.every(isPositiveInteger)) {
      throw new RuleViolation(`leads[${j}].leadId is required (a positive integer)`);
    }
    if (ids.length === 2 && ids[0] !== ids[1]) throw new RuleViolation(`leads[${j}]: leadId and id disagree`);
    return ids[0] as number;
  });
  return { kind: remove ? "lists/remove" : "lists", listId: body.listId, leadIds };
}

export function objectCount(request: ValidRequest): number {
  switch (request.kind) {
    case "persons":
      return request.persons.length;
    case "customobjects":
      return request.customObjects.length;
    case "companies":
      return request.companies.length;
    case "lists":
    case "lists/remove":
      return request.leadIds.length;
    default:
      return request.programs.reduce((n, p) => n + p.members.length, 0);
  }
}
