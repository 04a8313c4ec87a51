import { Duration } from "aws-cdk-lib";
import { Alarm, ComparisonOperator, type IAlarmAction, TreatMissingData } from "aws-cdk-lib/aws-cloudwatch";
import type { IQueue } from "aws-cdk-lib/aws-sqs";
import { Construct } from "constructs";

const RUNBOOK = "Runbook: README.md, section 'Runbook'.";

/** Someone must hear about undelivered data: a DLQ that holds anything, or a queue that stops draining. */
export class PipelineAlarms extends Construct {
  readonly alarms: Alarm[] = [];

  constructor(
    scope: Construct,
    id: string,
    props: {
      deadLetterQueues: Record<string, IQueue>;
      ingestionQueue: IQueue;
      /** Where every alarm goes when it fires (and when it clears). */
      alarmAction: IAlarmAction;
    },
  ) {
    super(scope, id);
    for (const [name, queue] of Object.entries(props.deadLetterQueues)) {
      this.alarms.push(
        new Alarm(this, `${name}NotEmpty`, {
          alarmDescription: `${name} holds messages that could not be processed. ${RUNBOOK}`,
          metric: queue.metricApproximateNumberOfMessagesVisible({ period: Duration.minutes(1) }),
          threshold: 0,
          comparisonOperator: ComparisonOperator.GREATER_THAN_THRESHOLD,
          evaluationPeriods: 1,
          treatMissingData: TreatMissingData.NOT_BREACHING,
        }),
      );
    }
    this.alarms.push(
      new Alarm(this, "IngestionBacklogAge", {
        alarmDescription: `Ingestion queue's oldest message is over an hour old: senders are throttled, Marketo is refusing, or the quota is spent. ${RUNBOOK}`,
        metric: props.ingestionQueue.metricApproximateAgeOfOldestMessage({ period: Duration.minutes(5) }),
        threshold: 3600,
        comparisonOperator: ComparisonOperator.GREATER_THAN_THRESHOLD,
        evaluationPeriods: 3,
        treatMissingData: TreatMissingData.NOT_BREACHING,
      }),
    );
    for (const alarm of this.alarms) {
      alarm.addAlarmAction(props.alarmAction);
      alarm.addOkAction(props.alarmAction);
    }
  }
}
