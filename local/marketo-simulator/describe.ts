import { randomBytes } from "node:crypto";
import type { IncomingMessage, ServerResponse } from "node:http";
import { headerOf, sendJson } from "./bulk-import.ts";
import { defaultError, type FaultQueue, restErrorMessage } from "./faults.ts";
import type { TokenIssuer } from "./token-issuer.ts";

/** One describe call as the simulator answered it: the path, and Marketo's error code when it failed. */
export interface DescribeRequestLog {
  path: string;
  status: number;
  errorCode?: string;
}

/** One field as Marketo's describe endpoints list it (swagger-mapi: LeadAttribute2Fields, ObjectField). */
export interface SimField {
  name: string;
  dataType: string;
  length?: number;
  updateable?: boolean;
}

/** The instance's schema the describe endpoints answer with; every part has a default (see DEFAULT_SCHEMAS). */
export interface SimSchemas {
  leads?: SimField[];
  companies?: SimField[];
  programMembers?: SimField[];
  customObjects?: Record<string, SimField[]>;
}

const text = (name: string, length = 255): SimField => ({ name, dataType: "string", length, updateable: true });
const typed = (name: string, dataType: string): SimField => ({ name, dataType, updateable: true });
const readOnly = (name: string, dataType: string): SimField => ({ name, dataType, updateable: false });

/** A small standard instance: the fields the samples and the docs' examples use. */
export const DEFAULT_SCHEMAS: Required<SimSchemas> = {
  leads: [
    readOnly("id", "integer"),
    typed("email", "email"),
    text("firstName"),
    text("lastName"),
    text("company"),
    text("title"),
    typed("phone", "phone"),
    text("city"),
    text("postalCode"),
    text("country"),
    // A custom field of this simulated instance, so the bundled sample checks clean.
    text("notes", 2000),
    typed("leadScore", "integer"),
    typed("unsubscribed", "boolean"),
    typed("dateOfBirth", "date"),
    readOnly("createdAt", "datetime"),
  ],
  companies: [
    readOnly("id", "integer"),
    text("externalCompanyId"),
    text("company"),
    text("industry"),
    typed("numberOfEmployees", "integer"),
    typed("annualRevenue", "currency"),
    typed("website", "url"),
    text("billingCountry"),
  ],
  programMembers: [
    readOnly("leadId", "integer"),
    readOnly("programId", "integer"),
    text("statusName"),
    typed("reachedSuccess", "boolean"),
    typed("membershipDate", "datetime"),
    text("webinarUrl"),
  ],
  customObjects: {
    car_c: [
      readOnly("marketoGUID", "string"),
      readOnly("createdAt", "datetime"),
      text("vin"),
      text("make"),
      text("model"),
      text("color"),
      typed("year", "integer"),
      typed("leadId", "integer"),
    ],
  },
};

const DESCRIBE_PATH =
  /^\/rest\/v1\/(?:(leads)\/describe2|(companies)\/describe|(programs\/members)\/describe|customobjects\/([^/]+)\/describe)\.json$/;

export const isDescribePath = (pathname: string): boolean => DESCRIBE_PATH.test(pathname);

/**
 * The REST describe endpoints (GET, `Authorization: Bearer`): HTTP 200 with `success` and `result`, or
 * `success: false` with Marketo's code (601/602 for a bad token, 1013 for an unknown custom object). Scripted
 * `status` and `restError` faults apply only when their `path` names a describe path (so no fault meant for a
 * send lands here). Every call is logged.
 */
export function answerDescribe(
  req: IncomingMessage,
  res: ServerResponse,
  url: URL,
  tokens: TokenIssuer,
  schemas: SimSchemas,
  faults: FaultQueue,
  log: DescribeRequestLog[],
): void {
  req.resume();
  const requestId = `${randomBytes(2).toString("hex")}#${Date.now().toString(16)}`;
  const fail = (code: string, message: string, status = 200) => {
    log.push({ path: url.pathname, status, errorCode: code });
    sendJson(res, status, { requestId, success: false, errors: [{ code, message }] });
  };
  const fault = faults.take(url.pathname, ["status", "restError"], true);
  if (fault?.kind === "status") {
    return fail(
      fault.errorCode ?? String(fault.status),
      fault.message ?? defaultError(fault.status).message,
      fault.status,
    );
  }
  if (fault?.kind === "restError") return fail(fault.code, fault.message ?? restErrorMessage(fault.code));
  const match = DESCRIBE_PATH.exec(url.pathname);
  if (!match || req.method !== "GET") return sendJson(res, 404, { requestId, success: false });
  const bearer = /^Bearer\s+(\S+)\s*$/i.exec(headerOf(req, "authorization") ?? "")?.[1];
  if (bearer === undefined) return fail("601", "Access token invalid");
  const verdict = tokens.check(bearer);
  if (verdict === "expired") return fail("602", "Access token expired");
  if (verdict === "unknown") return fail("601", "Access token invalid");

  const [, leads, companies, members, apiName] = match;
  const all = { ...DEFAULT_SCHEMAS, ...schemas };
  let result: Record<string, unknown>;
  if (leads) result = { name: "API Lead", fields: all.leads };
  else if (companies)
    result = { name: "Company", idField: "id", dedupeFields: ["externalCompanyId"], fields: all.companies };
  else if (members)
    result = { name: "API Program Member", dedupeFields: ["leadId", "programId"], fields: all.programMembers };
  else {
    const fields = all.customObjects[apiName as string];
    if (!fields) return fail("1013", "Object not found");
    result = { name: apiName, idField: "marketoGUID", fields };
  }
  log.push({ path: url.pathname, status: 200 });
  sendJson(res, 200, { requestId, success: true, result: [result] });
}
