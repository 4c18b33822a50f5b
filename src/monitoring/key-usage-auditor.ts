// KeyUsageAuditor: a scheduled Lambda that publishes days-since-last-use per customer-managed key and alarms on unused keys.
import * as path from 'node:path';
import { Duration, Stack, Token } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as sns from 'aws-cdk-lib/aws-sns';
import { Construct } from 'constructs';
import { countAlarm } from './alarms';
import { MonitoringNames } from './naming';
import { createNotificationTopic } from './notification-topic';
import { KeyMetrics } from '../key/key-metrics';
import { AUDITOR_DIMENSION, METRIC_NAMESPACE, UNUSED_KEY_COUNT } from '../key/metric-names';
import { AUDITOR_LIST_ACTIONS, AUDITOR_READ_ACTIONS, PUT_METRIC_ACTIONS } from '../private/actions';
import { normalizeAliasPrefix } from '../private/alias-prefix';
import { withPath } from '../private/errors';
import { createOwnedFunction } from '../private/owned-function';
import { acknowledgeNag, nagValue } from '../private/suppressions';
import { validateInteger } from '../private/validate';

/** The name after the prefix of the alarm on failed audits. */
const AUDIT_ERRORS = 'KeyUsageAuditErrors';

/** The audit function's bundle, built by `projen bundle` and shipped in the package. */
export const AUDITOR_BUNDLE_DIR = path.join(__dirname, '..', '..', 'assets', 'monitoring', 'runtime', 'key-usage-auditor.lambda');

/**
 * The audit code of the auditors in a stack whose accounts cannot read the CDK asset bucket (a StackSet's member
 * stack, which takes it from the organization's code buckets). Other stacks take the bundle as an asset.
 */
export const AUDITOR_CODE = new WeakMap<Stack, lambda.Code>();

/** The options of a `KeyUsageAuditor` that are plain values, so any account's stack can take them. */
export interface KeyUsageAuditorOptions {
  /**
   * Days without cryptographic use after which a key counts as unused (integer ≥ 1). A key never used since
   * GetKeyLastUsage tracking started counts from the tracking start or its creation, whichever is later.
   *
   * @default 365
   */
  readonly thresholdDays?: number;

  /**
   * When the audit runs.
   *
   * @default - once a day
   */
  readonly schedule?: events.Schedule;

  /**
   * Audit only keys with an alias starting with this prefix (e.g. `alias/cmek/`; `alias/` is added when missing).
   *
   * @default - every customer-managed key in the account and region
   */
  readonly aliasPrefix?: string;

  /**
   * Audit only keys carrying this tag key (adds `kms:ListResourceTags` to the function's permissions).
   *
   * @default - no tag filter
   */
  readonly tagKey?: string;

  /**
   * With `tagKey`: audit only keys whose tag has this value.
   *
   * @default - any value of `tagKey`
   */
  readonly tagValue?: string;

  /**
   * Prefix of the alarm names (`<prefix>-UnusedKeyCount`, `<prefix>-KeyUsageAuditErrors`). When another auditor
   * in the app, account and region has the same prefix, each one's construct path follows the prefix. At most 235
   * characters, so that the longest alarm name fits CloudWatch's 255.
   *
   * @default - `CdkCmek-<stack name>`
   */
  readonly alarmNamePrefix?: string;

  /**
   * How long the function's log group keeps the audit logs.
   *
   * @default logs.RetentionDays.ONE_YEAR
   */
  readonly logRetention?: logs.RetentionDays;
}

/** Properties of a `KeyUsageAuditor`. */
export interface KeyUsageAuditorProps extends KeyUsageAuditorOptions {
  /**
   * The SNS topic the alarms notify. The auditor adds to its policy an Allow for `cloudwatch.amazonaws.com`, held
   * to this account and its alarms' ARNs; an encrypted topic's key policy must let that service use the key.
   *
   * @default - a topic encrypted with a new `CmekKey`, which CloudWatch (these alarms) and EventBridge may use
   */
  readonly topic?: sns.ITopic;
}

/**
 * Runs a usage audit of the account's customer-managed KMS keys on a schedule: pages ListKeys, keeps
 * customer-managed keys (not pending deletion), calls GetKeyLastUsage within its 5 requests/s quota, and
 * publishes `CdkCmek/DaysSinceLastUse` per key (dimension `KeyId`) and `CdkCmek/UnusedKeyCount`, with an
 * alarm when any key is unused past the threshold and one when the audit itself fails.
 */
export class KeyUsageAuditor extends Construct {
  /** The audit function. */
  public readonly auditFunction: lambda.Function;
  /** The topic the alarms notify. */
  public readonly topic: sns.ITopic;
  /** Alarm: at least one key unused for longer than the threshold. */
  public readonly unusedKeysAlarm: cloudwatch.Alarm;
  /** Alarm: the audit function failed. */
  public readonly auditErrorsAlarm: cloudwatch.Alarm;
  /** The threshold in days. */
  public readonly thresholdDays: number;
  /**
   * This auditor's name: the `Auditor` dimension of its own `UnusedKeyCount`, and the start of its alarm names.
   */
  public readonly auditorName: string;

  constructor(scope: Construct, id: string, props: KeyUsageAuditorProps = {}) {
    super(scope, id);
    try {
      this.thresholdDays = props.thresholdDays ?? 365;
      this.validateThresholdDays();
      this.validateTagFilter(props);
      // Normalised as KMS spells alias names: `cmek/` would otherwise match no alias and audit nothing.
      const aliasPrefix = props.aliasPrefix === undefined || Token.isUnresolved(props.aliasPrefix)
        ? props.aliasPrefix
        : normalizeAliasPrefix(props.aliasPrefix);
      const stack = Stack.of(this);
      const names = new MonitoringNames(this, 'KeyUsageAuditor', props.alarmNamePrefix, [UNUSED_KEY_COUNT, AUDIT_ERRORS]);
      this.auditorName = names.base;
      this.topic = props.topic ?? createNotificationTopic(this, 'Topic', 'Key usage audit');

      // Key actions on this account's keys only.
      const keyArns = `arn:${stack.partition}:kms:${stack.region}:${stack.account}:key/*`;
      const owned = createOwnedFunction(this, {
        roleDescription: 'KeyUsageAuditor: reads KMS key metadata and last use, publishes CdkCmek metrics',
        description: 'Audits customer-managed KMS keys with GetKeyLastUsage and publishes CdkCmek metrics',
        handler: 'index.handler',
        code: AUDITOR_CODE.get(stack) ?? lambda.Code.fromAsset(AUDITOR_BUNDLE_DIR),
        // 5 GetKeyLastUsage calls per second: 15 minutes cover about 4,000 keys.
        timeout: Duration.minutes(15),
        memorySize: 256,
        logRetention: props.logRetention ?? logs.RetentionDays.ONE_YEAR,
        environment: {
          THRESHOLD_DAYS: String(this.thresholdDays),
          AUDITOR_NAME: this.auditorName,
          ...(aliasPrefix !== undefined ? { ALIAS_PREFIX: aliasPrefix } : {}),
          ...(props.tagKey ? { TAG_KEY: props.tagKey } : {}),
          ...(props.tagValue ? { TAG_VALUE: props.tagValue } : {}),
        },
        statements: [
          new iam.PolicyStatement({ sid: 'ListKeysAndAliases', actions: [...AUDITOR_LIST_ACTIONS], resources: ['*'] }),
          new iam.PolicyStatement({
            sid: 'ReadKeyUsage',
            actions: [...AUDITOR_READ_ACTIONS, ...(props.tagKey ? ['kms:ListResourceTags'] : [])],
            resources: [keyArns],
          }),
          new iam.PolicyStatement({
            sid: 'PublishMetrics',
            actions: [...PUT_METRIC_ACTIONS],
            resources: ['*'],
            conditions: { StringEquals: { 'cloudwatch:namespace': METRIC_NAMESPACE } },
          }),
        ],
        logStatementSid: 'WriteLogs',
        reasons: {
          noDeadLetterQueue: 'Scheduled and retried by EventBridge; a failed run raises the KeyUsageAuditErrors alarm, and the next run repeats the audit.',
          noVpc: 'The audit calls only the KMS and CloudWatch public endpoints and reaches no private resource.',
          noReservedConcurrency: 'One daily run; reserving concurrency fails to deploy in accounts at the minimum unreserved concurrency.',
          plainEnvironment: 'The environment holds only the threshold and key filters, no secret.',
          unencryptedLogs: 'The audit log holds key ids and day counts only, no key material or data; CloudWatch Logs encrypts it at rest.',
        },
      });
      this.auditFunction = owned.function;
      const policy = owned.policy;
      // The first scheduled run must already have its permissions.
      this.auditFunction.node.addDependency(policy);
      acknowledgeNag(
        policy,
        {
          id: 'AwsSolutions-IAM5[Resource::*]',
          reason: 'kms:ListKeys, kms:ListAliases and cloudwatch:PutMetricData take no resource ARN; PutMetricData is limited to the CdkCmek namespace.',
        },
        {
          id: `AwsSolutions-IAM5[Resource::arn:${nagValue(stack.partition, 'Partition')}:kms:${nagValue(stack.region, 'Region')}:${nagValue(stack.account, 'AccountId')}:key/*]`,
          reason: 'The audit reads the metadata and last use of every key in this account and region, and only those (read-only actions).',
        },
      );

      new events.Rule(this, 'Schedule', {
        description: 'Runs the KMS key usage audit',
        schedule: props.schedule ?? events.Schedule.rate(Duration.days(1)),
        targets: [new targets.LambdaFunction(this.auditFunction, { retryAttempts: 2 })],
      });

      this.unusedKeysAlarm = countAlarm(this, 'UnusedKeysAlarm', {
        names,
        name: UNUSED_KEY_COUNT,
        metric: this.metricUnusedKeyCount(),
        description: `At least one customer-managed KMS key has not been used for more than ${this.thresholdDays} days: a candidate for review before anyone deletes it.`,
        topic: this.topic,
      });
      this.auditErrorsAlarm = countAlarm(this, 'AuditErrorsAlarm', {
        names,
        name: AUDIT_ERRORS,
        metric: this.auditFunction.metricErrors({ period: Duration.days(1), statistic: cloudwatch.Stats.SUM }),
        description: 'The KMS key usage audit failed: DaysSinceLastUse and UnusedKeyCount are stale.',
        topic: this.topic,
      });
    } catch (e) {
      throw withPath(this.node.path, e);
    }
  }

  /**
   * Keys unused for longer than this auditor's threshold, per audit run. Its own series (dimension `Auditor`):
   * auditors with other thresholds or filters publish other counts.
   */
  public metricUnusedKeyCount(options: cloudwatch.MetricOptions = {}): cloudwatch.Metric {
    return KeyMetrics.unusedKeyCount({ ...options, dimensionsMap: { ...options.dimensionsMap, [AUDITOR_DIMENSION]: this.auditorName } });
  }

  /** Days since the key was last used, as published by this audit. */
  public metricDaysSinceLastUse(keyId: string, options: cloudwatch.MetricOptions = {}): cloudwatch.Metric {
    return KeyMetrics.daysSinceLastUse(keyId, options);
  }

  private validateThresholdDays(): void {
    validateInteger('thresholdDays', this.thresholdDays, 1);
  }

  private validateTagFilter(props: KeyUsageAuditorProps): void {
    if (props.tagValue !== undefined && props.tagKey === undefined) {
      throw new Error(`\`tagValue\` needs \`tagKey\`, got: tagValue ${JSON.stringify(props.tagValue)} without a tag key`);
    }
  }
}
