// KeyDeletionMonitor's cancel-on-use handler: a CloudWatch Logs subscription on the pending-deletion filter invokes it.
import { KMSClient } from '@aws-sdk/client-kms';
import { SNSClient } from '@aws-sdk/client-sns';
import { cancelDeletionOnUse, readConfig, type CancelDeletionSummary, type LogsSubscriptionEvent } from './cancel-deletion';

const kms = new KMSClient({});
const sns = new SNSClient({});

/** The Lambda entry point. */
export async function handler(event: LogsSubscriptionEvent, context?: { invokedFunctionArn?: string }): Promise<CancelDeletionSummary> {
  const config = readConfig(process.env, context?.invokedFunctionArn);
  const summary = await cancelDeletionOnUse(event, config, { kms, sns });
  console.log(JSON.stringify({ message: 'cancel deletion on use', ...summary }));
  return summary;
}
