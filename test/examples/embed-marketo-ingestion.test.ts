import { readFileSync } from "node:fs";
import { App } from "aws-cdk-lib";
import { Match, Template } from "aws-cdk-lib/assertions";
import { AwsSolutionsChecks, NIST80053R5Checks } from "cdk-nag";
import { describe, expect, it } from "vitest";
import { buildPlatformStack } from "../../examples/embed-marketo-ingestion.ts";

const exampleSource = readFileSync(new URL("../../examples/embed-marketo-ingestion.ts", import.meta.url), "utf8");
const readme = readFileSync(new URL("../../README.md", import.meta.url), "utf8");

describe("embedding MarketoIngestion in your own app (README example)", () => {
  it("is in the README exactly as compiled and run here", () => {
    expect(readme).toContain("```typescript\n" + exampleSource + "```");
  });

  it("synthesizes in a bare app, importing the construct by the package's exported entry", () => {
    const app = new App();
    const stack = buildPlatformStack(app);
    const template = Template.fromStack(stack);
    template.hasResourceProperties("AWS::Lambda::Function", {
      Environment: { Variables: Match.objectLike({ MARKETO_SECRET_ID: "data-platform/marketo" }) },
    });
    for (const alarm of Object.values(template.findResources("AWS::CloudWatch::Alarm"))) {
      expect(alarm.Properties.AlarmActions).toEqual(["arn:aws:sns:eu-west-1:123456789012:on-call"]);
    }
    const ingestion = stack.node.findChild("MarketoIngestion");
    const open = [new AwsSolutionsChecks(app), new NIST80053R5Checks(app)].flatMap((pack) =>
      pack
        .validateScope(ingestion)
        .violations.filter((violation) =>
          violation.violatingResources.some((resource) => !("acknowledged" in resource && resource.acknowledged)),
        )
        .map((violation) => violation.ruleName),
    );
    expect(open).toEqual([]);
  }, 120_000);
});
