// KeyDeletionMonitor's cancelDeletionOnUse in the template: the subscription sees what the alarm counts, the function may
// cancel the deletion of the listed keys only (simulated), and only the trail log group's subscription may invoke it.
import { runSimulation } from '@cloud-copilot/iam-simulate';
import { Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as logs from 'aws-cdk-lib/aws-logs';
import { CmekKey } from '../../src/key/cmek-key';
import { PENDING_DELETION_PATTERN } from '../../src/monitoring/deletion-patterns';
import { KeyDeletionMonitor, KeyDeletionMonitorProps } from '../../src/monitoring/key-deletion-monitor';
import { resolveCfn } from '../support/cfn';
import { nagApp } from '../support/nag';

const ACCOUNT = '111122223333';
const REGION = 'eu-west-1';
const IMPORTED = `arn:aws:kms:${REGION}:${ACCOUNT}:key/1234abcd-12ab-34cd-56ef-1234567890ab`;
const UNLISTED = `arn:aws:kms:${REGION}:${ACCOUNT}:key/99999999-12ab-34cd-56ef-1234567890ab`;

function monitored(props: Partial<KeyDeletionMonitorProps> = {}): { stack: Stack; template: Template; key: CmekKey } {
  const stack = new Stack(nagApp(), 'S', { env: { account: ACCOUNT, region: REGION } });
  const key = new CmekKey(stack, 'Key', { alias: 'cmek/watched' });
  new KeyDeletionMonitor(stack, 'Monitor', {
    keys: [key, kms.Key.fromKeyArn(stack, 'Imported', IMPORTED)],
    cancelDeletionOnUse: true,
    ...props,
  });
  // Synthesis runs cdk-nag: an unacknowledged finding fails here.
  return { stack, template: Template.fromStack(stack), key };
}

function onlyLogicalId(template: Template, type: string, props?: object): string {
  const ids = Object.keys(template.findResources(type, props ? { Properties: props } : undefined));
  expect(ids).toHaveLength(1);
  return ids[0];
}

/** Each resource's Ref and Arn as one test deployment would have them (keys get key ARNs). */
function deployedValues(template: Template): Record<string, string> {
  const values: Record<string, string> = {};
  for (const [id, resource] of Object.entries(template.toJSON().Resources as Record<string, { Type: string }>)) {
    const service = resource.Type.split('::')[1].toLowerCase();
    values[id] = `ref-${id}`;
    values[`${id}.Arn`] = service === 'kms' ? `arn:aws:kms:${REGION}:${ACCOUNT}:key/${id}` : `arn:aws:${service}:${REGION}:${ACCOUNT}:${id}`;
  }
  return values;
}

describe('KeyDeletionMonitor cancelDeletionOnUse', () => {
  test('GIVEN the option off (the default) THEN there is no function and no subscription', () => {
    const stack = new Stack(nagApp(), 'S', { env: { account: ACCOUNT, region: REGION } });
    new KeyDeletionMonitor(stack, 'Monitor', { cloudTrailLogGroup: logs.LogGroup.fromLogGroupName(stack, 'T', 'trail') });
    const template = Template.fromStack(stack);
    template.resourceCountIs('AWS::Lambda::Function', 0);
    template.resourceCountIs('AWS::Logs::SubscriptionFilter', 0);
  });

  test('GIVEN the option WHEN synthesized THEN the subscription filter has the pending-deletion metric filter\'s pattern, on the same log group, to the function', () => {
    const { template } = monitored();
    const metricFilter = Object.values(template.findResources('AWS::Logs::MetricFilter', {
      Properties: { MetricTransformations: [Match.objectLike({ MetricName: 'KeyPendingDeletionErrors' })] },
    }))[0];
    const subscriptions = Object.values(template.findResources('AWS::Logs::SubscriptionFilter'));
    expect(subscriptions).toHaveLength(1);
    const subscription = subscriptions[0].Properties;
    expect(subscription.FilterPattern).toBe(PENDING_DELETION_PATTERN);
    expect(subscription.FilterPattern).toBe(metricFilter.Properties.FilterPattern);
    expect(subscription.LogGroupName).toEqual(metricFilter.Properties.LogGroupName);
    const fn = onlyLogicalId(template, 'AWS::Lambda::Function');
    expect(subscription.DestinationArn).toEqual({ 'Fn::GetAtt': [fn, 'Arn'] });
  });

  test('GIVEN the option WHEN synthesized THEN only the trail log group\'s subscription, in this account, may invoke the function, before the filter exists', () => {
    const { template } = monitored();
    const fn = onlyLogicalId(template, 'AWS::Lambda::Function');
    const logGroup = onlyLogicalId(template, 'AWS::Logs::LogGroup', { KmsKeyId: Match.anyValue() });
    const permissions = template.findResources('AWS::Lambda::Permission');
    expect(Object.values(permissions).map((p) => p.Properties)).toEqual([{
      Action: 'lambda:InvokeFunction',
      FunctionName: { 'Fn::GetAtt': [fn, 'Arn'] },
      Principal: 'logs.amazonaws.com',
      SourceAccount: ACCOUNT,
      SourceArn: { 'Fn::GetAtt': [logGroup, 'Arn'] },
    }]);
    const subscription = Object.values(template.findResources('AWS::Logs::SubscriptionFilter'))[0];
    expect(subscription.DependsOn).toEqual(expect.arrayContaining(Object.keys(permissions)));
  });

  test('GIVEN the option WHEN synthesized THEN the key statement is exactly DescribeKey and CancelKeyDeletion on the listed keys, and EnableKey only with reEnableOnCancel', () => {
    const keyStatements = (template: Template) => Object.values(template.findResources('AWS::IAM::Policy'))
      .flatMap((p) => p.Properties.PolicyDocument.Statement)
      .filter((s: any) => [s.Action].flat().some((a: string) => a.startsWith('kms:') && !['kms:Decrypt', 'kms:GenerateDataKey*'].includes(a)));
    const { template: plain, key } = monitored();
    const keyArn = { 'Fn::GetAtt': [Stack.of(key).getLogicalId(key.key.node.defaultChild as kms.CfnKey), 'Arn'] };
    expect(keyStatements(plain)).toEqual([{
      Sid: 'CancelDeletionOfMonitoredKeys', Effect: 'Allow', Action: ['kms:DescribeKey', 'kms:CancelKeyDeletion'], Resource: [keyArn, IMPORTED],
    }]);
    expect(keyStatements(monitored({ reEnableOnCancel: true }).template)[0].Action).toEqual(['kms:DescribeKey', 'kms:CancelKeyDeletion', 'kms:EnableKey']);
  });

  test('GIVEN the option WHEN the function\'s role is simulated THEN it may cancel a listed key\'s deletion, and nothing on another key, and never schedule one', async () => {
    const { template, key, stack } = monitored();
    const values = deployedValues(template);
    const role = onlyLogicalId(template, 'AWS::IAM::Role', { Description: Match.stringLikeRegexp('cancels the deletion') });
    const identityPolicies = Object.entries(template.findResources('AWS::IAM::Policy'))
      .filter(([, p]) => JSON.stringify(p.Properties.Roles) === JSON.stringify([{ Ref: role }]))
      .map(([id, p]) => ({ name: id, policy: resolveCfn(p.Properties.PolicyDocument, { account: ACCOUNT, region: REGION, values }) }));
    expect(identityPolicies.length).toBeGreaterThan(0);
    const keyId = stack.getLogicalId(key.key.node.defaultChild as kms.CfnKey);
    const keyPolicy = resolveCfn(template.toJSON().Resources[keyId].Properties.KeyPolicy, { account: ACCOUNT, region: REGION, values });
    // The account's usual default policy for keys the stack does not own: IAM policies decide.
    const delegating = { Version: '2012-10-17', Statement: [{ Effect: 'Allow', Principal: { AWS: `arn:aws:iam::${ACCOUNT}:root` }, Action: 'kms:*', Resource: '*' }] };

    const ask = async (action: string, resource: string, resourcePolicy: unknown) => {
      const result = await runSimulation({
        request: {
          principal: `arn:aws:iam::${ACCOUNT}:role/${role}`,
          action,
          resource: { resource, accountId: ACCOUNT },
          contextVariables: {},
        },
        identityPolicies,
        serviceControlPolicies: [],
        resourceControlPolicies: [],
        resourcePolicy,
      }, {});
      if (result.resultType !== 'single') throw new Error(`simulation rejected: ${JSON.stringify(result)}`);
      return result.overallResult;
    };

    expect(await ask('kms:CancelKeyDeletion', values[`${keyId}.Arn`], keyPolicy)).toBe('Allowed');
    expect(await ask('kms:DescribeKey', values[`${keyId}.Arn`], keyPolicy)).toBe('Allowed');
    expect(await ask('kms:CancelKeyDeletion', IMPORTED, delegating)).toBe('Allowed');
    expect(await ask('kms:CancelKeyDeletion', UNLISTED, delegating)).toBe('ImplicitlyDenied');
    expect(await ask('kms:ScheduleKeyDeletion', IMPORTED, delegating)).toBe('ImplicitlyDenied');
    expect(await ask('kms:EnableKey', IMPORTED, delegating)).toBe('ImplicitlyDenied');
    expect(await ask('kms:Decrypt', IMPORTED, delegating)).toBe('ImplicitlyDenied');
  });

  test('GIVEN the option WHEN synthesized THEN the function may publish to the monitor topic only, and use the topic key for it', () => {
    const { template } = monitored();
    const topic = onlyLogicalId(template, 'AWS::SNS::Topic');
    const statements = Object.values(template.findResources('AWS::IAM::Policy')).flatMap((p) => p.Properties.PolicyDocument.Statement);
    expect(statements.filter((s: any) => [s.Action].flat().some((a: string) => a.startsWith('sns:')))).toEqual([
      { Action: 'sns:Publish', Effect: 'Allow', Resource: { Ref: topic } },
    ]);
    const topicKeyId = template.toJSON().Resources[topic].Properties.KmsMasterKeyId['Fn::GetAtt'][0];
    expect(statements).toContainEqual({ Action: ['kms:Decrypt', 'kms:GenerateDataKey*'], Effect: 'Allow', Resource: { 'Fn::GetAtt': [topicKeyId, 'Arn'] } });
  });

  test('GIVEN the option WHEN synthesized THEN the environment carries the listed key ARNs, the flag and the topic', () => {
    const { template, key } = monitored({ reEnableOnCancel: true });
    const keyId = Stack.of(key).getLogicalId(key.key.node.defaultChild as kms.CfnKey);
    template.hasResourceProperties('AWS::Lambda::Function', {
      Environment: {
        Variables: {
          KEY_ARNS: { 'Fn::Join': ['', [{ 'Fn::GetAtt': [keyId, 'Arn'] }, `,${IMPORTED}`]] },
          RE_ENABLE: 'true',
          TOPIC_ARN: { Ref: onlyLogicalId(template, 'AWS::SNS::Topic') },
        },
      },
    });
  });
});
