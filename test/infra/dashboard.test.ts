import { App, Duration, Stack } from "aws-cdk-lib";
import { Template } from "aws-cdk-lib/assertions";
import { SnsAction } from "aws-cdk-lib/aws-cloudwatch-actions";
import { Code, Function as LambdaFunction, Runtime } from "aws-cdk-lib/aws-lambda";
import { Topic } from "aws-cdk-lib/aws-sns";
import { Queue } from "aws-cdk-lib/aws-sqs";
import { describe, expect, it } from "vitest";
import { PipelineDashboard, type PipelineDashboardProps } from "../../infra/constructs/dashboard.ts";
import { METRIC, THROTTLE_CODES } from "../../shared/contracts/metrics.ts";

/** The construct in a bare App (no cdk.json flags), with small inline functions standing in for the bundles. */
function synth(extra: (stack: Stack) => Partial<PipelineDashboardProps> = () => ({})) {
  const stack = new Stack(new App(), "Observed");
  const fn = (id: string) =>
    new LambdaFunction(stack, id, {
      runtime: Runtime.NODEJS_22_X,
      handler: "index.handler",
      code: Code.fromInline("export const handler = async () => {};"),
    });
  const queue = (id: string) => new Queue(stack, id);
  const construct = new PipelineDashboard(stack, "Observability", {
    functions: {
      splitter: { fn: fn("Splitter"), service: "marketo-ingest-splitter" },
      sender: { fn: fn("Sender"), service: "marketo-ingest-sender" },
      bulkImporter: { fn: fn("Bulk"), service: "marketo-ingest-bulk-importer" },
      reportWriter: { fn: fn("Report"), service: "marketo-ingest-report-writer" },
    },
    queues: { Ingestion: queue("IngestionQ"), Bulk: queue("BulkQ"), Report: queue("ReportQ") },
    deadLetterQueues: { IngestionDLQ: queue("IngestionDlq") },
    ...extra(stack),
  });
  return { construct, template: Template.fromStack(stack) };
}

type Resource = { Properties: Record<string, unknown> };
const alarmsOf = (template: Template) => Object.values(template.findResources("AWS::CloudWatch::Alarm")) as Resource[];

describe("PipelineDashboard", () => {
  it("alarms on each function's errors and throttles, each queue's oldest message and the daily quota, each with a runbook line", () => {
    const alarms = alarmsOf(synth().template);
    expect(alarms.map((a) => a.Properties.MetricName).sort()).toEqual([
      ...Array(3).fill("ApproximateAgeOfOldestMessage"),
      ...Array(4).fill("Errors"),
      "ObjectsSent",
      ...Array(4).fill("Throttles"),
    ]);
    for (const alarm of alarms) {
      expect(alarm.Properties.AlarmDescription).toMatch(/Runbook: docs\/operators\.md/);
      expect(alarm.Properties.AlarmActions).toBeUndefined();
    }
  });

  it("alarms on objects sent in 24 h above the configured share of 10,000,000", () => {
    const alarms = alarmsOf(synth(() => ({ dailyObjectsAlarmShare: 0.5 })).template);
    const quota = alarms.find((a) => a.Properties.MetricName === "ObjectsSent");
    expect(quota?.Properties).toMatchObject({
      Namespace: "MarketoIngest",
      Dimensions: [{ Name: "service", Value: "marketo-ingest-sender" }],
      Statistic: "Sum",
      Period: 86_400,
      Threshold: 5_000_000,
      ComparisonOperator: "GreaterThanThreshold",
    });
  });

  it("sends every alarm, and its return to OK, to the action given (one line to wire a topic)", () => {
    let topic: Topic | undefined;
    const { template } = synth((stack) => {
      topic = new Topic(stack, "Alarms");
      return { alarmAction: new SnsAction(topic) };
    });
    const topicRef = { Ref: Object.keys(template.findResources("AWS::SNS::Topic"))[0] };
    expect(topic).toBeDefined();
    for (const alarm of alarmsOf(template)) {
      expect(alarm.Properties.AlarmActions).toEqual([topicRef]);
      expect(alarm.Properties.OKActions).toEqual([topicRef]);
    }
  });

  it("puts every metric the functions emit, each throttle code and the queues on the dashboard", () => {
    const { template } = synth();
    const dashboards = Object.values(template.findResources("AWS::CloudWatch::Dashboard")) as Resource[];
    expect(dashboards).toHaveLength(1);
    const body = JSON.stringify(dashboards[0]?.Properties.DashboardBody);
    for (const name of Object.values(METRIC).filter((n) => n !== METRIC.retries)) {
      expect(body).toContain(`\\"${name}\\"`);
    }
    // Retry reasons are open-ended (Marketo's and the transport's codes): a search graphs whichever occur.
    expect(body).toContain(`SEARCH('{MarketoIngest,service,Reason} MetricName=\\\\\\"Retries\\\\\\"'`);
    for (const code of THROTTLE_CODES) expect(body).toContain(`\\"Code\\",\\"${code}\\"`);
    expect(body).toContain("ApproximateAgeOfOldestMessage");
    expect(body).toContain("ApproximateNumberOfMessagesVisible");
    expect(body).toContain("IngestionDLQ");
  });

  it("refuses a quota share outside (0, 1] and an age alarm under a minute", () => {
    expect(() => synth(() => ({ dailyObjectsAlarmShare: 0 }))).toThrow(/dailyObjectsAlarmShare/);
    expect(() => synth(() => ({ dailyObjectsAlarmShare: 1.5 }))).toThrow(/dailyObjectsAlarmShare/);
    expect(() => synth(() => ({ oldestMessageAgeAlarm: Duration.seconds(30) }))).toThrow(/oldestMessageAgeAlarm/);
  });
});
