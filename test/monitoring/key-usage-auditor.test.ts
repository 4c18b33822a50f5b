// KeyUsageAuditor: schedule, least-privilege IAM, environment, alarms and validation, asserted on the template.
import { Duration, Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as events from 'aws-cdk-lib/aws-events';
import * as sns from 'aws-cdk-lib/aws-sns';
import { KeyUsageAuditor, KeyUsageAuditorProps } from '../../src/monitoring/key-usage-auditor';
import { nagApp } from '../support/nag';
import { ensureLambdaBundle } from './support/bundle';

beforeAll(() => ensureLambdaBundle('src/monitoring/runtime/key-usage-auditor.lambda.ts'));

function synth(props: KeyUsageAuditorProps = {}, build?: (s: Stack) => KeyUsageAuditorProps): Template {
  const app = nagApp();
  const stack = new Stack(app, 'Audit', { env: { account: '999999999999', region: 'eu-west-1' } });
  new KeyUsageAuditor(stack, 'Auditor', { ...props, ...build?.(stack) });
  app.synth(); // cdk-nag runs here
  return Template.fromStack(stack);
}

function policyStatements(template: Template): any[] {
  const [policy] = Object.values(template.findResources('AWS::IAM::Policy'));
  return policy.Properties.PolicyDocument.Statement;
}

describe('KeyUsageAuditor', () => {
  test('GIVEN defaults WHEN synthesized THEN a daily rule runs the function with a 365-day threshold', () => {
    const template = synth();
    template.hasResourceProperties('AWS::Events::Rule', {
      ScheduleExpression: 'rate(1 day)',
      Targets: [Match.objectLike({ Arn: { 'Fn::GetAtt': [Match.stringLikeRegexp('^AuditorFunction'), 'Arn'] }, RetryPolicy: { MaximumRetryAttempts: 2 } })],
    });
    template.hasResourceProperties('AWS::Lambda::Function', {
      Runtime: 'nodejs24.x',
      Handler: 'index.handler',
      Timeout: 900,
      Environment: { Variables: { THRESHOLD_DAYS: '365' } },
    });
  });

  test('GIVEN defaults WHEN synthesized THEN the function may only list keys, read their use, and publish CdkCmek metrics', () => {
    const template = synth();
    const statements = policyStatements(template);
    const bySid = Object.fromEntries(statements.map((s) => [s.Sid, s]));
    expect(Object.keys(bySid).sort()).toEqual(['ListKeysAndAliases', 'PublishMetrics', 'ReadKeyUsage', 'WriteLogs']);
    expect(bySid.ListKeysAndAliases).toMatchObject({ Action: ['kms:ListKeys', 'kms:ListAliases'], Resource: '*' });
    expect(bySid.ReadKeyUsage.Action).toEqual(['kms:DescribeKey', 'kms:GetKeyLastUsage']);
    expect(JSON.stringify(bySid.ReadKeyUsage.Resource)).toContain(':kms:eu-west-1:999999999999:key/*');
    expect(bySid.PublishMetrics).toMatchObject({
      Action: 'cloudwatch:PutMetricData',
      Condition: { StringEquals: { 'cloudwatch:namespace': 'CdkCmek' } },
    });
    const roles = Object.values(template.findResources('AWS::IAM::Role'));
    expect(roles.every((r) => r.Properties.ManagedPolicyArns === undefined)).toBe(true);
  });

  test('GIVEN a tag filter and alias prefix WHEN synthesized THEN they reach the environment and ListResourceTags is granted', () => {
    const template = synth({ thresholdDays: 90, aliasPrefix: 'alias/cmek/', tagKey: 'cmek:vendor', tagValue: 'acme', schedule: events.Schedule.rate(Duration.hours(6)) });
    template.hasResourceProperties('AWS::Lambda::Function', {
      Environment: { Variables: { THRESHOLD_DAYS: '90', ALIAS_PREFIX: 'alias/cmek/', TAG_KEY: 'cmek:vendor', TAG_VALUE: 'acme' } },
    });
    template.hasResourceProperties('AWS::Events::Rule', { ScheduleExpression: 'rate(6 hours)' });
    const read = policyStatements(template).find((s) => s.Sid === 'ReadKeyUsage');
    expect(read.Action).toEqual(['kms:DescribeKey', 'kms:GetKeyLastUsage', 'kms:ListResourceTags']);
  });

  test('GIVEN defaults WHEN synthesized THEN UnusedKeyCount ≥ 1 and audit errors alarm to an encrypted topic', () => {
    const template = synth();
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      AlarmName: 'CdkCmek-Audit-UnusedKeyCount',
      Namespace: 'CdkCmek',
      MetricName: 'UnusedKeyCount',
      // Its own series: another auditor's threshold or filters never set it off.
      Dimensions: [{ Name: 'Auditor', Value: 'CdkCmek-Audit' }],
      Statistic: 'Maximum',
      Period: 86400,
      Threshold: 1,
      ComparisonOperator: 'GreaterThanOrEqualToThreshold',
      TreatMissingData: 'notBreaching',
      AlarmActions: [{ Ref: Match.stringLikeRegexp('^AuditorTopic') }],
    });
    template.hasResourceProperties('AWS::CloudWatch::Alarm', { AlarmName: 'CdkCmek-Audit-KeyUsageAuditErrors', MetricName: 'Errors', Namespace: 'AWS/Lambda' });
    template.hasResourceProperties('AWS::SNS::Topic', { KmsMasterKeyId: Match.anyValue() });
    template.hasResourceProperties('AWS::Lambda::Function', { Environment: { Variables: Match.objectLike({ AUDITOR_NAME: 'CdkCmek-Audit' }) } });
  });

  test('GIVEN a topic WHEN synthesized THEN no topic is created and alarms notify it', () => {
    const template = synth({}, (s) => ({ topic: sns.Topic.fromTopicArn(s, 'Ops', 'arn:aws:sns:eu-west-1:999999999999:ops') }));
    template.resourceCountIs('AWS::SNS::Topic', 0);
    template.allResourcesProperties('AWS::CloudWatch::Alarm', { AlarmActions: ['arn:aws:sns:eu-west-1:999999999999:ops'] });
  });

  test.each([0, -1, 1.5, 365.25])('GIVEN thresholdDays %s WHEN constructed THEN a clear error', (thresholdDays) => {
    const stack = new Stack(nagApp(), 'Bad');
    expect(() => new KeyUsageAuditor(stack, 'A', { thresholdDays })).toThrow(`\`thresholdDays\` must be an integer ≥ 1, got: ${thresholdDays}`);
  });

  test('GIVEN tagValue without tagKey WHEN constructed THEN a clear error', () => {
    const stack = new Stack(nagApp(), 'Bad');
    expect(() => new KeyUsageAuditor(stack, 'A', { tagValue: 'acme' })).toThrow('`tagValue` needs `tagKey`');
  });
});
