import { Duration } from "aws-cdk-lib";
import {
  Alarm,
  AlarmStatusWidget,
  ComparisonOperator,
  Dashboard,
  GraphWidget,
  type IAlarmAction,
  type IMetric,
  MathExpression,
  Metric,
  SingleValueWidget,
  TextWidget,
  TreatMissingData,
} from "aws-cdk-lib/aws-cloudwatch";
import type { IFunction } from "aws-cdk-lib/aws-lambda";
import type { IQueue } from "aws-cdk-lib/aws-sqs";
import { Construct } from "constructs";
import { METRIC, METRIC_NAMESPACE, type MetricName } from "../../shared/contracts/metrics.ts";

/** Marketo's Data Ingestion quota: objects per day per instance. */
export const MARKETO_DAILY_OBJECT_QUOTA = 10_000_000;

const RUNBOOK = "Runbook: README.md, section 'Runbook'.";

export interface PipelineFunctionRef {
  fn: IFunction;
  /** The function's Powertools service name (the `service` dimension of its metrics). */
  service: string;
}

export interface PipelineDashboardProps {
  /** The pipeline's functions by role. */
  functions: {
    splitter: PipelineFunctionRef;
    sender: PipelineFunctionRef;
    bulkImporter: PipelineFunctionRef;
    reportWriter: PipelineFunctionRef;
    /** The function that splits producers' intake messages. */
    intake?: PipelineFunctionRef;
  };
  /** Work queues by name (e.g. Ingestion, Bulk, Report): depth and oldest-message age, alarmed on age. */
  queues: Record<string, IQueue>;
  /** Dead-letter queues by name: shown on the dashboard (their alarms live in PipelineAlarms). */
  deadLetterQueues: Record<string, IQueue>;
  /**
   * Alarm when the objects sent in the last 24 hours exceed this share of Marketo's 10,000,000 objects/day.
   * @default 0.8
   */
  dailyObjectsAlarmShare?: number;
  /**
   * Alarm when a work queue's oldest message is older than this.
   * @default Duration.hours(1)
   */
  oldestMessageAgeAlarm?: Duration;
  /**
   * Where every alarm of this construct goes (e.g. `new SnsAction(alarmTopic)`); more can be added later with
   * `addAlarmAction`.
   * @default no action
   */
  alarmAction?: IAlarmAction;
  /** @default CloudFormation generates one */
  dashboardName?: string;
}

/**
 * What an operator looks at: a CloudWatch dashboard of the pipeline's metrics (rows, requests, latency, outcomes,
 * retries, throttles, objects sent today, bulk job times), its queues and functions; and alarms on function errors,
 * function throttles, oldest message age and the daily object quota, each with a line saying what to do.
 */
export class PipelineDashboard extends Construct {
  readonly dashboard: Dashboard;
  readonly alarms: Alarm[] = [];

  constructor(scope: Construct, id: string, props: PipelineDashboardProps) {
    super(scope, id);
    const share = props.dailyObjectsAlarmShare ?? 0.8;
    if (!(share > 0 && share <= 1)) {
      throw new RangeError(`dailyObjectsAlarmShare must be in (0, 1], got ${share}`);
    }
    const maxAge = props.oldestMessageAgeAlarm ?? Duration.hours(1);
    if (maxAge.toSeconds() < 60) throw new RangeError("oldestMessageAgeAlarm must be at least one minute");
    const { splitter, sender, bulkImporter, reportWriter, intake } = props.functions;
    const fns = {
      Splitter: splitter,
      Sender: sender,
      BulkImporter: bulkImporter,
      ReportWriter: reportWriter,
      ...(intake ? { Intake: intake } : {}),
    };

    for (const [name, { fn }] of Object.entries(fns)) {
      this.alarms.push(
        new Alarm(this, `${name}Errors`, {
          alarmDescription: `${name} function invocations failed (crashes, timeouts). Read its log group for "ERROR" lines and the errorType; batches are retried by SQS and end in a DLQ if it persists. ${RUNBOOK}`,
          metric: fn.metricErrors({ period: Duration.minutes(5), statistic: "Sum" }),
          threshold: 0,
          comparisonOperator: ComparisonOperator.GREATER_THAN_THRESHOLD,
          evaluationPeriods: 1,
          treatMissingData: TreatMissingData.NOT_BREACHING,
        }),
        new Alarm(this, `${name}Throttles`, {
          alarmDescription: `Lambda throttled the ${name} function: the account's concurrency is exhausted. Raise the account's concurrent executions quota or lower other functions' use; queued data waits, nothing is lost. ${RUNBOOK}`,
          metric: fn.metricThrottles({ period: Duration.minutes(5), statistic: "Sum" }),
          threshold: 0,
          comparisonOperator: ComparisonOperator.GREATER_THAN_THRESHOLD,
          evaluationPeriods: 1,
          treatMissingData: TreatMissingData.NOT_BREACHING,
        }),
      );
    }
    for (const [name, queue] of Object.entries(props.queues)) {
      this.alarms.push(
        new Alarm(this, `${name}QueueOldestMessage`, {
          alarmDescription: `The ${name} queue's oldest message is over ${maxAge.toHumanString()} old: data is stuck. Check the dashboard's throttles (a 4290801 pauses senders until 00:00 US Central), the functions' errors and the Marketo secret. ${RUNBOOK}`,
          metric: queue.metricApproximateAgeOfOldestMessage({ period: Duration.minutes(5), statistic: "Maximum" }),
          threshold: maxAge.toSeconds(),
          comparisonOperator: ComparisonOperator.GREATER_THAN_THRESHOLD,
          evaluationPeriods: 3,
          treatMissingData: TreatMissingData.NOT_BREACHING,
        }),
      );
    }
    const objectsSentToday = this.metric(sender, METRIC.objectsSent, "Sum", Duration.days(1));
    this.alarms.push(
      new Alarm(this, "DailyObjectQuota", {
        alarmDescription: `Objects sent to Marketo in the last 24 h are over ${Math.round(share * 100)}% of the 10,000,000/day quota. Past it Marketo answers 4290801 and the senders pause until 00:00 US Central: hold back large drops or spread them over days. ${RUNBOOK}`,
        metric: objectsSentToday,
        threshold: Math.floor(share * MARKETO_DAILY_OBJECT_QUOTA),
        comparisonOperator: ComparisonOperator.GREATER_THAN_THRESHOLD,
        evaluationPeriods: 1,
        treatMissingData: TreatMissingData.NOT_BREACHING,
      }),
    );
    if (props.alarmAction) this.addAlarmAction(props.alarmAction);

    this.dashboard = new Dashboard(this, "Dashboard", {
      ...(props.dashboardName ? { dashboardName: props.dashboardName } : {}),
      defaultInterval: Duration.hours(6),
    });
    const sum = (ref: PipelineFunctionRef, name: MetricName) => this.metric(ref, name, "Sum");
    this.dashboard.addWidgets(
      new TextWidget({
        markdown: `# Marketo ingestion\nRows in, requests out, outcomes; Marketo's limits (5,000 requests/s per client id, 10,000,000 objects/day). ${RUNBOOK}`,
        width: 24,
        height: 2,
      }),
    );
    this.dashboard.addWidgets(
      graph(intake ? "Rows (files and intake)" : "Rows (splitter)", [
        sum(splitter, METRIC.rowsRead),
        sum(splitter, METRIC.rowsQueued),
        sum(splitter, METRIC.rowsRejected),
        ...(intake
          ? [
              sum(intake, METRIC.rowsRead).with({ label: "intake rows read" }),
              sum(intake, METRIC.rowsQueued).with({ label: "intake rows queued" }),
              sum(intake, METRIC.rowsRejected).with({ label: "intake rows rejected" }),
            ]
          : []),
      ]),
      graph("Row outcomes", [
        sum(sender, METRIC.acceptedRows).with({ label: "accepted (ingestion)" }),
        sum(bulkImporter, METRIC.acceptedRows).with({ label: "accepted (bulk)" }),
        sum(sender, METRIC.failedRows).with({ label: "failed (ingestion)" }),
        sum(bulkImporter, METRIC.failedRows).with({ label: "failed (bulk)" }),
        sum(sender, METRIC.deadLetteredRows).with({ label: "dead-lettered (ingestion)" }),
        sum(bulkImporter, METRIC.deadLetteredRows).with({ label: "dead-lettered (bulk)" }),
      ]),
      new SingleValueWidget({
        title: "Objects sent, last 24 h (quota 10,000,000/day)",
        metrics: [objectsSentToday],
        width: 8,
        height: 6,
      }),
    );
    this.dashboard.addWidgets(
      graph("Marketo requests", [
        sum(sender, METRIC.requests).with({ label: "Data Ingestion" }),
        sum(bulkImporter, METRIC.requests).with({ label: "Bulk Import" }),
      ]),
      graph("Marketo latency (ms)", [
        this.metric(sender, METRIC.marketoLatency, "p50").with({ label: "ingestion p50" }),
        this.metric(sender, METRIC.marketoLatency, "p99").with({ label: "ingestion p99" }),
        this.metric(bulkImporter, METRIC.marketoLatency, "p50").with({ label: "bulk p50" }),
        this.metric(bulkImporter, METRIC.marketoLatency, "p99").with({ label: "bulk p99" }),
      ]),
      graph("Bulk jobs (s)", [
        this.metric(bulkImporter, METRIC.bulkJobWait, "Average").with({ label: "wait for Marketo's queue (avg)" }),
        this.metric(bulkImporter, METRIC.bulkJobRun, "Average").with({ label: "run (avg)" }),
        this.metric(bulkImporter, METRIC.bulkJobRun, "Maximum").with({ label: "run (max)" }),
      ]),
    );
    this.dashboard.addWidgets(
      graph("Throttles by code", [
        // Data Ingestion answers 429 (4290801: the daily quota); the Bulk Import REST API 606, 1016 and 1029.
        ...(["429", "4290801"] as const).map((code) =>
          this.metric(sender, METRIC.throttles, "Sum", Duration.minutes(5), { Code: code }).with({ label: code }),
        ),
        ...(["606", "1016", "1029"] as const).map((code) =>
          this.metric(bulkImporter, METRIC.throttles, "Sum", Duration.minutes(5), { Code: code }).with({
            label: code,
          }),
        ),
      ]),
      graph("Retries by reason", [
        new MathExpression({
          expression: `SEARCH('{${METRIC_NAMESPACE},service,Reason} MetricName="${METRIC.retries}"', 'Sum', 300)`,
          label: "",
          period: Duration.minutes(5),
        }),
      ]),
      graph("Batches held by the fleet's pause", [
        sum(sender, METRIC.fleetPausedBatches),
        sum(reportWriter, METRIC.reportsWritten),
      ]),
    );
    const allQueues = { ...props.queues, ...props.deadLetterQueues };
    this.dashboard.addWidgets(
      graph(
        "Queue depth (visible)",
        Object.entries(allQueues).map(([name, q]) => q.metricApproximateNumberOfMessagesVisible({ label: name })),
      ),
      graph(
        "Oldest message age (s)",
        Object.entries(props.queues).map(([name, q]) =>
          q.metricApproximateAgeOfOldestMessage({ label: name, statistic: "Maximum" }),
        ),
      ),
      graph(
        "Function errors and throttles",
        Object.entries(fns).flatMap(([name, { fn }]) => [
          fn.metricErrors({ label: `${name} errors`, statistic: "Sum" }),
          fn.metricThrottles({ label: `${name} throttles`, statistic: "Sum" }),
        ]),
      ),
    );
    this.dashboard.addWidgets(new AlarmStatusWidget({ title: "Alarms", alarms: this.alarms, width: 24 }));
  }

  /** Sends every alarm of this construct (state ALARM and back to OK) to `action`, e.g. an SNS topic. */
  addAlarmAction(action: IAlarmAction): void {
    for (const alarm of this.alarms) {
      alarm.addAlarmAction(action);
      alarm.addOkAction(action);
    }
  }

  private metric(
    ref: PipelineFunctionRef,
    name: MetricName,
    statistic: string,
    period: Duration = Duration.minutes(5),
    extra: Record<string, string> = {},
  ): Metric {
    return new Metric({
      namespace: METRIC_NAMESPACE,
      metricName: name,
      dimensionsMap: { service: ref.service, ...extra },
      statistic,
      period,
    });
  }
}

const graph = (title: string, metrics: IMetric[]) => new GraphWidget({ title, left: metrics, width: 8, height: 6 });
