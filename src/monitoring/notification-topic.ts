// The encrypted SNS topics of the monitoring constructs, and the topic and key policies that let alarms and rules publish.
import { ArnFormat, Lazy, Stack } from 'aws-cdk-lib';
import * as events from 'aws-cdk-lib/aws-events';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as sns from 'aws-cdk-lib/aws-sns';
import { Construct } from 'constructs';
import { libraryKeyAlias } from './naming';
import { CmekKey } from '../key/cmek-key';
import { SNS_PUBLISH_ACTIONS } from '../private/actions';

/** Statement ids of the publishing grants, on the topic policy and on the topic's key policy. */
export const PUBLISH_SID = {
  alarms: 'AllowCloudWatchAlarmsToPublish',
  rules: 'AllowEventBridgeRulesToPublish',
  alarmsKey: 'AllowCloudWatchAlarmsToUseKey',
  rulesKey: 'AllowEventBridgeToUseKey',
} as const;

const CLOUDWATCH = 'cloudwatch.amazonaws.com';
const EVENTS = 'events.amazonaws.com';
/** What a publisher needs of an encrypted topic's key (SNS documents both). */
const KEY_ACTIONS = ['kms:Decrypt', 'kms:GenerateDataKey*'];

const PUBLISHERS = new WeakMap<sns.ITopic, TopicPublishers>();

/**
 * Who may publish to one topic: the alarms and rules the library wires to it, each by ARN and account.
 *
 * An `AWS::SNS::TopicPolicy` replaces the topic's default policy, so without these statements CloudWatch and
 * EventBridge could not publish at all. Each Allow names the publishing service and holds it to this account
 * (`aws:SourceAccount`) and to the known alarm and rule ARNs (`aws:SourceArn`); while no alarm (or rule) of the
 * library publishes to the topic, to this account's alarms (or rules) in the stack's region. Alarm ARNs are built
 * from the alarm names, so the policies never depend on the alarms, and the rule ARN is the rule's attribute (the
 * rule depends on the topic only through its target): no dependency cycle.
 *
 * The topic's key (for a topic the library creates) lets both services use it. CloudWatch's grant carries the
 * same conditions; EventBridge's carries none, because AWS documents that EventBridge's KMS requests hold no
 * `aws:SourceAccount` / `aws:SourceArn`, and such a condition would silently drop every event.
 */
export class TopicPublishers {
  /** The publishers of `topic`, created with its statements on first use. */
  public static of(topic: sns.ITopic, key?: CmekKey): TopicPublishers {
    let publishers = PUBLISHERS.get(topic);
    if (!publishers) {
      publishers = new TopicPublishers(topic, key);
      PUBLISHERS.set(topic, publishers);
    }
    return publishers;
  }

  private readonly alarmArns: string[] = [];
  private readonly ruleArns: string[] = [];

  private constructor(private readonly topic: sns.ITopic, key?: CmekKey) {
    const stack = Stack.of(topic);
    const account = { 'aws:SourceAccount': stack.account };
    const anyAlarm = stack.formatArn({ service: 'cloudwatch', resource: 'alarm', resourceName: '*', arnFormat: ArnFormat.COLON_RESOURCE_NAME });
    const anyRule = stack.formatArn({ service: 'events', resource: 'rule', resourceName: '*' });
    const alarms = Lazy.list({ produce: () => (this.alarmArns.length > 0 ? this.alarmArns : [anyAlarm]) });
    const rules = Lazy.list({ produce: () => (this.ruleArns.length > 0 ? this.ruleArns : [anyRule]) });
    const alarmConditions = { StringEquals: account, ArnLike: { 'aws:SourceArn': alarms } };

    this.topic.addToResourcePolicy(this.publishStatement(PUBLISH_SID.alarms, CLOUDWATCH, alarmConditions));
    this.topic.addToResourcePolicy(this.publishStatement(PUBLISH_SID.rules, EVENTS, { StringEquals: account, ArnLike: { 'aws:SourceArn': rules } }));
    if (key) {
      key.addToResourcePolicy(keyStatement(PUBLISH_SID.alarmsKey, CLOUDWATCH, alarmConditions));
      key.addToResourcePolicy(keyStatement(PUBLISH_SID.rulesKey, EVENTS));
    }
  }

  /** Lets the alarm of this name (in the topic's account and region) publish. */
  public allowAlarm(alarmName: string): void {
    const arn = Stack.of(this.topic).formatArn({
      service: 'cloudwatch',
      resource: 'alarm',
      resourceName: alarmName,
      arnFormat: ArnFormat.COLON_RESOURCE_NAME,
    });
    this.alarmArns.push(arn);
  }

  /**
   * Lets this rule publish. A rule in another stack than the topic is held to the account's rules instead: its
   * ARN in the topic policy would make the topic's stack depend on the rule's, which depends on the topic's.
   */
  public allowRule(rule: events.IRule): void {
    const stack = Stack.of(this.topic);
    this.ruleArns.push(Stack.of(rule) === stack ? rule.ruleArn : stack.formatArn({ service: 'events', resource: 'rule', resourceName: '*' }));
  }

  private publishStatement(sid: string, service: string, conditions: Record<string, Record<string, unknown>>): iam.PolicyStatement {
    return new iam.PolicyStatement({
      sid,
      principals: [new iam.ServicePrincipal(service)],
      actions: [...SNS_PUBLISH_ACTIONS],
      resources: [this.topic.topicArn],
      conditions,
    });
  }
}

function keyStatement(sid: string, service: string, conditions?: Record<string, Record<string, unknown>>): iam.PolicyStatement {
  return new iam.PolicyStatement({
    sid,
    principals: [new iam.ServicePrincipal(service)],
    actions: KEY_ACTIONS,
    resources: ['*'],
    conditions,
  });
}

/**
 * A topic encrypted with a `CmekKey` of its own (deletion-guarded, rotating, 30-day pending window, retained),
 * whose topic and key policies let the library's alarms and rules publish (see `TopicPublishers`).
 */
export function createNotificationTopic(scope: Construct, id: string, purpose: string): sns.Topic {
  const key: CmekKey = new CmekKey(scope, `${id}Key`, {
    alias: libraryKeyAlias(() => key),
    description: `Encrypts the ${purpose} notification topic`,
  });
  const topic = new sns.Topic(scope, id, { displayName: `${purpose} notifications`, masterKey: key, enforceSSL: true });
  TopicPublishers.of(topic, key);
  return topic;
}

/**
 * An EventBridge target that sends the rule's events to a topic without granting anything itself: aws-cdk-lib's
 * `SnsTopic` target adds an unconditioned `events.amazonaws.com` Allow, where `TopicPublishers` allows this rule only.
 */
export class TopicTarget implements events.IRuleTarget {
  constructor(private readonly topic: sns.ITopic, private readonly message: events.RuleTargetInput) {}

  public bind(_rule: events.IRule, _id?: string): events.RuleTargetConfig {
    return { arn: this.topic.topicArn, input: this.message };
  }
}
