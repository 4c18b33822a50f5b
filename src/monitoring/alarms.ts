// The one place monitoring alarms are made: naming, thresholds on counts, missing data, the SNS action and its permission.
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as cw_actions from 'aws-cdk-lib/aws-cloudwatch-actions';
import * as sns from 'aws-cdk-lib/aws-sns';
import { Construct } from 'constructs';
import { MonitoringNames } from './naming';
import { TopicPublishers } from './notification-topic';

export interface CountAlarmOptions {
  /** The construct's names; the alarm is named `<names.base>-<name>`. */
  readonly names: MonitoringNames;
  /** The name after the base, part of the public API once released. */
  readonly name: string;
  readonly metric: cloudwatch.IMetric;
  readonly description: string;
  readonly topic: sns.ITopic;
}

/**
 * An alarm when the metric reaches 1 in one period. Missing data is not breaching: these metrics only have
 * data points when something happened (or, for the audit, when a run completed; its failures alarm separately).
 */
export function countAlarm(scope: Construct, id: string, options: CountAlarmOptions): cloudwatch.Alarm {
  const alarmName = options.names.name(options.name);
  const alarm = new cloudwatch.Alarm(scope, id, {
    alarmName,
    alarmDescription: options.description,
    metric: options.metric,
    threshold: 1,
    evaluationPeriods: 1,
    comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
    treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
  });
  alarm.addAlarmAction(new cw_actions.SnsAction(options.topic));
  TopicPublishers.of(options.topic).allowAlarm(alarmName);
  return alarm;
}
