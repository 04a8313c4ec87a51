import { Duration } from "aws-cdk-lib";
import { Alarm, ComparisonOperator, type IAlarmAction, TreatMissingData } from "aws-cdk-lib/aws-cloudwatch";
import type { IQueue } from "aws-cdk-lib/aws-sqs";
import { Construct } from "constructs";

const RUNBOOK = "Runbook: docs/operators.md, section 'Runbook'.";

/**
 * Someone must hear about undelivered data: a DLQ that holds anything, or a split that failed for good. (A queue
 * that stops draining is alarmed by PipelineDashboard, on every work queue's oldest message.)
 */
export class PipelineAlarms extends Construct {
  readonly alarms: Alarm[] = [];

  constructor(
    scope: Construct,
    id: string,
    props: {
      deadLetterQueues: Record<string, IQueue>;
      /** The splitter's asynchronous on-failure destination: any message sent there is a file whose split failed. */
      splitFailures?: IQueue;
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
    if (props.splitFailures) {
      this.alarms.push(
        new Alarm(this, "SplitFailed", {
          alarmDescription: `A split failed for good (retries exhausted, timeout or crash): its report says so and why, and \`marketo-ingest status KEY\` exits 5. Fix the cause the report names, then drop the file again. ${RUNBOOK}`,
          metric: props.splitFailures.metricNumberOfMessagesSent({ period: Duration.minutes(5) }),
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
