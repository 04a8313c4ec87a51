import type { ValidRequest } from "./request-rules.ts";

export interface StoredObject {
  key: string;
  fields: Record<string, unknown>;
  /** How many accepted requests wrote this object (1 = delivered exactly once). */
  writes: number;
  lastRequestId: string;
}

export interface StoredProgramMember extends StoredObject {
  programId: number;
  leadId: number;
  status: string;
}

/** An object Marketo accepted in a 202 request but fails asynchronously (as it does for a missing dedupe value). */
export interface AsyncRejection {
  endpoint: string;
  requestId: string;
  index: number;
  reason: string;
}

const sortedJson = (fields: Record<string, unknown>): string =>
  JSON.stringify(Object.fromEntries(Object.entries(fields).sort(([a], [b]) => a.localeCompare(b))));

/** What the simulated instance holds, per object type, so tests can assert exactly what arrived. */
export class SimState {
  readonly persons = new Map<string, StoredObject>();
  readonly customObjects = new Map<string, Map<string, StoredObject>>();
  readonly companies = new Map<string, StoredObject>();
  readonly programMembers = new Map<string, StoredProgramMember>();
  readonly asyncRejections: AsyncRejection[] = [];

  constructor(private readonly customObjectDedupeFields: Readonly<Record<string, string[]>> = {}) {}

  apply(request: ValidRequest, requestId: string): void {
    switch (request.kind) {
      case "persons":
        request.persons.forEach((person, index) => {
          const values = request.dedupeFields.map((field) => person[field]);
          if (values.some((v) => v === undefined || v === null || v === "")) {
            this.asyncRejections.push({
              endpoint: "persons",
              requestId,
              index,
              reason: `missing ${request.dedupeFields.join("+")}`,
            });
            return;
          }
          const key = `${request.partitionName}|${values.map(String).join("|")}`;
          upsert(this.persons, key, person, requestId);
        });
        return;
      case "customobjects": {
        const store = this.customObjects.get(request.apiName) ?? new Map<string, StoredObject>();
        this.customObjects.set(request.apiName, store);
        request.customObjects.forEach((object, index) => {
          if (request.dedupeBy === "marketoGUID" && !object.marketoGUID) {
            this.asyncRejections.push({
              endpoint: `customobjects/${request.apiName}`,
              requestId,
              index,
              reason: "missing marketoGUID",
            });
            return;
          }
          // The object's dedupe fields when its schema is configured; otherwise the record itself is its key.
          const schemaFields = this.customObjectDedupeFields[request.apiName];
          if (
            request.dedupeBy === "dedupeFields" &&
            schemaFields?.some((f) => object[f] === undefined || object[f] === "")
          ) {
            this.asyncRejections.push({
              endpoint: `customobjects/${request.apiName}`,
              requestId,
              index,
              reason: `missing dedupe field (${schemaFields.join(", ")})`,
            });
            return;
          }
          const key =
            request.dedupeBy === "marketoGUID"
              ? String(object.marketoGUID)
              : schemaFields
                ? JSON.stringify(schemaFields.map((f) => object[f]))
                : sortedJson(object);
          upsert(store, key, object, requestId);
        });
        return;
      }
      case "companies":
        for (const company of request.companies) {
          // Company field names are case-insensitive, so the key is found whatever its spelling.
          const field = (name: string) =>
            Object.entries(company).find(([k]) => k.toLowerCase() === name.toLowerCase())?.[1];
          const key = request.dedupeBy === "idField" ? `id:${field("id")}` : `ext:${field("externalCompanyId")}`;
          if (request.action === "createOnly" && this.companies.has(key)) continue;
          if (request.action === "updateOnly" && !this.companies.has(key)) continue;
          upsert(this.companies, key, company, requestId);
        }
        return;
      case "programmembers":
        for (const program of request.programs) {
          for (const member of program.members) {
            const key = `${program.programId}:${member.leadId}`;
            const existing = this.programMembers.get(key);
            this.programMembers.set(key, {
              key,
              programId: program.programId,
              leadId: member.leadId as number,
              status: program.status as string,
              fields: { ...existing?.fields, ...member },
              writes: (existing?.writes ?? 0) + 1,
              lastRequestId: requestId,
            });
          }
        }
        return;
      case "programmembers/delete":
        for (const program of request.programs) {
          for (const member of program.members) this.programMembers.delete(`${program.programId}:${member.leadId}`);
        }
        return;
    }
  }

  clear(): void {
    this.persons.clear();
    this.customObjects.clear();
    this.companies.clear();
    this.programMembers.clear();
    this.asyncRejections.length = 0;
  }
}

function upsert(
  store: Map<string, StoredObject>,
  key: string,
  fields: Record<string, unknown>,
  requestId: string,
): void {
  const existing = store.get(key);
  store.set(key, {
    key,
    fields: { ...existing?.fields, ...fields },
    writes: (existing?.writes ?? 0) + 1,
    lastRequestId: requestId,
  });
}
