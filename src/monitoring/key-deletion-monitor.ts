// KeyDeletionMonitor: CloudTrail metric filters, alarms and an EventBridge rule that warn before a key still in use is lost.
import { Annotations, Duration, RemovalPolicy, Stack } from 'aws-cdk-lib';
import * as cloudtrail from 'aws-cdk-lib/aws-cloudtrail';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as s3 from 'aws-cdk-lib/aws-s3';
import * as sns from 'aws-cdk-lib/aws-sns';
import { Construct } from 'constructs';
import { alarmPrefix, countAlarm } from './alarms';
import {
  DISABLE_OR_SCHEDULE_DELETION_PATTERN,
  PENDING_DELETION_PATTERN,
  POLICY_CHANGE_OR_CANCEL_DELETION_PATTERN,
} from './deletion-patterns';
import { DISABLE_OR_SCHEDULE_DELETION, METRIC_NAMESPACE, PENDING_DELETION_ERRORS, POLICY_CHANGE_OR_CANCEL_DELETION } from './metric-names';
import { KeyMetrics } from './metrics';
import { createNotificationTopic } from './notification-topic';
import { ignoreCfnLint, skipCheckov } from '../private/template-suppressions';

/**
 * The trail bucket and its access-log bucket: SSE-S3 (S3 delivers server access logs only to such a bucket, and
 * CloudTrail's log files are encrypted with the trail's key already), TLS 1.2 only, private, versioned, no ACLs.
 */
const LOG_BUCKET: s3.BucketProps = {
  encryption: s3.BucketEncryption.S3_MANAGED,
  blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
  enforceSSL: true,
  minimumTLSVersion: 1.2,
  versioned: true,
  objectOwnership: s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
};

/** Properties of a `KeyDeletionMonitor`. */
export interface KeyDeletionMonitorProps {
  /**
   * The CloudWatch Logs log group an existing CloudTrail trail delivers to (management events, all regions).
   * Passing the organization's trail log group avoids paying for a second copy of management events.
   *
   * @default - a multi-region trail with log file validation, its locked-down S3 bucket and a KMS-encrypted
   * log group are created
   */
  readonly cloudTrailLogGroup?: logs.ILogGroup;

  /**
   * The SNS topic that receives the alarms and the deletion notices. An encrypted topic's key policy must let
   * `cloudwatch.amazonaws.com` and `events.amazonaws.com` use the key (`kms:Decrypt`, `kms:GenerateDataKey*`).
   *
   * @default - a topic encrypted with a new KMS key whose policy allows exactly that
   */
  readonly topic?: sns.ITopic;

  /**
   * Narrows the immediate ScheduleKeyDeletion notice to these keys. The metric filters always cover every key
   * in the log group: they are per log group, never per key.
   *
   * @default - a notice for any key in the account
   */
  readonly keys?: kms.IKey[];

  /**
   * Prefix of the alarm names (`<prefix>-KeyPendingDeletionErrors`, ...).
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
}

/**
 * Watches CloudTrail for key-deletion risks: KMS calls failing on a key pending deletion, DisableKey /
 * ScheduleKeyDeletion (the CIS filter), and PutKeyPolicy / CancelKeyDeletion. Each has a metric filter and an
 * alarm (≥ 1 in 5 minutes) to an SNS topic; ScheduleKeyDeletion also sends an immediate notice through
 * EventBridge. Three filters per log group whatever the number of keys (a log group allows 100).
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

  private readonly alarmNamePrefix: string;

  constructor(scope: Construct, id: string, props: KeyDeletionMonitorProps = {}) {
    super(scope, id);
    this.alarmNamePrefix = alarmPrefix(this, props.alarmNamePrefix);
    this.topic = props.topic ?? createNotificationTopic(this, 'Topic', 'Key deletion monitor');

    if (props.cloudTrailLogGroup) {
      this.logGroup = props.cloudTrailLogGroup;
    } else {
      const created = this.createTrail(props);
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
    this.scheduleDeletionRule.addTarget(
      new targets.SnsTopic(this.topic, {
        message: events.RuleTargetInput.fromText(
          `KMS key ${events.EventField.fromPath('$.detail.requestParameters.keyId')} was scheduled for deletion by ` +
            `${events.EventField.fromPath('$.detail.userIdentity.arn')} in ${events.EventField.fromPath('$.region')} ` +
            `(pending window: ${events.EventField.fromPath('$.detail.requestParameters.pendingWindowInDays')} days). ` +
            'Cancel with CancelKeyDeletion if the key is still needed.',
        ),
      }),
    );
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
    return countAlarm(this, id, { prefix: this.alarmNamePrefix, name: metric.metricName, metric, description, topic: this.topic });
  }

  private createTrail(props: KeyDeletionMonitorProps): { trail: cloudtrail.Trail; logGroup: logs.LogGroup } {
    const stack = Stack.of(this);
    const key = new kms.Key(this, 'TrailKey', {
      description: 'Encrypts the key deletion monitor trail and its CloudWatch Logs log group',
      enableKeyRotation: true,
      removalPolicy: RemovalPolicy.RETAIN,
    });
    // CloudWatch Logs encrypts with the key only for log groups of this account and region.
    key.addToResourcePolicy(
      new iam.PolicyStatement({
        sid: 'AllowCloudWatchLogs',
        principals: [new iam.ServicePrincipal(`logs.${stack.region}.amazonaws.com`)],
        actions: ['kms:Encrypt*', 'kms:Decrypt*', 'kms:ReEncrypt*', 'kms:GenerateDataKey*', 'kms:Describe*'],
        resources: ['*'],
        conditions: {
          ArnLike: { 'kms:EncryptionContext:aws:logs:arn': `arn:${stack.partition}:logs:${stack.region}:${stack.account}:log-group:*` },
        },
      }),
    );
    // CloudTrail encrypts log files only for trails of this account.
    key.addToResourcePolicy(
      new iam.PolicyStatement({
        sid: 'AllowCloudTrailEncrypt',
        principals: [new iam.ServicePrincipal('cloudtrail.amazonaws.com')],
        actions: ['kms:GenerateDataKey*'],
        resources: ['*'],
        conditions: {
          StringLike: { 'kms:EncryptionContext:aws:cloudtrail:arn': `arn:${stack.partition}:cloudtrail:*:${stack.account}:trail/*` },
        },
      }),
    );
    key.addToResourcePolicy(
      new iam.PolicyStatement({
        sid: 'AllowCloudTrailDescribe',
        principals: [new iam.ServicePrincipal('cloudtrail.amazonaws.com')],
        actions: ['kms:DescribeKey'],
        resources: ['*'],
      }),
    );

    const logGroup = new logs.LogGroup(this, 'TrailLogGroup', {
      encryptionKey: key,
      retention: props.logRetention ?? logs.RetentionDays.ONE_YEAR,
      removalPolicy: RemovalPolicy.RETAIN,
    });

    const ownAccessLogs = props.trailAccessLogsBucket === undefined;
    const accessLogs = props.trailAccessLogsBucket ?? this.createAccessLogsBucket(stack);
    const bucket = new s3.Bucket(this, 'TrailBucket', {
      ...LOG_BUCKET,
      serverAccessLogsBucket: accessLogs,
      serverAccessLogsPrefix: 'trail-bucket/',
      removalPolicy: RemovalPolicy.RETAIN,
    });
    if (ownAccessLogs) {
      // aws-cdk-lib cannot add the logging grant to a referenced bucket and says so; ours carries that grant already.
      // A bucket passed in as `trailAccessLogsBucket` keeps the warning: its owner must grant the logging service.
      Annotations.of(bucket).acknowledgeWarning(
        '@aws-cdk/aws-s3:accessLogsPolicyNotAdded',
        'The access-log bucket the monitor creates grants logging.s3.amazonaws.com by its own bucket policy',
      );
    }

    const trail = new cloudtrail.Trail(this, 'Trail', {
      bucket,
      encryptionKey: key,
      enableFileValidation: true,
      isMultiRegionTrail: true,
      includeGlobalServiceEvents: true,
      sendToCloudWatchLogs: true,
      cloudWatchLogGroup: logGroup,
      managementEvents: cloudtrail.ReadWriteType.ALL,
    });
    ignoreCfnLint(trail, ['W3005'], 'aws-cdk-lib makes the trail depend on its CloudWatch Logs role explicitly; the extra DependsOn is harmless.');
    return { trail, logGroup };
  }

  /**
   * The access-log destination grants the S3 logging service by bucket policy and stays `BucketOwnerEnforced`
   * (no ACLs); it is handed to the trail bucket as a reference so CDK does not fall back to an ACL grant.
   */
  private createAccessLogsBucket(stack: Stack): s3.IBucket {
    const bucket = new s3.Bucket(this, 'TrailAccessLogsBucket', {
      ...LOG_BUCKET,
      lifecycleRules: [{ noncurrentVersionExpiration: Duration.days(365) }],
      removalPolicy: RemovalPolicy.RETAIN,
    });
    skipCheckov(bucket, [{ id: 'CKV_AWS_18', reason: 'This bucket is the destination of the trail bucket access logs; logging it to itself would loop.' }]);
    bucket.addToResourcePolicy(
      new iam.PolicyStatement({
        sid: 'AllowS3ServerAccessLogs',
        principals: [new iam.ServicePrincipal('logging.s3.amazonaws.com')],
        actions: ['s3:PutObject'],
        resources: [bucket.arnForObjects('trail-bucket/*')],
        conditions: { StringEquals: { 'aws:SourceAccount': stack.account } },
      }),
    );
    return s3.Bucket.fromBucketAttributes(this, 'TrailAccessLogsDestination', {
      bucketArn: bucket.bucketArn,
      bucketName: bucket.bucketName,
    });
  }
}
