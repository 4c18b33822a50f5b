// Two of each monitoring construct, in one stack or one per stack, deploy side by side: no physical name is used twice.
import { App, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { ensureLambdaBundle } from './support/bundle';
import { KeyDashboard } from '../../src/monitoring/key-dashboard';
import { KeyDeletionMonitor } from '../../src/monitoring/key-deletion-monitor';
import { KeyUsageAuditor } from '../../src/monitoring/key-usage-auditor';
import { nagApp } from '../support/nag';

beforeAll(() => ensureLambdaBundle('src/monitoring/runtime/key-usage-auditor.lambda.ts'));

const ENV = { account: '999999999999', region: 'eu-west-1' };

/** Properties that name a resource in its account and region, by resource type (absent = CloudFormation generates one). */
const NAME_PROPERTIES: Record<string, string[]> = {
  'AWS::CloudWatch::Alarm': ['AlarmName'],
  'AWS::CloudWatch::Dashboard': ['DashboardName'],
  'AWS::Lambda::Function': ['FunctionName'],
  'AWS::Events::Rule': ['Name'],
  'AWS::CloudTrail::Trail': ['TrailName'],
  'AWS::Logs::LogGroup': ['LogGroupName'],
  'AWS::KMS::Alias': ['AliasName'],
  'AWS::SNS::Topic': ['TopicName'],
  'AWS::S3::Bucket': ['BucketName'],
  'AWS::IAM::Role': ['RoleName'],
  'AWS::IAM::ManagedPolicy': ['ManagedPolicyName'],
};

/** Every physical name the templates set, as `<type> <name>`, once per resource. */
function physicalNames(stacks: Stack[]): string[] {
  return stacks.flatMap((stack) =>
    Object.values(Template.fromStack(stack).toJSON().Resources as Record<string, any>).flatMap((r) =>
      (NAME_PROPERTIES[r.Type] ?? []).filter((p) => r.Properties?.[p] !== undefined).map((p) => `${r.Type} ${JSON.stringify(r.Properties[p])}`),
    ),
  );
}

/** The metric series each alarm watches: two alarms of two constructs reading one series would alarm on each other's data. */
function alarmSeries(stacks: Stack[], metricName: string): string[] {
  return stacks.flatMap((stack) =>
    Object.values(Template.fromStack(stack).findResources('AWS::CloudWatch::Alarm'))
      .filter((a) => a.Properties.MetricName === metricName)
      .map((a) => JSON.stringify([a.Properties.Namespace, a.Properties.MetricName, a.Properties.Dimensions])),
  );
}

function duplicates(names: string[]): string[] {
  return names.filter((n, i) => names.indexOf(n) !== i);
}

function family(stack: Stack, suffix: string): void {
  const monitor = new KeyDeletionMonitor(stack, `Monitor${suffix}`);
  const auditor = new KeyUsageAuditor(stack, `Auditor${suffix}`);
  new KeyDashboard(stack, `Dashboard${suffix}`, { monitor, auditor });
}

function synthesized(app: App, stacks: Stack[]): Stack[] {
  app.synth(); // cdk-nag runs here
  return stacks;
}

describe('physical names of the monitoring constructs', () => {
  test('GIVEN two monitors, auditors and dashboards in one stack WHEN synthesized THEN no physical name repeats and each construct has its own', () => {
    const app = nagApp();
    const stack = new Stack(app, 'Keys', { env: ENV });
    family(stack, 'A');
    family(stack, 'B');
    const stacks = synthesized(app, [stack]);
    const names = physicalNames(stacks);
    expect(duplicates(names)).toEqual([]);
    expect(names.filter((n) => n.startsWith('AWS::CloudWatch::Alarm'))).toHaveLength(10);
    expect(names).toEqual(expect.arrayContaining([
      'AWS::CloudWatch::Alarm "CdkCmek-Keys-MonitorA-KeyPendingDeletionErrors"',
      'AWS::CloudWatch::Alarm "CdkCmek-Keys-MonitorB-KeyPendingDeletionErrors"',
      'AWS::CloudWatch::Alarm "CdkCmek-Keys-AuditorA-UnusedKeyCount"',
      'AWS::CloudWatch::Alarm "CdkCmek-Keys-AuditorB-UnusedKeyCount"',
    ]));
    expect(names.filter((n) => n.startsWith('AWS::KMS::Alias'))).toHaveLength(6);
    expect(duplicates(alarmSeries(stacks, 'UnusedKeyCount'))).toEqual([]);
  });

  test('GIVEN one of each in each of two stacks of one account WHEN synthesized THEN no physical name repeats and each keeps its single-construct names', () => {
    const app = nagApp();
    const stacks = ['KeysA', 'KeysB'].map((name) => new Stack(app, name, { env: ENV }));
    for (const stack of stacks) family(stack, '');
    const names = physicalNames(synthesized(app, stacks));
    expect(duplicates(names)).toEqual([]);
    expect(names).toEqual(expect.arrayContaining([
      'AWS::CloudWatch::Alarm "CdkCmek-KeysA-KeyPendingDeletionErrors"',
      'AWS::CloudWatch::Alarm "CdkCmek-KeysB-KeyPendingDeletionErrors"',
      'AWS::CloudWatch::Alarm "CdkCmek-KeysA-UnusedKeyCount"',
      'AWS::CloudWatch::Alarm "CdkCmek-KeysB-UnusedKeyCount"',
    ]));
    expect(duplicates(alarmSeries(stacks, 'UnusedKeyCount'))).toEqual([]);
  });

  test('GIVEN two stacks with one explicit alarm prefix WHEN synthesized THEN the stack name and construct path tell the alarms apart', () => {
    const app = nagApp();
    const stacks = ['TeamA', 'TeamB'].map((name) => new Stack(app, name, { env: ENV }));
    for (const stack of stacks) new KeyDeletionMonitor(stack, 'Monitor', { alarmNamePrefix: 'platform' });
    const names = physicalNames(synthesized(app, stacks));
    expect(duplicates(names)).toEqual([]);
    expect(names).toContain('AWS::CloudWatch::Alarm "platform-TeamA-Monitor-KeyPendingDeletionErrors"');
  });

  test('GIVEN one monitor and one auditor with one prefix WHEN synthesized THEN both keep the bare prefix (their alarm names differ by kind)', () => {
    const app = nagApp();
    const stack = new Stack(app, 'Org', { env: ENV });
    new KeyDeletionMonitor(stack, 'Monitor', { alarmNamePrefix: 'cmek-org' });
    new KeyUsageAuditor(stack, 'Auditor', { alarmNamePrefix: 'cmek-org' });
    const names = physicalNames(synthesized(app, [stack]));
    expect(names).toEqual(expect.arrayContaining([
      'AWS::CloudWatch::Alarm "cmek-org-KeyPendingDeletionErrors"',
      'AWS::CloudWatch::Alarm "cmek-org-UnusedKeyCount"',
    ]));
  });
});
