// The trail a KeyDeletionMonitor creates when given no log group: a CmekKey, an encrypted log group, locked-down buckets.
import { Annotations, Duration, RemovalPolicy, Stack } from 'aws-cdk-lib';
import * as cloudtrail from 'aws-cdk-lib/aws-cloudtrail';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { Construct } from 'constructs';
import { libraryKeyAlias } from './naming';
import { CmekKey } from '../key/cmek-key';
import { LOGS_SERVICE_KEY_ACTIONS } from '../private/actions';
import { ignoreCfnLint, skipCheckov } from '../private/suppressions';

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

/** The monitor's settings the trail reads (a `KeyDeletionMonitorProps` is one). */
export interface MonitorTrailOptions {
  /** How long the trail's log group keeps events. @default logs.RetentionDays.ONE_YEAR */
  readonly logRetention?: logs.RetentionDays;
  /** Where the trail bucket writes its server access logs. @default - a dedicated access-log bucket */
  readonly trailAccessLogsBucket?: s3.IBucket;
}

/**
 * A multi-region trail with log file validation, delivering to a bucket and to a log group both encrypted with
 * a `CmekKey` (deletion-guarded, rotating, retained) whose policy lets CloudTrail and CloudWatch Logs of this
 * account use it. Construct ids are the monitor's own, so the resources keep their paths.
 */
export function createMonitorTrail(scope: Construct, props: MonitorTrailOptions): { trail: cloudtrail.Trail; logGroup: logs.LogGroup } {
  const stack = Stack.of(scope);
  const key: CmekKey = new CmekKey(scope, 'TrailKey', {
    alias: libraryKeyAlias(() => key),
    description: 'Encrypts the key deletion monitor trail and its CloudWatch Logs log group',
  });
  // CloudWatch Logs encrypts with the key only for log groups of this account and region.
  key.addToResourcePolicy(
    new iam.PolicyStatement({
      sid: 'AllowCloudWatchLogs',
      principals: [new iam.ServicePrincipal(`logs.${stack.region}.amazonaws.com`)],
      actions: [...LOGS_SERVICE_KEY_ACTIONS],
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

  const logGroup = new logs.LogGroup(scope, 'TrailLogGroup', {
    encryptionKey: key,
    retention: props.logRetention ?? logs.RetentionDays.ONE_YEAR,
    removalPolicy: RemovalPolicy.RETAIN,
  });

  const ownAccessLogs = props.trailAccessLogsBucket === undefined;
  const accessLogs = props.trailAccessLogsBucket ?? createAccessLogsBucket(scope, stack);
  const bucket = new s3.Bucket(scope, 'TrailBucket', {
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

  const trail = new cloudtrail.Trail(scope, 'Trail', {
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
function createAccessLogsBucket(scope: Construct, stack: Stack): s3.IBucket {
  const bucket = new s3.Bucket(scope, 'TrailAccessLogsBucket', {
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
  return s3.Bucket.fromBucketAttributes(scope, 'TrailAccessLogsDestination', {
    bucketArn: bucket.bucketArn,
    bucketName: bucket.bucketName,
  });
}
