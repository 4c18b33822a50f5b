// The one place monitoring alarms are made: naming (`<prefix>-<name>`), thresholds on counts, missing data, SNS action.
import { Stack } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as cw_actions from 'aws-cdk-lib/aws-cloudwatch-actions';
import * as sns from 'aws-cdk-lib/aws-sns';
import { Construct } from 'constructs';

export interface CountAlarmOptions {
  /** Alarm name prefix; the full name is `<prefix>-<name>`. */
  readonly prefix: string;
  /** The name after the prefix, part of the public API once released. */
  readonly name: string;
  readonly metric: cloudwatch.IMetric;
  readonly description: string;
  readonly topic: sns.ITopic;
}

/** `CdkCmek-<stack name>` unless the user chose a prefix. */
export function alarmPrefix(scope: Construct, prefix?: string): string {
  return prefix ?? `CdkCmek-${Stack.of(scope).stackName}`;
}

/**
 * An alarm when the metric reaches 1 in one period. Missing data is not breaching: these metrics only have
 * data points when something happened (or, for the audit, when a run completed; its failures alarm separately).
 */
export function countAlarm(scope: Construct, id: string, options: CountAlarmOptions): cloudwatch.Alarm {
  const alarm = new cloudwatch.Alarm(scope, id, {
    alarmName: `${options.prefix}-${options.name}`,
    alarmDescription: options.description,
    metric: options.metric,
    threshold: 1,
    evaluationPeriods: 1,
    comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
    treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
  });
  alarm.addAlarmAction(new cw_actions.SnsAction(options.topic));
  return alarm;
}
