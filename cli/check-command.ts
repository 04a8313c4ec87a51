import { readFile } from "node:fs/promises";
import { basename } from "node:path";
import { mappedRecords, preflightFile, type PreflightPlan } from "../local/preflight.ts";
import { MarketoSecretSchema, type MarketoSecret } from "../shared/config/marketo-secret.ts";
import { describeFields, describePathsFor, type MarketoField } from "../shared/marketo/describe-client.ts";
import { resolveEndpoints } from "../shared/marketo/endpoints.ts";
import { MarketoRequestError } from "../shared/marketo/errors.ts";
import { FieldCheck, type FieldFinding, routeColumnsFor } from "../shared/marketo/field-check.ts";
import { createMarketoDispatcher } from "../shared/marketo/http.ts";
import { requestAccessToken } from "../shared/marketo/identity-client.ts";
import { TokenProvider } from "../shared/marketo/token-provider.ts";
import type { FileTarget } from "../shared/options/file-options.ts";
import { systemClock } from "../shared/time/clock.ts";
import { metadataFromFlags } from "./args.ts";

export interface CheckFlags extends Partial<Record<string, unknown>> {
  options?: string;
  json?: boolean;
}

const count = (n: number) => n.toLocaleString("en-US");

/**
 * `marketo-ingest check FILE --object TYPE`: the splitter's own plan for the file (requests, bytes, rejected rows
 * with reasons) with nothing sent; with MARKETO_* credentials, the columns compared with Marketo's field list.
 * Exit 0 when the file would go through whole, 1 when rows or columns have problems or the file is rejected.
 */
export async function checkCommand(
  file: string,
  objectType: string,
  flags: CheckFlags,
  env: NodeJS.ProcessEnv,
): Promise<number> {
  const request = {
    path: file,
    key: `${objectType}/${basename(file)}`,
    metadata: metadataFromFlags(flags),
    ...(flags.options ? { sidecar: await readFile(flags.options, "utf8") } : {}),
    env,
  };
  const plan = await preflightFile(request);
  const secret = credentialsFrom(env);
  const fields = secret && plan.target ? await compareFields(secret, request, plan.target) : undefined;

  if (flags.json) {
    const { manifest, target: _target, ...rest } = plan;
    console.log(
      JSON.stringify(
        {
          ...rest,
          status: manifest.status,
          error: manifest.error,
          rowsRead: manifest.rowsRead,
          rowsToSend: manifest.rowsQueued,
          fields,
        },
        null,
        2,
      ),
    );
  } else {
    for (const line of planLines(request.key, plan)) console.log(line);
    if (fields) for (const line of fieldLines(fields)) console.log(line);
    else if (plan.target) {
      console.log(
        "fields: not compared with Marketo (set MARKETO_CLIENT_ID, MARKETO_CLIENT_SECRET, MARKETO_MUNCHKIN_ID)",
      );
    }
  }
  const clean = plan.manifest.status !== "rejected" && plan.rejections.length === 0;
  return clean && (fields?.findings.length ?? 0) === 0 && !fields?.error ? 0 : 1;
}

function planLines(key: string, plan: PreflightPlan): string[] {
  const { manifest } = plan;
  const lines = [
    `check ${key}: ${manifest.objectType}${manifest.mode === "bulk" ? " (Bulk Import)" : ""} — nothing sent`,
  ];
  if (manifest.status === "rejected") {
    const at = manifest.error?.line ? ` (line ${manifest.error.line})` : "";
    lines.push(`file rejected: ${manifest.error?.code}: ${manifest.error?.message}${at}; nothing of it would be sent`);
    return lines;
  }
  const unit = manifest.mode === "bulk" ? "import file" : "request";
  lines.push(
    `rows read ${count(manifest.rowsRead)} · to send ${count(manifest.rowsQueued)} in ${count(plan.requests)} ${unit}${plan.requests === 1 ? "" : "s"} (${count(plan.bytes)} bytes, largest ${count(plan.largestRequestBytes)}) · rejected ${count(plan.rejectedRows)}`,
  );
  for (const group of plan.rejections) {
    const more = group.rows > group.firstRows.length ? ", …" : "";
    lines.push(
      `  ✗ ${count(group.rows)} row${group.rows === 1 ? "" : "s"}: ${group.reason} (row ${group.firstRows.join(", ")}${more})`,
    );
  }
  return lines;
}

interface FieldComparison {
  marketo: string;
  endpoints: string[];
  columns: number;
  findings: FieldFinding[];
  error?: string;
}

function fieldLines(result: FieldComparison): string[] {
  if (result.error)
    return [`fields: ✗ could not read Marketo's field list (${result.endpoints.join(", ")}): ${result.error}`];
  const unknown = result.findings.filter((f) => f.kind === "unknown").length;
  const mismatched = result.findings.length - unknown;
  const lines = [
    `fields (${result.marketo}): ${count(result.columns)} columns · ${unknown} unknown · ${mismatched} with values of the wrong type`,
  ];
  for (const finding of result.findings) {
    if (finding.kind === "unknown") {
      const hint = finding.suggestion ? ` (did you mean ${finding.suggestion}?)` : "";
      lines.push(`  ✗ ${finding.column}: no such field in Marketo${hint}`);
    } else {
      const more = finding.rows > finding.firstRows.length ? ", …" : "";
      lines.push(
        `  ✗ ${finding.column}: ${count(finding.rows)} row${finding.rows === 1 ? "" : "s"} not ${finding.expected} (Marketo type ${finding.dataType}; row ${finding.firstRows.join(", ")}${more})`,
      );
    }
  }
  return lines;
}

async function compareFields(
  secret: MarketoSecret,
  request: Parameters<typeof mappedRecords>[0],
  target: FileTarget,
): Promise<FieldComparison | undefined> {
  const paths = describePathsFor(target.route);
  if (paths.length === 0) return undefined;
  const endpoints = resolveEndpoints(secret);
  const dispatcher = createMarketoDispatcher({ timeoutMs: 30_000 });
  const tokens = new TokenProvider(() => requestAccessToken(endpoints, secret, dispatcher), { clock: systemClock });
  const base = { marketo: `Marketo ${secret.munchkinId}`, endpoints: paths };
  try {
    const fields: MarketoField[] = [];
    for (const path of paths)
      fields.push(...(await describeFields({ endpoints, tokens, dispatcher, clock: systemClock }, path)));
    const check = new FieldCheck(fields, routeColumnsFor(target.route));
    const columns = new Set<string>();
    for await (const record of mappedRecords(request, target)) {
      for (const column of Object.keys(record.values)) columns.add(column);
      check.observe(record.row, record.values);
    }
    return { ...base, columns: columns.size, findings: check.findings() };
  } catch (error) {
    if (!(error instanceof MarketoRequestError)) throw error;
    return { ...base, columns: 0, findings: [], error: `${error.failure.code} ${error.failure.message}` };
  } finally {
    await dispatcher.close();
  }
}

function credentialsFrom(env: NodeJS.ProcessEnv): MarketoSecret | undefined {
  const { MARKETO_CLIENT_ID, MARKETO_CLIENT_SECRET, MARKETO_MUNCHKIN_ID } = env;
  if (!MARKETO_CLIENT_ID || !MARKETO_CLIENT_SECRET || !MARKETO_MUNCHKIN_ID) return undefined;
  return MarketoSecretSchema.parse({
    clientId: MARKETO_CLIENT_ID,
    clientSecret: MARKETO_CLIENT_SECRET,
    munchkinId: MARKETO_MUNCHKIN_ID,
    ...(env.MARKETO_IDENTITY_URL ? { identityUrl: env.MARKETO_IDENTITY_URL } : {}),
    ...(env.MARKETO_REST_URL ? { restUrl: env.MARKETO_REST_URL } : {}),
  });
}
