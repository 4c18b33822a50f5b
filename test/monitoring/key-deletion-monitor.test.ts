// KeyDeletionMonitor: filters per log group, alarm wiring, the created trail and topic, cdk-nag, asserted on the template.
import { Stack } from 'aws-cdk-lib';
import { Annotations, Match, Template } from 'aws-cdk-lib/assertions';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as s3 from 'aws-cdk-lib/aws-s3';
import * as sns from 'aws-cdk-lib/aws-sns';
import { KeyDeletionMonitor, KeyDeletionMonitorProps } from '../../src/monitoring/key-deletion-monitor';
import { nagApp } from '../support/nag';

const CIS = '{($.eventSource=kms.amazonaws.com) && (($.eventName=DisableKey)||($.eventName=ScheduleKeyDeletion))}';

function synth(build: (stack: Stack) => KeyDeletionMonitorProps): { stack: Stack; template: Template; monitor: KeyDeletionMonitor } {
  const app = nagApp();
  const stack = new Stack(app, 'Monitoring', { env: { account: '999999999999', region: 'eu-west-1' } });
  const monitor = new KeyDeletionMonitor(stack, 'Monitor', build(stack));
  // Synthesizing the app runs cdk-nag: an unacknowledged finding fails the test that made it.
  app.synth();
  return { stack, monitor, template: Template.fromStack(stack) };
}

function keys(stack: Stack, n: number): kms.IKey[] {
  return Array.from({ length: n }, (_, i) =>
    kms.Key.fromKeyArn(stack, `K${i}`, `arn:aws:kms:eu-west-1:999999999999:key/00000000-0000-0000-0000-${String(i).padStart(12, '0')}`),
  );
}

describe('KeyDeletionMonitor', () => {
  const LOGGING_GRANT_WARNING = Match.stringLikeRegexp('Unable to add necessary logging permissions to imported target bucket');

  test('GIVEN the access-log bucket the monitor creates WHEN synthesized THEN aws-cdk-lib\'s missing-logging-grant warning is acknowledged', () => {
    const { stack } = synth(() => ({}));
    Annotations.fromStack(stack).hasNoWarning('*', LOGGING_GRANT_WARNING);
  });

  test('GIVEN an imported trailAccessLogsBucket WHEN synthesized THEN the missing-logging-grant warning stays for its owner to act on', () => {
    const { stack } = synth((s) => ({ trailAccessLogsBucket: s3.Bucket.fromBucketName(s, 'Logs', 'central-access-logs') }));
    Annotations.fromStack(stack).hasWarning('*', LOGGING_GRANT_WARNING);
  });

  test('GIVEN 1 key and 200 keys WHEN synthesized THEN both stacks have the same three metric filters', () => {
    const one = synth((s) => ({ keys: keys(s, 1) })).template;
    const many = synth((s) => ({ keys: keys(s, 200) })).template;
    one.resourceCountIs('AWS::Logs::MetricFilter', 3);
    many.resourceCountIs('AWS::Logs::MetricFilter', 3);
    const patterns = (t: Template) => Object.values(t.findResources('AWS::Logs::MetricFilter')).map((r) => r.Properties.FilterPattern).sort();
    expect(patterns(many)).toEqual(patterns(one));
  });

  test('GIVEN defaults WHEN synthesized THEN the CIS filter is verbatim and each filter feeds its metric with 1', () => {
    const { template } = synth(() => ({}));
    template.hasResourceProperties('AWS::Logs::MetricFilter', {
      FilterPattern: CIS,
      MetricTransformations: [{ MetricNamespace: 'CdkCmek', MetricName: 'KeyDisableOrScheduleDeletion', MetricValue: '1' }],
    });
    template.hasResourceProperties('AWS::Logs::MetricFilter', {
      FilterPattern: Match.stringLikeRegexp('KMSInvalidStateException.*\\* is pending deletion\\.'),
      MetricTransformations: [{ MetricNamespace: 'CdkCmek', MetricName: 'KeyPendingDeletionErrors', MetricValue: '1' }],
    });
    template.hasResourceProperties('AWS::Logs::MetricFilter', {
      FilterPattern: Match.stringLikeRegexp('PutKeyPolicy.*CancelKeyDeletion'),
      MetricTransformations: [{ MetricNamespace: 'CdkCmek', MetricName: 'KeyPolicyChangeOrCancelDeletion', MetricValue: '1' }],
    });
  });

  test('GIVEN defaults WHEN synthesized THEN each metric has an alarm at ≥ 1 in 5 minutes, missing data not breaching, to the topic', () => {
    const { template } = synth(() => ({}));
    const topicRef = { Ref: Match.stringLikeRegexp('^MonitorTopic') };
    for (const metric of ['KeyPendingDeletionErrors', 'KeyDisableOrScheduleDeletion', 'KeyPolicyChangeOrCancelDeletion']) {
      template.hasResourceProperties('AWS::CloudWatch::Alarm', {
        AlarmName: `CdkCmek-Monitoring-${metric}`,
        Namespace: 'CdkCmek',
        MetricName: metric,
        Statistic: 'Sum',
        Period: 300,
        EvaluationPeriods: 1,
        Threshold: 1,
        ComparisonOperator: 'GreaterThanOrEqualToThreshold',
        TreatMissingData: 'notBreaching',
        AlarmActions: [topicRef],
      });
    }
    template.resourceCountIs('AWS::CloudWatch::Alarm', 3);
  });

  test.each([
    ['topic', (t: Template) => Object.values(t.findResources('AWS::SNS::Topic'))[0].Properties.KmsMasterKeyId['Fn::GetAtt'][0]],
    ['trail', (t: Template) => Object.values(t.findResources('AWS::CloudTrail::Trail'))[0].Properties.KMSKeyId['Fn::GetAtt'][0]],
  ])('GIVEN no topic and no log group WHEN synthesized THEN the %s key is a CmekKey: guarded, rotating, 30-day window, retained, aliased', (_what, keyOf) => {
    const { template } = synth(() => ({}));
    const keyId = keyOf(template);
    const key = template.findResources('AWS::KMS::Key')[keyId];
    expect(key).toMatchObject({
      DeletionPolicy: 'Retain',
      UpdateReplacePolicy: 'Retain',
      Properties: { EnableKeyRotation: true, RotationPeriodInDays: 365, PendingWindowInDays: 30 },
    });
    expect(key.Properties.KeyPolicy.Statement.map((s: any) => s.Sid)).toEqual(expect.arrayContaining(['CmekAccountRoot', 'CmekDeletionGuard']));
    const alias = Object.values(template.findResources('AWS::KMS::Alias')).find((a) => a.Properties.TargetKeyId['Fn::GetAtt'][0] === keyId)!;
    expect(alias.Properties.AliasName).toMatch(/^alias\/cdk-cmek\/Monitoring-Monitor-(Topic|Trail)Key-[0-9A-F]{8}$/);
  });

  test('GIVEN no topic WHEN synthesized THEN the topic key lets CloudWatch (this account\'s monitor alarms only) and EventBridge (unconditioned) use it', () => {
    const { template } = synth(() => ({}));
    const [topic] = Object.values(template.findResources('AWS::SNS::Topic'));
    const key = template.findResources('AWS::KMS::Key')[topic.Properties.KmsMasterKeyId['Fn::GetAtt'][0]];
    const bySid = Object.fromEntries(key.Properties.KeyPolicy.Statement.map((s: any) => [s.Sid, s]));
    expect(bySid.AllowCloudWatchAlarmsToUseKey).toMatchObject({
      Principal: { Service: 'cloudwatch.amazonaws.com' },
      Action: ['kms:Decrypt', 'kms:GenerateDataKey*'],
      Condition: { StringEquals: { 'aws:SourceAccount': '999999999999' }, ArnLike: { 'aws:SourceArn': expect.anything() } },
    });
    expect(bySid.AllowCloudWatchAlarmsToUseKey.Condition.ArnLike['aws:SourceArn']).toHaveLength(3);
    expect(bySid.AllowEventBridgeToUseKey).toEqual({
      Sid: 'AllowEventBridgeToUseKey',
      Effect: 'Allow',
      Principal: { Service: 'events.amazonaws.com' },
      Action: ['kms:Decrypt', 'kms:GenerateDataKey*'],
      Resource: '*',
    });
  });

  test('GIVEN no log group WHEN synthesized THEN a multi-region trail with file validation writes to a KMS-encrypted log group', () => {
    const { template } = synth(() => ({}));
    template.hasResourceProperties('AWS::CloudTrail::Trail', {
      EnableLogFileValidation: true,
      IsMultiRegionTrail: true,
      IncludeGlobalServiceEvents: true,
      IsLogging: true,
      KMSKeyId: Match.anyValue(),
      CloudWatchLogsLogGroupArn: Match.anyValue(),
    });
    template.hasResourceProperties('AWS::Logs::LogGroup', { KmsKeyId: Match.anyValue(), RetentionInDays: 365 });
    const trailKey = Object.values(template.findResources('AWS::KMS::Key')).find((k) => k.Properties.Description.includes('trail'))!;
    const sids = trailKey.Properties.KeyPolicy.Statement.map((s: any) => s.Sid);
    expect(sids).toEqual(expect.arrayContaining(['AllowCloudWatchLogs', 'AllowCloudTrailEncrypt', 'AllowCloudTrailDescribe']));
  });

  test('GIVEN no log group WHEN synthesized THEN the trail bucket blocks public access, enforces TLS, is versioned and logs access', () => {
    const { template } = synth(() => ({}));
    const trail = Object.values(template.findResources('AWS::CloudTrail::Trail'))[0];
    const bucketId = trail.Properties.S3BucketName.Ref;
    const bucket = template.findResources('AWS::S3::Bucket')[bucketId];
    expect(bucket.Properties).toMatchObject({
      PublicAccessBlockConfiguration: { BlockPublicAcls: true, BlockPublicPolicy: true, IgnorePublicAcls: true, RestrictPublicBuckets: true },
      VersioningConfiguration: { Status: 'Enabled' },
      OwnershipControls: { Rules: [{ ObjectOwnership: 'BucketOwnerEnforced' }] },
    });
    const logsBucketId = bucket.Properties.LoggingConfiguration.DestinationBucketName.Ref;
    expect(template.findResources('AWS::S3::Bucket')[logsBucketId]).toBeDefined();
    const logsPolicy = Object.values(template.findResources('AWS::S3::BucketPolicy')).find((p) => p.Properties.Bucket.Ref === logsBucketId)!;
    expect(logsPolicy.Properties.PolicyDocument.Statement).toContainEqual(
      expect.objectContaining({ Sid: 'AllowS3ServerAccessLogs', Principal: { Service: 'logging.s3.amazonaws.com' }, Action: 's3:PutObject' }),
    );
    const policies = Object.values(template.findResources('AWS::S3::BucketPolicy')).filter((p) => p.Properties.Bucket.Ref === bucketId);
    expect(policies[0].Properties.PolicyDocument.Statement).toContainEqual(
      expect.objectContaining({ Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } } }),
    );
  });

  test('GIVEN an existing log group and topic WHEN synthesized THEN no trail, bucket or topic is created and filters use that group', () => {
    const { template } = synth((s) => ({
      cloudTrailLogGroup: logs.LogGroup.fromLogGroupName(s, 'OrgTrail', 'aws-cloudtrail-logs-org'),
      topic: sns.Topic.fromTopicArn(s, 'Ops', 'arn:aws:sns:eu-west-1:999999999999:ops'),
    }));
    template.resourceCountIs('AWS::CloudTrail::Trail', 0);
    template.resourceCountIs('AWS::S3::Bucket', 0);
    template.resourceCountIs('AWS::SNS::Topic', 0);
    template.allResourcesProperties('AWS::Logs::MetricFilter', { LogGroupName: 'aws-cloudtrail-logs-org' });
    template.allResourcesProperties('AWS::CloudWatch::Alarm', { AlarmActions: ['arn:aws:sns:eu-west-1:999999999999:ops'] });
  });

  test('GIVEN keys WHEN synthesized THEN the EventBridge rule notifies ScheduleKeyDeletion of those keys only', () => {
    const { template } = synth((s) => ({ keys: keys(s, 2), alarmNamePrefix: 'platform' }));
    template.hasResourceProperties('AWS::Events::Rule', {
      EventPattern: {
        'source': ['aws.kms'],
        'detail-type': ['AWS API Call via CloudTrail'],
        'detail': {
          eventSource: ['kms.amazonaws.com'],
          eventName: ['ScheduleKeyDeletion'],
          resources: {
            ARN: [
              'arn:aws:kms:eu-west-1:999999999999:key/00000000-0000-0000-0000-000000000000',
              'arn:aws:kms:eu-west-1:999999999999:key/00000000-0000-0000-0000-000000000001',
            ],
          },
        },
      },
      Targets: [Match.objectLike({ Arn: { Ref: Match.stringLikeRegexp('^MonitorTopic') }, InputTransformer: Match.anyValue() })],
    });
    template.hasResourceProperties('AWS::CloudWatch::Alarm', { AlarmName: 'platform-KeyPendingDeletionErrors' });
  });

  test('GIVEN no keys WHEN synthesized THEN the rule covers any key', () => {
    const { template } = synth(() => ({}));
    const rule = Object.values(template.findResources('AWS::Events::Rule'))[0];
    expect(rule.Properties.EventPattern.detail).toEqual({ eventSource: ['kms.amazonaws.com'], eventName: ['ScheduleKeyDeletion'] });
  });
});
