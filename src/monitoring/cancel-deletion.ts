// KeyDeletionMonitor's cancel-on-use: a subscription on the pending-deletion failures invokes a function that cancels the deletion.
import * as path from 'node:path';
import { Duration, Stack, Token } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as destinations from 'aws-cdk-lib/aws-logs-destinations';
import * as sns from 'aws-cdk-lib/aws-sns';
import { Construct } from 'constructs';
import { CANCEL_DELETION_ENV, MAX_CANCEL_DELETION_KEYS } from './cancel-deletion-contract';
import { CANCEL_DELETION_ACTIONS, RE_ENABLE_ACTIONS } from '../private/actions';
import { createOwnedFunction } from '../private/owned-function';
import { acknowledgeNag } from '../private/suppressions';

/** What the cancel-on-use function is wired to. */
export interface CancelDeletionOnUseProps {
  /** The CloudTrail log group the subscription reads. */
  readonly logGroup: logs.ILogGroup;
  /** The filter pattern of the pending-deletion metric filter: the subscription sees exactly what the alarm counts. */
  readonly filterPattern: string;
  /** The keys whose deletion the function may cancel (and nothing else). */
  readonly keys: kms.IKey[];
  /** The topic it reports to. */
  readonly topic: sns.ITopic;
  /** Enable a key again after cancelling its deletion. */
  readonly reEnable: boolean;
}

/** The parts, for the monitor's public API and tests. */
export interface CancelDeletionOnUseParts {
  readonly function: lambda.Function;
  readonly subscription: logs.SubscriptionFilter;
}

/** Refuses what the function could not honour: no keys (it would need every key of the account), or too many. */
export function validateCancelDeletionKeys(keys: kms.IKey[] | undefined): void {
  if (!keys || keys.length === 0) {
    throw new Error('`cancelDeletionOnUse` needs `keys`: name the keys whose deletion it may cancel (kms:CancelKeyDeletion is granted on exactly those), got: no keys');
  }
  if (keys.length > MAX_CANCEL_DELETION_KEYS) {
    throw new Error(
      `\`keys\` must be at most ${MAX_CANCEL_DELETION_KEYS} keys with \`cancelDeletionOnUse\` (their ARNs travel in the function's 4 KB environment), got: ${keys.length} keys`,
    );
  }
}

/** CloudWatch Logs allows this many subscription filters on one log group. */
const MAX_SUBSCRIPTION_FILTERS = 2;

/**
 * Refuses a subscription the log group has no room for: aws-cdk-lib only warns, and the deploy fails. Counts the
 * subscription filters already in the app on the same log group (the same name, or the same token, in the same
 * account and Region).
 */
export function validateSubscriptionRoom(scope: Construct, logGroup: logs.ILogGroup): void {
  const place = (c: Construct) => {
    const s = Stack.of(c);
    return `${s.account}|${s.region}`;
  };
  const here = place(scope);
  const filters = scope.node.root.node.findAll()
    .filter((c): c is logs.CfnSubscriptionFilter => c instanceof logs.CfnSubscriptionFilter)
    .filter((f) => f.logGroupName === logGroup.logGroupName && place(f) === here);
  if (filters.length >= MAX_SUBSCRIPTION_FILTERS) {
    const name = Token.isUnresolved(logGroup.logGroupName) ? logGroup.node.path : logGroup.logGroupName;
    throw new Error(
      `\`cloudTrailLogGroup\` must have room for the \`cancelDeletionOnUse\` subscription (CloudWatch Logs allows ${MAX_SUBSCRIPTION_FILTERS} subscription filters per log group), ` +
        `got: ${name} with ${filters.length} already (${filters.map((f) => f.node.path).join(', ')})`,
    );
  }
}

/**
 * Creates the function on a `CancelDeletionOnUse` scope under `scope`, and subscribes it to the log group.
 *
 * A subscription filter, not an EventBridge rule: the failing calls (Decrypt, GenerateDataKey, ...) are read-only
 * management events, which EventBridge delivers only to rules enabled for all CloudTrail management events, and only
 * for the trail's own account. The trail log group already holds them, whatever the account or Region of the call.
 */
export function addCancelDeletionOnUse(scope: Construct, props: CancelDeletionOnUseProps): CancelDeletionOnUseParts {
  validateSubscriptionRoom(scope, props.logGroup);
  const root = new Construct(scope, 'CancelDeletionOnUse');
  const stack = Stack.of(root);
  const keyArns = props.keys.map((k) => k.keyArn);
  const owned = createOwnedFunction(root, {
    roleDescription: 'KeyDeletionMonitor: cancels the deletion of the monitored KMS keys when they are used',
    description: 'Cancels the deletion of a monitored KMS key when CloudTrail shows a call failing on it',
    handler: 'index.handler',
    code: lambda.Code.fromAsset(path.join(__dirname, '..', '..', 'assets', 'monitoring', 'runtime', 'cancel-deletion.lambda')),
    timeout: Duration.minutes(1),
    memorySize: 256,
    logRetention: logs.RetentionDays.ONE_YEAR,
    environment: {
      [CANCEL_DELETION_ENV.keyArns]: keyArns.join(','),
      [CANCEL_DELETION_ENV.reEnable]: String(props.reEnable),
      [CANCEL_DELETION_ENV.topicArn]: props.topic.topicArn,
    },
    statements: [
      new iam.PolicyStatement({
        sid: 'CancelDeletionOfMonitoredKeys',
        actions: [...CANCEL_DELETION_ACTIONS, ...(props.reEnable ? RE_ENABLE_ACTIONS : [])],
        resources: keyArns,
      }),
    ],
    logStatementSid: 'WriteLogs',
    reasons: {
      noDeadLetterQueue: 'CloudWatch Logs invokes it asynchronously and Lambda retries twice; every key it acts on is reported to the topic, and the pending-deletion alarm fires independently.',
      noVpc: 'It calls only the KMS and SNS public endpoints and reaches no private resource.',
      noReservedConcurrency: 'Invoked only when a monitored key pending deletion is used; reserving concurrency fails to deploy in accounts at the minimum unreserved concurrency.',
      plainEnvironment: 'The environment holds only key ARNs, a topic ARN and a flag, no secret.',
      unencryptedLogs: 'The log holds key ARNs and CloudTrail call summaries, no key material or data; CloudWatch Logs encrypts it at rest.',
    },
  });
  // An encrypted topic's key must let the role use it: the grant adds that wherever the key's policy needs it.
  props.topic.grantPublish(owned.role);
  // The first delivery must already have every permission.
  owned.function.node.addDependency(owned.policy);
  acknowledgeNag(owned.role, {
    id: 'AwsSolutions-IAM5[Action::kms:GenerateDataKey*]',
    reason: 'Publishing to an encrypted SNS topic needs kms:GenerateDataKey* on the topic key only, as SNS documents it (the grant aws-cdk-lib writes).',
  });

  owned.function.addPermission('InvokeFromTrailLogs', {
    principal: new iam.ServicePrincipal('logs.amazonaws.com'),
    // Only this log group's subscription, in this account, may invoke the function.
    sourceArn: props.logGroup.logGroupArn,
    sourceAccount: stack.account,
  });
  const subscription = new logs.SubscriptionFilter(root, 'Subscription', {
    logGroup: props.logGroup,
    destination: new destinations.LambdaDestination(owned.function, { addPermissions: false }),
    filterPattern: logs.FilterPattern.literal(props.filterPattern),
  });
  subscription.node.addDependency(owned.function.node.findChild('InvokeFromTrailLogs'));
  return { function: owned.function, subscription };
}
