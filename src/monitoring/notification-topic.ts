// The encrypted SNS topic the monitoring constructs create when none is passed in.
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as sns from 'aws-cdk-lib/aws-sns';
import { Construct } from 'constructs';

/**
 * A topic encrypted with its own KMS key. CloudWatch alarms and EventBridge publish through the key, so its
 * policy lets those two services generate data keys; without it, encrypted notifications are silently dropped.
 */
export function createNotificationTopic(scope: Construct, id: string, purpose: string): sns.Topic {
  const key = new kms.Key(scope, `${id}Key`, {
    description: `Encrypts the ${purpose} notification topic`,
    enableKeyRotation: true,
  });
  key.addToResourcePolicy(
    new iam.PolicyStatement({
      sid: 'AllowAlarmsAndEventsToPublish',
      principals: [new iam.ServicePrincipal('cloudwatch.amazonaws.com'), new iam.ServicePrincipal('events.amazonaws.com')],
      actions: ['kms:Decrypt', 'kms:GenerateDataKey*'],
      resources: ['*'],
    }),
  );
  return new sns.Topic(scope, id, { displayName: `${purpose} notifications`, masterKey: key, enforceSSL: true });
}
