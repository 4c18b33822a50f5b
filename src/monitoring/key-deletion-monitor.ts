// KeyDeletionMonitor: CloudTrail metric filters, alarms and an EventBridge rule that warn before a key still in use is lost.
import { Stack, Token } from 'aws-cdk-lib';
import * as cloudtrail from 'aws-cdk-lib/aws-cloudtrail';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as events from 'aws-cdk-lib/aws-events';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as s3 from 'aws-cdk-lib/aws-s3';
import * as sns from 'aws-cdk-lib/aws-sns';
import { Construct } from 'constructs';
import { countAlarm } from './alarms';
import { addCancelDeletionOnUse, validateCancelDeletionKeys } from './cancel-deletion';
import {
  DISABLE_OR_SCHEDULE_DELETION_PATTERN,
  PENDING_DELETION_PATTERN,
  POLICY_CHANGE_OR_CANCEL_DELETION_PATTERN,
} from './deletion-patterns';
import { createMonitorTrail } from './monitor-trail';
import { MonitoringNames } from './naming';
import { createNotificationTopic, TopicPublishers, TopicTarget } from './notification-topic';
import { KeyMetrics } from '../key/key-metrics';
import { DISABLE_OR_SCHEDULE_DELETION, METRIC_NAMESPACE, PENDING_DELETION_ERRORS, POLICY_CHANGE_OR_CANCEL_DELETION } from '../key/metric-names';

/** Properties of a `KeyDeletionMonitor`. */
export interface KeyDeletionMonitorProps {
  /**
   * The CloudWatch Logs log group an existing CloudTrail trail delivers to (management events, all regions).
   * Passing the organization's trail log group avoids paying for a second copy of management events. It must be in
   * this stack's account and Region, where the filters are created.
   *
   * @default - a multi-region trail with log file validation, its locked-down S3 bucket and a KMS-encrypted
   * log group are created
   */
  readonly cloudTrailLogGroup?: logs.ILogGroup;

  /**
   * The SNS topic that receives the alarms and the deletion notices. The monitor adds to its policy an Allow for
   * `cloudwatch.amazonaws.com` (its alarms) and `events.amazonaws.com` (its rule), held to this account and those
   * ARNs. An encrypted topic's key policy must let both services use the key (`kms:Decrypt`,
   * `kms:GenerateDataKey*`), with no source condition on EventBridge's grant.
   *
   * @default - a topic encrypted with a new `CmekKey` whose policy allows exactly that
   */
  readonly topic?: sns.ITopic;

  /**
   * Narrows the immediate ScheduleKeyDeletion notice to these keys, and names the keys whose deletion
   * `cancelDeletionOnUse` may cancel. The metric filters always cover every key in the log group: they are per log
   * group, never per key. Keys must be of this stack's account and Region (EventBridge sees no other CloudTrail
   * events), and keys, not aliases (the notice matches key ARNs).
   *
   * @default - a notice for any key in the account
   */
  readonly keys?: kms.IKey[];

  /**
   * Prefix of the alarm names (`<prefix>-KeyPendingDeletionErrors`, ...). When another monitor in the app, account
   * and region has the same prefix, each one's construct path follows the prefix (`<prefix>-<path>-...`). At most
   * 223 characters, so that the longest alarm name (`<prefix>-KeyPolicyChangeOrCancelDeletion`) fits CloudWatch's 255.
   *
   * @default - `CdkCmek-<stack name>`
   */
  readonly alarmNamePrefix?: string;

  /**
   * How long the created CloudTrail log group keeps events (ignored with `cloudTrailLogGroup`).
   *
   * @default logs.RetentionDays.ONE_YEAR
   */
  readonly logRetention?: logs.RetentionDays;

  /**
   * Where the created trail bucket writes its server access logs (ignored with `cloudTrailLogGroup`).
   *
   * @default - a dedicated, locked-down access-log bucket is created
   */
  readonly trailAccessLogsBucket?: s3.IBucket;

  /**
   * Cancels a listed key's deletion as soon as a call fails because the key is pending deletion.
   *
   * A CloudWatch Logs subscription filter with the pending-deletion pattern invokes a function that calls
   * `CancelKeyDeletion` on that key and reports to `topic` what it did (cancelled, skipped and why, or failed and
   * why). Needs `keys` (at most 40):
   * the function may cancel the deletion of those keys only (`kms:CancelKeyDeletion` and `kms:DescribeKey` on their
   * ARNs) and ignores every other key. A log group allows only 2 subscription filters: this takes one of them, and a
   * third that the app puts on the same log group is refused. An
   * imported encrypted `topic` hides its key from the monitor: that key's policy must let the function's role use it.
   *
   * @default false
   */
  readonly cancelDeletionOnUse?: boolean;

  /**
   * With `cancelDeletionOnUse`: enables the key again after cancelling its deletion (adds `kms:EnableKey` on `keys`).
   *
   * Without it the key stays Disabled, as KMS leaves a key whose deletion is cancelled, and its users keep failing
   * until a person enables it.
   *
   * @default false
   */
  readonly reEnableOnCancel?: boolean;
}

/**
 * Watches CloudTrail for key-deletion risks: KMS calls failing on a key pending deletion, DisableKey /
 * ScheduleKeyDeletion (the CIS filter), and PutKeyPolicy / CancelKeyDeletion. Each has a metric filter and an
 * alarm (≥ 1 in 5 minutes) to an SNS topic; ScheduleKeyDeletion also sends an immediate notice through
 * EventBridge. Three filters per log group whatever the number of keys (a log group allows 100). With
 * `cancelDeletionOnUse`, a function also cancels the deletion of a listed key as soon as a call fails on it.
 */
export class KeyDeletionMonitor extends Construct {
  /** The topic that receives the alarms and notices. */
  public readonly topic: sns.ITopic;
  /** The CloudTrail log group the metric filters read. */
  public readonly logGroup: logs.ILogGroup;
  /** The trail, when this construct created it. */
  public readonly trail?: cloudtrail.Trail;
  /** Alarm: KMS calls failed because a key is pending deletion. */
  public readonly pendingDeletionAlarm: cloudwatch.Alarm;
  /** Alarm: DisableKey or ScheduleKeyDeletion was called. */
  public readonly disableOrScheduleDeletionAlarm: cloudwatch.Alarm;
  /** Alarm: PutKeyPolicy or CancelKeyDeletion was called. */
  public readonly policyChangeOrCancelDeletionAlarm: cloudwatch.Alarm;
  /** The EventBridge rule that sends the ScheduleKeyDeletion notice. */
  public readonly scheduleDeletionRule: events.Rule;
  /** The function that cancels the deletion of a monitored key in use, with `cancelDeletionOnUse`. */
  public readonly cancelDeletionFunction?: lambda.IFunction;

  private readonly names: MonitoringNames;

  constructor(scope: Construct, id: string, props: KeyDeletionMonitorProps = {}) {
    super(scope, id);
    try {
      this.validateKeys(props.keys ?? []);
      if (props.cloudTrailLogGroup) this.validateLogGroup(props.cloudTrailLogGroup);
      this.validateCancelDeletion(props);
      this.names = new MonitoringNames(this, 'KeyDeletionMonitor', props.alarmNamePrefix, [
        PENDING_DELETION_ERRORS,
        DISABLE_OR_SCHEDULE_DELETION,
        POLICY_CHANGE_OR_CANCEL_DELETION,
      ]);
      this.topic = props.topic ?? createNotificationTopic(this, 'Topic', 'Key deletion monitor');

      if (props.cloudTrailLogGroup) {
        this.logGroup = props.cloudTrailLogGroup;
      } else {
        const created = createMonitorTrail(this, props);
        this.trail = created.trail;
        this.logGroup = created.logGroup;
      }

      this.addFilter('PendingDeletionFilter', PENDING_DELETION_PATTERN, PENDING_DELETION_ERRORS);
      this.addFilter('DisableOrScheduleDeletionFilter', DISABLE_OR_SCHEDULE_DELETION_PATTERN, DISABLE_OR_SCHEDULE_DELETION);
      this.addFilter('PolicyChangeOrCancelDeletionFilter', POLICY_CHANGE_OR_CANCEL_DELETION_PATTERN, POLICY_CHANGE_OR_CANCEL_DELETION);

      this.pendingDeletionAlarm = this.alarm(
        'PendingDeletionAlarm',
        this.metricPendingDeletionErrors(),
        'A KMS call failed because its key is pending deletion: something still uses the key. Cancel the deletion (CancelKeyDeletion) before the waiting period ends.',
      );
      this.disableOrScheduleDeletionAlarm = this.alarm(
        'DisableOrScheduleDeletionAlarm',
        this.metricDisableOrScheduleDeletion(),
        'DisableKey or ScheduleKeyDeletion was called on a KMS key (CIS AWS Foundations 4.7 / Security Hub CloudWatch.7).',
      );
      this.policyChangeOrCancelDeletionAlarm = this.alarm(
        'PolicyChangeOrCancelDeletionAlarm',
        this.metricPolicyChangeOrCancelDeletion(),
        'PutKeyPolicy or CancelKeyDeletion was called on a KMS key: a policy change can remove the deletion guard.',
      );

      this.scheduleDeletionRule = new events.Rule(this, 'ScheduleDeletionRule', {
        description: 'Immediate notice of ScheduleKeyDeletion on a KMS key',
        eventPattern: {
          source: ['aws.kms'],
          detailType: ['AWS API Call via CloudTrail'],
          detail: {
            eventSource: ['kms.amazonaws.com'],
            eventName: ['ScheduleKeyDeletion'],
            ...(props.keys && props.keys.length > 0 ? { resources: { ARN: props.keys.map((k) => k.keyArn) } } : {}),
          },
        },
      });
      TopicPublishers.of(this.topic).allowRule(this.scheduleDeletionRule);
      this.scheduleDeletionRule.addTarget(
        new TopicTarget(
          this.topic,
          events.RuleTargetInput.fromText(
            `KMS key ${events.EventField.fromPath('$.detail.requestParameters.keyId')} was scheduled for deletion by ` +
              `${events.EventField.fromPath('$.detail.userIdentity.arn')} in ${events.EventField.fromPath('$.region')} ` +
              `(pending window: ${events.EventField.fromPath('$.detail.requestParameters.pendingWindowInDays')} days). ` +
              'Cancel with CancelKeyDeletion if the key is still needed.',
          ),
        ),
      );

      if (props.cancelDeletionOnUse) {
        this.cancelDeletionFunction = addCancelDeletionOnUse(this, {
          logGroup: this.logGroup,
          filterPattern: PENDING_DELETION_PATTERN,
          keys: props.keys ?? [],
          topic: this.topic,
          reEnable: props.reEnableOnCancel ?? false,
        }).function;
      }
    } catch (e) {
      throw withPath(this.node.path, e);
    }
  }

  /** KMS calls that failed because the key is pending deletion (5-minute sums). */
  public metricPendingDeletionErrors(options: cloudwatch.MetricOptions = {}): cloudwatch.Metric {
    return KeyMetrics.pendingDeletionErrors(options);
  }

  /** DisableKey and ScheduleKeyDeletion calls (5-minute sums). */
  public metricDisableOrScheduleDeletion(options: cloudwatch.MetricOptions = {}): cloudwatch.Metric {
    return KeyMetrics.disableOrScheduleDeletion(options);
  }

  /** PutKeyPolicy and CancelKeyDeletion calls (5-minute sums). */
  public metricPolicyChangeOrCancelDeletion(options: cloudwatch.MetricOptions = {}): cloudwatch.Metric {
    return KeyMetrics.policyChangeOrCancelDeletion(options);
  }

  /** The three alarms, in a stable order. */
  public get alarms(): cloudwatch.Alarm[] {
    return [this.pendingDeletionAlarm, this.disableOrScheduleDeletionAlarm, this.policyChangeOrCancelDeletionAlarm];
  }

  /**
   * EventBridge delivers only this account's and Region's CloudTrail events to the rule, and the rule matches
   * key ARNs: a key elsewhere, or an alias, would never match, and the notice would silently never come.
   */
  private validateKeys(keys: kms.IKey[]): void {
    const here = Stack.of(this);
    for (const key of keys) {
      const arn = key.keyArn;
      // An alias construct (kms.Alias, Alias.fromAliasName) has a target key; an alias ARN shows its marker even
      // when partition, region or account are tokens.
      if ('aliasTargetKey' in key || /:alias\//.test(arn)) {
        throw new Error(`\`keys\` must be keys, not aliases: the notice matches the key ARN in CloudTrail events, so an alias never matches, got: ${describeKey(key)}`);
      }
      const { account, region } = key.env;
      // Without a Region on the stack, keys of two Regions cannot both be in the one it deploys to.
      const other = Token.isUnresolved(here.region) && !Token.isUnresolved(region)
        ? keys.find((k) => !Token.isUnresolved(k.env.region) && k.env.region !== region)
        : undefined;
      if (other) {
        throw new Error(`\`keys\` must all be in this stack's Region: EventBridge sees only its own Region's CloudTrail events, got: ${describeKey(key)} in ${region} and ${describeKey(other)} in ${other.env.region}`);
      }
      if (!Token.isUnresolved(region) && !Token.isUnresolved(here.region) && region !== here.region) {
        throw new Error(`\`keys\` must be in this stack's Region (${here.region}): EventBridge sees only its own Region's CloudTrail events, got: ${describeKey(key)} in ${region}`);
      }
      if (!Token.isUnresolved(account) && !Token.isUnresolved(here.account) && account !== here.account) {
        throw new Error(`\`keys\` must be in this stack's account (${here.account}): EventBridge sees only its own account's CloudTrail events, got: ${describeKey(key)} in account ${account}`);
      }
    }
  }

  /**
   * The filters and the subscription are created in this stack's account and Region, where a log group of another
   * account or Region does not exist: they would fail to deploy, or read a namesake log group.
   */
  private validateLogGroup(logGroup: logs.ILogGroup): void {
    const here = Stack.of(this);
    const { account, region } = logGroup.env;
    const arn = Token.isUnresolved(logGroup.logGroupArn) ? logGroup.node.path : logGroup.logGroupArn;
    if (!Token.isUnresolved(region) && !Token.isUnresolved(here.region) && region !== here.region) {
      throw new Error(`\`cloudTrailLogGroup\` must be in this stack's Region (${here.region}): its filters are created beside it, got: ${arn} in ${region}`);
    }
    if (!Token.isUnresolved(account) && !Token.isUnresolved(here.account) && account !== here.account) {
      throw new Error(`\`cloudTrailLogGroup\` must be in this stack's account (${here.account}): its filters are created beside it, got: ${arn} in account ${account}`);
    }
  }

  /** Cancelling needs the keys it may act on; re-enabling means nothing without cancelling. */
  private validateCancelDeletion(props: KeyDeletionMonitorProps): void {
    if (props.reEnableOnCancel && !props.cancelDeletionOnUse) {
      throw new Error('`reEnableOnCancel` needs `cancelDeletionOnUse: true` (only a cancelled key is enabled again), got: reEnableOnCancel without cancelDeletionOnUse');
    }
    if (props.cancelDeletionOnUse) validateCancelDeletionKeys(props.keys);
  }

  private addFilter(id: string, pattern: string, metricName: string): logs.MetricFilter {
    return new logs.MetricFilter(this, id, {
      logGroup: this.logGroup,
      filterPattern: logs.FilterPattern.literal(pattern),
      metricNamespace: METRIC_NAMESPACE,
      metricName,
      metricValue: '1',
    });
  }

  private alarm(id: string, metric: cloudwatch.Metric, description: string): cloudwatch.Alarm {
    return countAlarm(this, id, { names: this.names, name: metric.metricName, metric, description, topic: this.topic });
  }
}

/** A key as an error names it: its ARN when known at synth, its alias name, or its construct path. */
function describeKey(key: kms.IKey): string {
  if (!Token.isUnresolved(key.keyArn)) return key.keyArn;
  const cfnAlias = key.node.defaultChild;
  const aliasName = cfnAlias instanceof kms.CfnAlias ? cfnAlias.aliasName : (key as Partial<kms.IAlias>).aliasName;
  if (typeof aliasName === 'string' && !Token.isUnresolved(aliasName)) return aliasName;
  return key.node.path;
}
import { withPath } from '../private/errors';
