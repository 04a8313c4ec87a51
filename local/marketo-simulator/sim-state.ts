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

/** A lead on a static list (Data Ingestion lists endpoints). */
export interface StoredListMember {
  key: string;
  listId: number;
  leadId: number;
  /** How many accepted add requests listed this lead since it joined (1 = added exactly once). */
  writes: number;
  lastRequestId: string;
}

/** A program member written by a Bulk Import job: Bulk identifies the lead by e-mail, not by lead id. */
export interface StoredBulkProgramMember {
  key: string;
  programId: number;
  email: string;
  status: string;
  fields: Record<string, unknown>;
  writes: number;
  /** The batchId (as a string) of the job that last wrote it. */
  lastRequestId: string;
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
  readonly bulkProgramMembers = new Map<string, StoredBulkProgramMember>();
  readonly listMembers = new Map<string, StoredListMember>();
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
              : this.customObjectKey(request.apiName, object);
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
      case "lists":
        for (const leadId of request.leadIds) {
          const key = `${request.listId}:${leadId}`;
          const existing = this.listMembers.get(key);
          this.listMembers.set(key, {
            key,
            listId: request.listId,
            leadId,
            writes: (existing?.writes ?? 0) + 1,
            lastRequestId: requestId,
          });
        }
        return;
      case "lists/remove":
        for (const leadId of request.leadIds) this.listMembers.delete(`${request.listId}:${leadId}`);
        return;
    }
  }

  /** The configured dedupe fields of a custom object type, if its schema was given. */
  customObjectDedupeFieldsOf(apiName: string): readonly string[] | undefined {
    return this.customObjectDedupeFields[apiName];
  }

  /** Bulk Import writes: the same stores and keys as Data Ingestion, so either path's duplicates show as writes. */
  upsertPerson(key: string, fields: Record<string, unknown>, requestId: string): void {
    upsert(this.persons, key, fields, requestId);
  }

  upsertCustomObject(apiName: string, fields: Record<string, unknown>, requestId: string): void {
    const store = this.customObjects.get(apiName) ?? new Map<string, StoredObject>();
    this.customObjects.set(apiName, store);
    upsert(store, this.customObjectKey(apiName, fields), fields, requestId);
  }

  upsertBulkProgramMember(
    programId: number,
    email: string,
    status: string,
    fields: Record<string, unknown>,
    requestId: string,
  ): void {
    const key = `${programId}:${email.toLowerCase()}`;
    const existing = this.bulkProgramMembers.get(key);
    this.bulkProgramMembers.set(key, {
      key,
      programId,
      email,
      status,
      fields: { ...existing?.fields, ...fields },
      writes: (existing?.writes ?? 0) + 1,
      lastRequestId: requestId,
    });
  }

  /** The object's dedupe fields when its schema is configured; otherwise the record itself is its key. */
  private customObjectKey(apiName: string, object: Record<string, unknown>): string {
    const schemaFields = this.customObjectDedupeFields[apiName];
    return schemaFields ? JSON.stringify(schemaFields.map((f) => object[f])) : sortedJson(object);
  }

  clear(): void {
    this.persons.clear();
    this.customObjects.clear();
    this.companies.clear();
    this.programMembers.clear();
    this.bulkProgramMembers.clear();
    this.listMembers.clear();
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
