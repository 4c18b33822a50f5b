// Cancels the deletion of a monitored KMS key when CloudTrail shows it still in use, and reports what it did.
import { gunzipSync } from 'node:zlib';
import { CancelKeyDeletionCommand, DescribeKeyCommand, EnableKeyCommand, type KMSClient } from '@aws-sdk/client-kms';
import { PublishCommand, type SNSClient } from '@aws-sdk/client-sns';
import { CANCEL_DELETION_ENV } from '../cancel-deletion-contract';

/** What the function is allowed to do, read from its environment. */
export interface CancelDeletionConfig {
  /** The keys it may act on (full ARNs). */
  readonly keyArns: readonly string[];
  /** Enable a key again after cancelling its deletion. */
  readonly reEnable: boolean;
  /** Where it reports. */
  readonly topicArn: string;
  /** Its own Region: the KMS client reaches only this Region's keys. */
  readonly region: string;
  /** Its own account, when known (from the invoked function ARN). */
  readonly account?: string;
}

/** The clients the work needs (injected, so tests can point them anywhere). */
export interface CancelDeletionClients {
  readonly kms: Pick<KMSClient, 'send'>;
  readonly sns: Pick<SNSClient, 'send'>;
}

/** A CloudWatch Logs subscription delivery, as Lambda receives it. */
export interface LogsSubscriptionEvent {
  readonly awslogs: { readonly data: string };
}

/** The call that showed a key pending deletion still in use. */
export interface TriggeringCall {
  readonly eventName: string;
  readonly caller: string;
  readonly eventTime: string;
  readonly eventId?: string;
}

/** What happened to one key. */
export interface KeyOutcome {
  readonly keyArn: string;
  /** `cancelled` (left Disabled), `re-enabled`, `skipped` (nothing to do) or `failed`. */
  readonly result: 'cancelled' | 're-enabled' | 'skipped' | 'failed';
  /** Why, in one sentence. */
  readonly detail: string;
  readonly trigger: TriggeringCall;
  /** Failing calls on this key in this delivery. */
  readonly uses: number;
}

/** A record this function does not act on, and why (logged, not notified: the pending-deletion alarm covers it). */
export interface IgnoredRecord {
  readonly keyArn?: string;
  readonly reason: string;
}

/** What one delivery did. */
export interface CancelDeletionSummary {
  readonly outcomes: KeyOutcome[];
  readonly ignored: IgnoredRecord[];
  readonly notices: number;
}

const KEY_ARN = /^arn:(aws[a-z-]*):kms:([a-z0-9-]+):(\d{12}):key\/([A-Za-z0-9-]+)$/;
const PENDING_MESSAGE = /^(arn:\S+:kms:\S+:key\/\S+) is pending deletion\.$/;
const CANCELLABLE_STATES = new Set(['PendingDeletion', 'PendingReplicaDeletion']);
const isCancellable = (state: string | undefined): boolean => state !== undefined && CANCELLABLE_STATES.has(state);

/** Reads and checks the environment; a missing or malformed value is one line naming the variable. */
export function readConfig(env: NodeJS.ProcessEnv, invokedFunctionArn?: string): CancelDeletionConfig {
  const keyArns = (env[CANCEL_DELETION_ENV.keyArns] ?? '').split(',').map((a) => a.trim()).filter((a) => a.length > 0);
  if (keyArns.length === 0) throw new Error(`${CANCEL_DELETION_ENV.keyArns} must list at least one key ARN, got: nothing`);
  const bad = keyArns.find((a) => !KEY_ARN.test(a));
  if (bad) throw new Error(`${CANCEL_DELETION_ENV.keyArns} must hold key ARNs (arn:<partition>:kms:<region>:<account>:key/<id>), got: ${JSON.stringify(bad)}`);
  const topicArn = env[CANCEL_DELETION_ENV.topicArn];
  if (!topicArn) throw new Error(`${CANCEL_DELETION_ENV.topicArn} must be the ARN of the notification topic, got: nothing`);
  const region = env.AWS_REGION;
  if (!region) throw new Error('AWS_REGION must be set (Lambda sets it), got: nothing');
  const account = invokedFunctionArn?.split(':')[4];
  return { keyArns, reEnable: env[CANCEL_DELETION_ENV.reEnable] === 'true', topicArn, region, account: account || undefined };
}

/** The CloudTrail records of a subscription delivery (a control message, sent when the filter is created, has none). */
export function decodeDelivery(event: LogsSubscriptionEvent): string[] {
  const payload = JSON.parse(gunzipSync(Buffer.from(event.awslogs.data, 'base64')).toString('utf8'));
  if (payload.messageType !== 'DATA_MESSAGE') return [];
  return (payload.logEvents ?? []).map((e: { message: string }) => e.message);
}

interface TrailRecord {
  eventName?: string;
  eventTime?: string;
  eventID?: string;
  errorCode?: string;
  errorMessage?: string;
  userIdentity?: { arn?: string; principalId?: string; invokedBy?: string; type?: string };
  requestParameters?: { keyId?: string } | null;
  resources?: Array<{ type?: string; ARN?: string }>;
}

/**
 * The keys a record names, and the one KMS says is pending deletion when that is known. A call can name several keys
 * (ReEncrypt lists its source key, then its destination), and any of them may be the one pending deletion: KMS's
 * error message names it; without that message, each named key is a candidate, checked against its state.
 */
function keyArnsOf(record: TrailRecord): { arns: string[]; pending?: string } {
  const found = [
    ...(Array.isArray(record.resources) ? record.resources : []).filter((r) => r?.type === 'AWS::KMS::Key' && r.ARN).map((r) => r.ARN!),
  ];
  const pending = PENDING_MESSAGE.exec(record.errorMessage ?? '')?.[1];
  if (pending) found.push(pending);
  const keyId = record.requestParameters?.keyId;
  if (found.length === 0 && keyId && KEY_ARN.test(keyId)) found.push(keyId);
  const arns = [...new Map(found.map((a) => [a.toLowerCase(), a])).values()];
  return { arns, pending: pending ?? (arns.length === 1 ? arns[0] : undefined) };
}

function callerOf(record: TrailRecord): string {
  const who = record.userIdentity?.arn ?? record.userIdentity?.principalId ?? record.userIdentity?.type ?? 'an unknown caller';
  return record.userIdentity?.invokedBy ? `${who} via ${record.userIdentity.invokedBy}` : who;
}

/** Why this function must leave a key alone, or undefined when it is one of its keys. */
function reasonToIgnore(keyArn: string, config: CancelDeletionConfig): string | undefined {
  const [, , region, account] = KEY_ARN.exec(keyArn) ?? [];
  if (!region) return `not a key ARN: ${keyArn}`;
  if (config.account && account !== config.account) return `key of account ${account}; this function acts only in account ${config.account}`;
  if (region !== config.region) return `key in Region ${region}; this function acts only in ${config.region}`;
  const monitored = config.keyArns.some((a) => a.toLowerCase() === keyArn.toLowerCase());
  return monitored ? undefined : 'not one of the monitored keys';
}

/** The first failing call on a key in one delivery, and how many there were. */
interface KeyUses {
  readonly trigger: TriggeringCall;
  uses: number;
  /** Whether a record showed this key itself pending deletion (not only named it beside another key). */
  named: boolean;
}

/** Groups the delivery's pending-deletion failures by monitored key, keeping the first call as the trigger. */
export function selectKeys(messages: string[], config: CancelDeletionConfig): { uses: Map<string, KeyUses>; ignored: IgnoredRecord[] } {
  const uses = new Map<string, KeyUses>();
  const ignored: IgnoredRecord[] = [];
  for (const message of messages) {
    let record: TrailRecord;
    try {
      record = JSON.parse(message);
    } catch {
      ignored.push({ reason: 'not a CloudTrail record (not JSON)' });
      continue;
    }
    if (typeof record !== 'object' || record === null || Array.isArray(record)) {
      ignored.push({ reason: 'not a CloudTrail record (not a JSON object)' });
      continue;
    }
    const { arns, pending } = keyArnsOf(record);
    if (arns.length === 0) {
      ignored.push({ reason: `${record.eventName ?? 'the call'} names no key ARN` });
      continue;
    }
    // The subscription filter already holds back other calls; this keeps a widened filter from cancelling on them.
    if (record.errorCode !== 'KMSInvalidStateException') {
      for (const keyArn of arns) {
        ignored.push({ keyArn, reason: `${record.eventName} did not fail on a key pending deletion (error: ${record.errorCode ?? 'none'})` });
      }
      continue;
    }
    for (const keyArn of arns) {
      const reason = reasonToIgnore(keyArn, config);
      if (reason) {
        ignored.push({ keyArn, reason });
        continue;
      }
      const named = pending !== undefined && pending.toLowerCase() === keyArn.toLowerCase();
      const key = [...uses.keys()].find((k) => k.toLowerCase() === keyArn.toLowerCase()) ?? keyArn;
      const seen = uses.get(key);
      if (seen) {
        seen.uses += 1;
        seen.named ||= named;
      } else {
        uses.set(key, {
          trigger: { eventName: record.eventName ?? 'unknown', caller: callerOf(record), eventTime: record.eventTime ?? 'unknown', eventId: record.eventID },
          uses: 1,
          named,
        });
      }
    }
  }
  return { uses, ignored };
}

function describeError(e: unknown): string {
  const err = e as { name?: string; message?: string };
  return `${err.name ?? 'Error'}: ${err.message ?? String(e)}`;
}

/** A key's state as DescribeKey reports it, or the error it failed with. */
type KeyStateRead = { readonly state?: string } | { readonly error: unknown };

async function readKeyState(kms: CancelDeletionClients['kms'], keyArn: string): Promise<KeyStateRead> {
  try {
    return { state: (await kms.send(new DescribeKeyCommand({ KeyId: keyArn }))).KeyMetadata?.KeyState };
  } catch (error) {
    return { error };
  }
}

/**
 * Cancels one key's deletion if it is still pending, and enables it when asked; never throws. `read` is the key's
 * state when the caller has read it already.
 */
export async function cancelOne(
  kms: CancelDeletionClients['kms'], keyArn: string, reEnable: boolean, read?: KeyStateRead,
): Promise<Pick<KeyOutcome, 'result' | 'detail'>> {
  const current = read ?? await readKeyState(kms, keyArn);
  if ('error' in current) {
    return { result: 'failed', detail: `DescribeKey failed, the deletion is still pending: ${describeError(current.error)}` };
  }
  const state = current.state;
  if (!isCancellable(state)) {
    return { result: 'skipped', detail: `the key is ${state ?? 'in an unknown state'}, not pending deletion: nothing to do (already cancelled)` };
  }
  try {
    await kms.send(new CancelKeyDeletionCommand({ KeyId: keyArn }));
  } catch (e) {
    // Cancelled by someone else between DescribeKey and here: the same as finding it cancelled.
    if ((e as Error).name === 'KMSInvalidStateException') {
      return { result: 'skipped', detail: `the deletion was no longer pending when cancelled: nothing to do (${describeError(e)})` };
    }
    return { result: 'failed', detail: `CancelKeyDeletion failed, the deletion is still pending: ${describeError(e)}` };
  }
  if (!reEnable) {
    return { result: 'cancelled', detail: 'deletion cancelled; the key is left Disabled (as KMS leaves it): enable it once its users are confirmed' };
  }
  try {
    await kms.send(new EnableKeyCommand({ KeyId: keyArn }));
  } catch (e) {
    return { result: 'failed', detail: `deletion cancelled, but EnableKey failed, so the key is left Disabled: ${describeError(e)}` };
  }
  return { result: 're-enabled', detail: 'deletion cancelled and the key enabled again' };
}

const SUBJECTS: Record<KeyOutcome['result'], string> = {
  'cancelled': 'KMS key deletion cancelled (key left Disabled)',
  're-enabled': 'KMS key deletion cancelled and key re-enabled',
  'skipped': 'KMS key in use: deletion already cancelled',
  'failed': 'FAILED to cancel a KMS key deletion',
};

/** The notice for one key: a subject (SNS allows 100 characters) and a message a person reads. */
export function notice(outcome: KeyOutcome): { subject: string; message: string } {
  const { trigger } = outcome;
  const message = [
    `KMS key ${outcome.keyArn} was scheduled for deletion and is still in use.`,
    `Triggering call: ${trigger.eventName} by ${trigger.caller} at ${trigger.eventTime}` +
      `${trigger.eventId ? ` (CloudTrail event ${trigger.eventId})` : ''}; ${outcome.uses} failed call(s) in this delivery.`,
    `Result: ${outcome.result}: ${outcome.detail}.`,
  ].join('\n');
  return { subject: SUBJECTS[outcome.result], message };
}

/**
 * Handles one delivery: each monitored key named by a pending-deletion failure is cancelled once, and one notice per
 * key says what was done. Keys of other accounts, Regions, or not monitored are left alone. A failed publish throws,
 * so Lambda retries the delivery (a retry finds cancelled keys no longer pending, and says so).
 */
export async function cancelDeletionOnUse(
  event: LogsSubscriptionEvent,
  config: CancelDeletionConfig,
  clients: CancelDeletionClients,
): Promise<CancelDeletionSummary> {
  const { uses, ignored } = selectKeys(decodeDelivery(event), config);
  const outcomes: KeyOutcome[] = [];
  for (const [keyArn, use] of uses) {
    // A key only named beside the one pending deletion is acted on if it is pending too; an unknown state goes on,
    // so that the failure is reported. The state read here is the one cancelOne acts on.
    const read = use.named ? undefined : await readKeyState(clients.kms, keyArn);
    if (read && 'state' in read && !isCancellable(read.state)) {
      ignored.push({ keyArn, reason: `${use.trigger.eventName} named it beside the key pending deletion, and it is not pending deletion` });
      continue;
    }
    const done = await cancelOne(clients.kms, keyArn, config.reEnable, read);
    outcomes.push({ keyArn, ...done, trigger: use.trigger, uses: use.uses });
  }
  for (const outcome of outcomes) {
    const { subject, message } = notice(outcome);
    await clients.sns.send(new PublishCommand({ TopicArn: config.topicArn, Subject: subject, Message: message }));
  }
  return { outcomes, ignored, notices: outcomes.length };
}
