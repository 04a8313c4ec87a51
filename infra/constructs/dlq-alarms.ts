import { Duration } from "aws-cdk-lib";
import { Alarm, ComparisonOperator, type IAlarmAction, TreatMissingData } from "aws-cdk-lib/aws-cloudwatch";
import type { IQueue } from "aws-cdk-lib/aws-sqs";
import { Construct } from "constructs";

const RUNBOOK = "Runbook: README.md, section 'Runbook'.";

/**
 * Someone must hear about undelivered data: a DLQ that holds anything. (A queue that stops draining is alarmed by
 * PipelineDashboard, on every work queue's oldest message.)
 */
export class PipelineAlarms extends Construct {
  readonly alarms: Alarm[] = [];

  constructor(
    scope: Construct,
    id: string,
    props: {
      deadLetterQueues: Record<string, IQueue>;
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
    for (const alarm of this.alarms) {
      alarm.addAlarmAction(props.alarmAction);
      alarm.addOkAction(props.alarmAction);
    }
  }
}
