import { CloudFormationClient, DescribeStacksCommand } from "@aws-sdk/client-cloudformation";

/** What went wrong reading a deployed stack's outputs, in words a person can act on. */
export type StackOutputProblem = "no_region" | "no_credentials" | "no_stack" | "no_output" | "access_denied";

export class StackOutputError extends Error {
  override readonly name = "StackOutputError";
  constructor(
    readonly problem: StackOutputProblem,
    readonly stackName: string,
    message: string,
  ) {
    super(message);
  }
}

/**
 * The named outputs of a deployed stack (DescribeStacks, with the AWS credentials and region of the environment;
 * an endpoint from AWS_ENDPOINT_URL_CLOUDFORMATION or AWS_ENDPOINT_URL), found as `outputsNamed` finds them; the ones
 * the stack lacks are absent. Every way the read can fail is a StackOutputError that says what to do (`whenAmbiguous`
 * finishes the sentence for a stack holding two pipelines); anything else propagates.
 */
export async function readStackOutputs<K extends string>(
  stackName: string,
  outputKeys: readonly K[],
  env: Record<string, string | undefined>,
  whenAmbiguous: string,
): Promise<{ region: string; values: Partial<Record<K, string>>; keys: string[] }> {
  const endpoint = env.AWS_ENDPOINT_URL_CLOUDFORMATION ?? env.AWS_ENDPOINT_URL;
  const client = new CloudFormationClient({ ...(endpoint ? { endpoint } : {}) });
  try {
    let region: string;
    try {
      region = await client.config.region();
    } catch {
      throw noRegion(stackName);
    }
    const answer = await client.send(new DescribeStacksCommand({ StackName: stackName })).catch((error: unknown) => {
      throw classify(error, stackName, region);
    });
    const stack = answer.Stacks?.[0];
    if (!stack) throw new StackOutputError("no_stack", stackName, `no stack ${stackName} in ${region}`);
    const outputs = stack.Outputs ?? [];
    const values: Partial<Record<K, string>> = {};
    for (const outputKey of outputKeys) {
      const matches = outputsNamed(outputs, outputKey);
      if (matches.length > 1) {
        throw new StackOutputError(
          "no_output",
          stackName,
          `stack ${stackName} (${region}) has several ${outputKey} outputs (${matches.map((o) => o.OutputKey).join(", ")}): ${whenAmbiguous}`,
        );
      }
      const value = matches[0]?.OutputValue;
      if (value) values[outputKey] = value;
    }
    return { region, values, keys: outputs.map((output) => output.OutputKey ?? "").filter(Boolean) };
  } finally {
    client.destroy();
  }
}

/** One output of a deployed stack (see readStackOutputs); a stack without it is a StackOutputError too. */
export async function readStackOutput(
  stackName: string,
  outputKey: string,
  env: Record<string, string | undefined>,
): Promise<string> {
  const { region, values, keys } = await readStackOutputs(stackName, [outputKey], env, "pass the queue URL itself");
  const value = values[outputKey];
  if (!value) {
    throw new StackOutputError(
      "no_output",
      stackName,
      `stack ${stackName} (${region}) has no output ${outputKey} ` +
        `(${keys.length > 0 ? `its outputs: ${keys.join(", ")}` : "it has no outputs"}; is it a marketo-ingest stack, deployed with the intake queue?)`,
    );
  }
  return value;
}

/**
 * The outputs that are `outputKey`: the repository's own stack keeps the plain key; a MarketoIngestion embedded in
 * another app gets its construct path in front and CDK's 8-character hash behind (`PipelineIntakeQueueUrl1A2B3C4D`).
 */
export function outputsNamed<T extends { OutputKey?: string | undefined }>(
  outputs: readonly T[],
  outputKey: string,
): T[] {
  const exact = outputs.filter((output) => output.OutputKey === outputKey);
  if (exact.length > 0) return exact;
  const embedded = new RegExp(`^[A-Za-z0-9]*${outputKey}[0-9A-F]{8}$`);
  return outputs.filter((output) => embedded.test(output.OutputKey ?? ""));
}

const noRegion = (stackName: string) =>
  new StackOutputError(
    "no_region",
    stackName,
    `no AWS region to look for stack ${stackName} in: set AWS_REGION (or a region in your AWS profile)`,
  );

function classify(error: unknown, stackName: string, region: string): unknown {
  const { name = "", message = "" } = error as { name?: string; message?: string };
  if (name === "CredentialsProviderError" || /could not load credentials/i.test(message)) {
    return new StackOutputError(
      "no_credentials",
      stackName,
      `no AWS credentials to read stack ${stackName}: set AWS_PROFILE or AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY (or sign in with aws sso login)`,
    );
  }
  if (/region is missing/i.test(message)) return noRegion(stackName);
  if (name === "ValidationError" && /does not exist/i.test(message)) {
    return new StackOutputError(
      "no_stack",
      stackName,
      `no stack ${stackName} in ${region} (check the name and region)`,
    );
  }
  if (/AccessDenied|UnauthorizedOperation|not authorized/i.test(`${name} ${message}`)) {
    return new StackOutputError(
      "access_denied",
      stackName,
      `not allowed to read stack ${stackName} in ${region}: the credentials need cloudformation:DescribeStacks`,
    );
  }
  return error;
}
