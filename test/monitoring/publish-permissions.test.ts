// Whether alarms and rules can publish to the monitoring topics, asked of a policy simulator (topic policy and key policy).
import { Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as sns from 'aws-cdk-lib/aws-sns';
import { ensureLambdaBundle } from './support/bundle';
import { KeyDeletionMonitor } from '../../src/monitoring/key-deletion-monitor';
import { KeyUsageAuditor } from '../../src/monitoring/key-usage-auditor';
import { PUBLISH_SID } from '../../src/monitoring/notification-topic';
import { resolveCfn } from '../support/cfn';
import { nagApp } from '../support/nag';
import { decide } from '../support/simulate';

beforeAll(() => ensureLambdaBundle('src/monitoring/runtime/key-usage-auditor.lambda.ts'));

const OWNER = '999999999999';
const OTHER = '444455556666';
const REGION = 'eu-west-1';
const TOPIC_ARN = `arn:aws:sns:${REGION}:${OWNER}:monitor-topic`;
const KEY_ARN = `arn:aws:kms:${REGION}:${OWNER}:key/1234abcd-12ab-34cd-56ef-1234567890ab`;
const RULE_ARN = `arn:aws:events:${REGION}:${OWNER}:rule/Monitoring-ScheduleDeletionRule-ABC123`;
const alarmArn = (account: string, name: string) => `arn:aws:cloudwatch:${REGION}:${account}:alarm:${name}`;

interface Deployed {
  readonly topicPolicy: unknown;
  readonly keyPolicy: unknown;
}

/** The topic policy and the topic's key policy as deployed in OWNER, the rule's ARN being RULE_ARN. */
function deployed(build: (stack: Stack) => void): Deployed {
  const app = nagApp();
  const stack = new Stack(app, 'Monitoring', { env: { account: OWNER, region: REGION } });
  build(stack);
  app.synth();
  const template = Template.fromStack(stack);
  const values: Record<string, string> = {};
  for (const [id, r] of Object.entries(template.toJSON().Resources as Record<string, any>)) {
    if (r.Type === 'AWS::SNS::Topic') values[id] = TOPIC_ARN;
    if (r.Type === 'AWS::Events::Rule') values[`${id}.Arn`] = RULE_ARN;
    if (r.Type === 'AWS::KMS::Key') values[`${id}.Arn`] = KEY_ARN;
  }
  const [topicPolicy] = Object.values(template.findResources('AWS::SNS::TopicPolicy'));
  const topic = Object.values(template.findResources('AWS::SNS::Topic'))[0];
  const keyId = topic.Properties.KmsMasterKeyId['Fn::GetAtt'][0];
  const key = template.findResources('AWS::KMS::Key')[keyId];
  return {
    topicPolicy: resolveCfn(topicPolicy.Properties.PolicyDocument, { account: OWNER, region: REGION, values }),
    keyPolicy: resolveCfn(key.Properties.KeyPolicy, { account: OWNER, region: REGION, values }),
  };
}

/** A service's request, with the context keys the service sends (values are strings). */
async function publish(policy: unknown, service: string, context: Record<string, string>): Promise<string> {
  return decide({
    resourcePolicy: policy,
    resource: TOPIC_ARN,
    principal: service,
    action: 'sns:Publish',
    context: { 'aws:SecureTransport': 'true', ...context },
    identityActions: [],
  });
}

async function useKey(policy: unknown, service: string, action: string, context: Record<string, string>): Promise<string> {
  return decide({ resourcePolicy: policy, resource: KEY_ARN, principal: service, action, context, identityActions: [] });
}

const from = (account: string, arn: string) => ({ 'aws:SourceAccount': account, 'aws:SourceArn': arn });

describe('publishing to the monitoring topics, simulated', () => {
  describe('the KeyDeletionMonitor topic', () => {
    const policies = deployed((s) => new KeyDeletionMonitor(s, 'Monitor'));
    const ownAlarm = alarmArn(OWNER, 'CdkCmek-Monitoring-KeyPendingDeletionErrors');

    test.each([
      'CdkCmek-Monitoring-KeyPendingDeletionErrors',
      'CdkCmek-Monitoring-KeyDisableOrScheduleDeletion',
      'CdkCmek-Monitoring-KeyPolicyChangeOrCancelDeletion',
    ])('GIVEN the monitor alarm %s WHEN CloudWatch publishes THEN the topic policy allows it', async (name) => {
      expect(await publish(policies.topicPolicy, 'cloudwatch.amazonaws.com', from(OWNER, alarmArn(OWNER, name)))).toBe('Allowed');
    });

    test('GIVEN the monitor rule WHEN EventBridge publishes THEN the topic policy allows it', async () => {
      expect(await publish(policies.topicPolicy, 'events.amazonaws.com', from(OWNER, RULE_ARN))).toBe('Allowed');
    });

    test.each([
      ['another account\'s alarm', 'cloudwatch.amazonaws.com', from(OTHER, alarmArn(OTHER, 'CdkCmek-Monitoring-KeyPendingDeletionErrors'))],
      ['another account claiming this account\'s alarm ARN', 'cloudwatch.amazonaws.com', from(OTHER, ownAlarm)],
      ['an alarm of this account the monitor did not make', 'cloudwatch.amazonaws.com', from(OWNER, alarmArn(OWNER, 'SomeoneElses'))],
      ['another account\'s rule', 'events.amazonaws.com', from(OTHER, `arn:aws:events:${REGION}:${OTHER}:rule/Copy`)],
      ['another rule of this account', 'events.amazonaws.com', from(OWNER, `arn:aws:events:${REGION}:${OWNER}:rule/Other`)],
      ['a request without source context', 'cloudwatch.amazonaws.com', {}],
      ['another service', 's3.amazonaws.com', from(OWNER, 'arn:aws:s3:::bucket')],
    ])('GIVEN %s WHEN it publishes THEN the topic policy does not allow it', async (_what, service, context) => {
      expect(await publish(policies.topicPolicy, service, context)).not.toBe('Allowed');
    });

    test.each(['kms:GenerateDataKey', 'kms:Decrypt'])('GIVEN a monitor alarm WHEN CloudWatch calls %s THEN the key policy allows it', async (action) => {
      expect(await useKey(policies.keyPolicy, 'cloudwatch.amazonaws.com', action, from(OWNER, ownAlarm))).toBe('Allowed');
    });

    test.each(['kms:GenerateDataKey', 'kms:Decrypt'])('GIVEN another account\'s alarm WHEN CloudWatch calls %s THEN the key policy does not allow it', async (action) => {
      const foreign = from(OTHER, alarmArn(OTHER, 'CdkCmek-Monitoring-KeyPendingDeletionErrors'));
      expect(await useKey(policies.keyPolicy, 'cloudwatch.amazonaws.com', action, foreign)).not.toBe('Allowed');
    });

    // EventBridge's KMS requests carry no aws:SourceAccount / aws:SourceArn: the grant must hold without them.
    test.each(['kms:GenerateDataKey', 'kms:Decrypt'])('GIVEN EventBridge with no source context WHEN it calls %s THEN the key policy allows it', async (action) => {
      expect(await useKey(policies.keyPolicy, 'events.amazonaws.com', action, {})).toBe('Allowed');
    });

    test('GIVEN another service WHEN it asks for a data key THEN the key policy does not allow it', async () => {
      expect(await useKey(policies.keyPolicy, 'sns.amazonaws.com', 'kms:GenerateDataKey', from(OWNER, TOPIC_ARN))).not.toBe('Allowed');
    });

    test('GIVEN the topic policy WHEN synthesized THEN every Allow is held to this account', () => {
      const allows = (policies.topicPolicy as any).Statement.filter((s: any) => s.Effect === 'Allow');
      expect(allows.map((s: any) => s.Sid).sort()).toEqual([PUBLISH_SID.alarms, PUBLISH_SID.rules]);
      for (const s of allows) expect(s.Condition.StringEquals['aws:SourceAccount']).toBe(OWNER);
    });
  });

  describe('the KeyUsageAuditor topic', () => {
    const policies = deployed((s) => new KeyUsageAuditor(s, 'Auditor'));

    test.each(['CdkCmek-Monitoring-UnusedKeyCount', 'CdkCmek-Monitoring-KeyUsageAuditErrors'])(
      'GIVEN the auditor alarm %s WHEN CloudWatch publishes and uses the key THEN both policies allow it',
      async (name) => {
        const context = from(OWNER, alarmArn(OWNER, name));
        expect(await publish(policies.topicPolicy, 'cloudwatch.amazonaws.com', context)).toBe('Allowed');
        expect(await useKey(policies.keyPolicy, 'cloudwatch.amazonaws.com', 'kms:GenerateDataKey', context)).toBe('Allowed');
      },
    );

    test('GIVEN no rule of the auditor targets its topic WHEN a rule of this account publishes THEN it is allowed, another account\'s is not', async () => {
      expect(await publish(policies.topicPolicy, 'events.amazonaws.com', from(OWNER, `arn:aws:events:${REGION}:${OWNER}:rule/Ops`))).toBe('Allowed');
      expect(await useKey(policies.keyPolicy, 'events.amazonaws.com', 'kms:GenerateDataKey', {})).toBe('Allowed');
      expect(await publish(policies.topicPolicy, 'events.amazonaws.com', from(OTHER, `arn:aws:events:${REGION}:${OTHER}:rule/Ops`))).not.toBe('Allowed');
    });
  });

  describe('a topic passed in', () => {
    test('GIVEN a topic of the app WHEN a monitor and an auditor share it THEN its policy lets all their alarms and the rule publish', async () => {
      const policies = deployed((s) => {
        const topic = new sns.Topic(s, 'Ops', { enforceSSL: true, masterKey: new kms.Key(s, 'OpsKey', { enableKeyRotation: true }) });
        new KeyDeletionMonitor(s, 'Monitor', { topic });
        new KeyUsageAuditor(s, 'Auditor', { topic });
      });
      for (const name of ['CdkCmek-Monitoring-KeyPendingDeletionErrors', 'CdkCmek-Monitoring-UnusedKeyCount']) {
        expect(await publish(policies.topicPolicy, 'cloudwatch.amazonaws.com', from(OWNER, alarmArn(OWNER, name)))).toBe('Allowed');
      }
      expect(await publish(policies.topicPolicy, 'events.amazonaws.com', from(OWNER, RULE_ARN))).toBe('Allowed');
      expect(await publish(policies.topicPolicy, 'cloudwatch.amazonaws.com', from(OTHER, alarmArn(OTHER, 'CdkCmek-Monitoring-UnusedKeyCount')))).not.toBe('Allowed');
    });
  });
});
