import { AccountPrincipal, ArnPrincipal, type IPrincipal, ServicePrincipal } from "aws-cdk-lib/aws-iam";

/**
 * A producer as the CDK context names it: an account id (any of its principals that its own IAM allows), an IAM
 * role or user ARN (a Lambda's, a state machine's or a pipe's execution role), an SNS topic ARN or an EventBridge
 * rule ARN (the service, only on behalf of that topic or rule).
 */
export function producerPrincipal(name: string): IPrincipal {
  if (/^\d{12}$/.test(name)) return new AccountPrincipal(name);
  const service = /^arn:aws[a-z-]*:(sns|events):[a-z0-9-]+:\d{12}:.+$/.exec(name)?.[1];
  if (service) {
    return new ServicePrincipal(`${service}.amazonaws.com`).withConditions({ ArnEquals: { "aws:SourceArn": name } });
  }
  if (/^arn:aws[a-z-]*:iam::\d{12}:(role|user)\/.+$/.test(name)) return new ArnPrincipal(name);
  throw new Error(
    `intake producer "${name}" is none of: a 12-digit account id, an IAM role/user ARN, an SNS topic ARN, an EventBridge rule ARN`,
  );
}
