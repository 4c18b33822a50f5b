// What KMS and CloudTrail say about a key being retired: the key itself, its aliases, grants and replicas, its last
// use, when it was disabled and what tried to use it since; and the two steps that change it, disable and schedule.
import { CloudTrailClient, LookupEventsCommand, type Event as TrailEvent, type LookupAttribute } from '@aws-sdk/client-cloudtrail';
import {
  DescribeKeyCommand,
  DisableKeyCommand,
  GetKeyLastUsageCommand,
  GetKeyPolicyCommand,
  KMSClient,
  ListAliasesCommand,
  ListGrantsCommand,
  ListResourceTagsCommand,
  ScheduleKeyDeletionCommand,
  TagResourceCommand,
} from '@aws-sdk/client-kms';
import { DISABLED_AT_TAG, PENDING_WINDOW_DAYS, RetireUsageError } from './args';
import { outsideAccess, type KeyPolicyFacts } from './key-policy';
import type { LastUse, RetireGrant, RetireKey, Soak } from './plan';
import { TRACKING_START } from '../usage-audit';

/** KMS operations that use key material: a CloudTrail event of one of these after the disable is a use attempt. */
export const CRYPTO_OPERATIONS = new Set([
  'Encrypt', 'Decrypt', 'ReEncrypt', 'GenerateDataKey', 'GenerateDataKeyWithoutPlaintext', 'GenerateDataKeyPair',
  'GenerateDataKeyPairWithoutPlaintext', 'Sign', 'Verify', 'GenerateMac', 'VerifyMac', 'DeriveSharedSecret',
]);
/** At most this many CloudTrail pages (50 events each) are read per question, to bound a run on a busy key. */
const MAX_TRAIL_PAGES = 20;

/** One line for an SDK error: its name and message. */
export function errorText(err: unknown): string {
  const e = err as { name?: string; message?: string };
  return `${e?.name && e.name !== 'Error' ? `${e.name}: ` : ''}${e?.message ?? String(err)}`.replace(/\s*[\r\n]+\s*/g, ' ');
}

/** An AccessDenied caused by an explicit Deny (the deletion guard is one), as opposed to a missing Allow. */
export function isExplicitDeny(err: unknown): boolean {
  const e = err as { name?: string; message?: string };
  return /AccessDenied/.test(e?.name ?? '') && /explicit deny/i.test(e?.message ?? '');
}

/** Resolves the key argument (id, ARN, alias name or alias ARN) to the key, with its aliases and multi-Region links. */
export async function describeRetireKey(kms: KMSClient, keyArg: string): Promise<RetireKey> {
  let meta;
  try {
    meta = (await kms.send(new DescribeKeyCommand({ KeyId: keyArg }))).KeyMetadata;
  } catch (err) {
    if ((err as Error)?.name === 'NotFoundException') {
      const region = await kms.config.region().catch(() => '(unknown)');
      throw new RetireUsageError(`\`<key>\` names no KMS key in Region ${region}: ${JSON.stringify(keyArg)} does not exist`);
    }
    throw err;
  }
  if (!meta?.Arn || !meta.KeyId) throw new Error('DescribeKey returned no key ARN');
  const aliases: string[] = [];
  let marker: string | undefined;
  do {
    const page = await kms.send(new ListAliasesCommand({ KeyId: meta.KeyId, Marker: marker }));
    aliases.push(...(page.Aliases ?? []).map((a) => a.AliasName ?? '').filter(Boolean));
    marker = page.Truncated ? page.NextMarker : undefined;
  } while (marker);
  const [, , , region = '', account = ''] = meta.Arn.split(':');
  const mr = meta.MultiRegionConfiguration;
  return {
    keyId: meta.KeyId,
    keyArn: meta.Arn,
    account,
    region,
    state: meta.KeyState ?? 'Unknown',
    manager: meta.KeyManager ?? 'CUSTOMER',
    description: meta.Description || undefined,
    aliases: aliases.sort(),
    replicas: mr?.MultiRegionKeyType === 'PRIMARY' ? (mr.ReplicaKeys ?? []).map((r) => r.Arn ?? '').filter(Boolean) : [],
    primaryArn: mr?.MultiRegionKeyType === 'REPLICA' ? mr.PrimaryKey?.Arn : undefined,
    deletionDate: meta.DeletionDate?.toISOString(),
  };
}

/** The key's grants, or why they could not be listed. */
export async function listRetireGrants(kms: KMSClient, key: RetireKey): Promise<RetireGrant[] | { unknown: string }> {
  const grants: RetireGrant[] = [];
  try {
    let marker: string | undefined;
    do {
      const page = await kms.send(new ListGrantsCommand({ KeyId: key.keyArn, Marker: marker }));
      for (const g of page.Grants ?? []) {
        grants.push({ grantId: g.GrantId ?? '', grantee: g.GranteePrincipal ?? '', operations: g.Operations ?? [], name: g.Name || undefined });
      }
      marker = page.Truncated ? page.NextMarker : undefined;
    } while (marker);
  } catch (err) {
    return { unknown: errorText(err) };
  }
  return grants;
}

/** GetKeyLastUsage for the key; a failure is recorded as unknown, never as "unused". */
export async function readLastUse(kms: KMSClient, key: RetireKey): Promise<LastUse> {
  try {
    const r = await kms.send(new GetKeyLastUsageCommand({ KeyId: key.keyArn }));
    const last = r.KeyLastUsage?.Timestamp;
    return {
      lastUsedAt: last?.toISOString(),
      operation: last ? r.KeyLastUsage?.Operation : undefined,
      trackingStartedAt: (r.TrackingStartDate ?? TRACKING_START).toISOString(),
    };
  } catch (err) {
    return { trackingStartedAt: TRACKING_START.toISOString(), unknown: `GetKeyLastUsage failed: ${errorText(err)}` };
  }
}

/** The key policy's grants to other accounts; a policy that cannot be read or parsed is unknown, never "none". */
export async function readKeyPolicy(kms: KMSClient, key: RetireKey): Promise<KeyPolicyFacts> {
  try {
    const r = await kms.send(new GetKeyPolicyCommand({ KeyId: key.keyId, PolicyName: 'default' }));
    if (!r.Policy) return { unknown: 'GetKeyPolicy returned no policy' };
    return { outside: outsideAccess(r.Policy, key.account) };
  } catch (err) {
    return { unknown: `GetKeyPolicy failed: ${errorText(err)}` };
  }
}

/** Newest-first CloudTrail events; `truncated` when more pages remained after MAX_TRAIL_PAGES. */
async function trailEvents(trail: CloudTrailClient, attr: LookupAttribute, start?: Date): Promise<{ events: TrailEvent[]; truncated: boolean }> {
  const events: TrailEvent[] = [];
  let token: string | undefined;
  let pages = 0;
  do {
    const page = await trail.send(new LookupEventsCommand({ LookupAttributes: [attr], StartTime: start, NextToken: token, MaxResults: 50 }));
    events.push(...(page.Events ?? []));
    token = page.NextToken;
  } while (token && ++pages < MAX_TRAIL_PAGES);
  return { events, truncated: token !== undefined };
}

/** Only what `--disable` writes counts as a tag date: an ISO-8601 UTC time that names a real instant. */
const ISO_UTC = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d{1,3})?Z$/;

/** The tag value as an ISO time, or undefined when it is not a strict ISO-8601 UTC time (`2026-02-30…` included). */
export function parseDisabledAtTag(value: string): string | undefined {
  if (!ISO_UTC.test(value)) return undefined;
  const ms = Date.parse(value);
  if (Number.isNaN(ms)) return undefined;
  const iso = new Date(ms).toISOString();
  return iso.slice(0, 19) === value.slice(0, 19) ? iso : undefined;
}

function namesTrailKey(e: TrailEvent, key: RetireKey): boolean {
  if ((e.Resources ?? []).some((r) => r.ResourceName === key.keyArn || r.ResourceName === key.keyId)) return true;
  try {
    const keyId = JSON.parse(e.CloudTrailEvent ?? '{}')?.requestParameters?.keyId;
    return keyId === key.keyArn || keyId === key.keyId;
  } catch {
    return false;
  }
}

/**
 * When the key was disabled: the later of the `cdk-cmek:disabled-at` tag written by `--disable` and the latest
 * successful DisableKey event CloudTrail still holds (90 days), so a re-disable is never hidden by an old tag; then
 * the CloudTrail events of cryptographic operations on the key since. Whatever CloudTrail could not answer (an error,
 * or more history than a run reads) is recorded in `cloudTrailUnreadable`, never taken as "no attempts".
 */
export async function readSoak(kms: KMSClient, trail: CloudTrailClient, key: RetireKey): Promise<Soak> {
  const notes: string[] = [];
  const unreadable: string[] = [];
  let tagAt: string | undefined;
  try {
    const tags = await kms.send(new ListResourceTagsCommand({ KeyId: key.keyId }));
    const value = tags.Tags?.find((t) => t.TagKey === DISABLED_AT_TAG)?.TagValue;
    if (value === undefined) {
      notes.push(`no ${DISABLED_AT_TAG} tag`);
    } else {
      tagAt = parseDisabledAtTag(value);
      if (tagAt === undefined) notes.push(`tag ${DISABLED_AT_TAG} must be an ISO-8601 UTC time (YYYY-MM-DDTHH:MM:SSZ), got: ${JSON.stringify(value)}; ignored`);
    }
  } catch (err) {
    notes.push(`tags not readable: ${errorText(err)}`);
  }
  let trailAt: string | undefined;
  try {
    const { events, truncated } = await trailEvents(trail, { AttributeKey: 'EventName', AttributeValue: 'DisableKey' });
    // Newest first: the first successful DisableKey naming the key is its latest.
    const latest = events
      .filter((e) => namesTrailKey(e, key) && e.EventTime && !errorCode(e))
      .sort((a, b) => b.EventTime!.getTime() - a.EventTime!.getTime())[0];
    if (latest) trailAt = latest.EventTime!.toISOString();
    else if (truncated) unreadable.push(`more than ${MAX_TRAIL_PAGES * 50} DisableKey events in CloudTrail, none of the newest for this key`);
    else notes.push('no DisableKey event for the key in CloudTrail (90 days of history)');
  } catch (err) {
    unreadable.push(errorText(err));
  }
  const [disabledAt, source]: [string | undefined, Soak['source']] = trailAt && (!tagAt || trailAt > tagAt)
    ? [trailAt, 'cloudtrail'] : tagAt ? [tagAt, 'tag'] : [undefined, 'none'];
  const cloudTrailUnreadable = () => (unreadable.length > 0 ? [...new Set(unreadable)].join('; ') : undefined);
  if (!disabledAt) {
    if (unreadable.length > 0) notes.push(`CloudTrail not readable: ${cloudTrailUnreadable()}`);
    return { source, note: notes.join('; '), cloudTrailUnreadable: cloudTrailUnreadable() };
  }
  let attempts: Soak['attemptsSinceDisable'];
  try {
    // Filtered by the key's ARN and starting at the disable, so the page cap only matters on a key many callers try.
    const { events, truncated } = await trailEvents(trail, { AttributeKey: 'ResourceName', AttributeValue: key.keyArn }, new Date(disabledAt));
    attempts = events
      .filter((e) => CRYPTO_OPERATIONS.has(e.EventName ?? '') && e.EventTime && e.EventTime.getTime() >= Date.parse(disabledAt))
      .sort((a, b) => b.EventTime!.getTime() - a.EventTime!.getTime())
      .map((e) => ({ event: e.EventName!, at: e.EventTime!.toISOString(), error: errorCode(e) }));
    if (truncated) unreadable.push(`more than ${MAX_TRAIL_PAGES * 50} CloudTrail events on the key since the disable; older ones were not read`);
  } catch (err) {
    unreadable.push(errorText(err));
  }
  return { disabledAt, source, note: notes.length > 0 ? notes.join('; ') : undefined, attemptsSinceDisable: attempts, cloudTrailUnreadable: cloudTrailUnreadable() };
}

function errorCode(e: TrailEvent): string | undefined {
  try {
    return JSON.parse(e.CloudTrailEvent ?? '{}')?.errorCode || undefined;
  } catch {
    return undefined;
  }
}

/** What a step did: done, refused by the key policy's deletion guard (an explicit deny), or failed otherwise. */
export type StepResult =
  | { readonly done: true; readonly note?: string }
  | { readonly done: false; readonly guard: boolean; readonly message: string };

// The steps and the tags take the key id: they work only in the key's own account, where the id names it (and
// some emulators accept only the id there).

/** Disables the key, then records when in the `cdk-cmek:disabled-at` tag (the soak starts now). */
export async function disableKey(kms: KMSClient, key: RetireKey, now: Date): Promise<StepResult> {
  try {
    await kms.send(new DisableKeyCommand({ KeyId: key.keyId }));
  } catch (err) {
    return { done: false, guard: isExplicitDeny(err), message: errorText(err) };
  }
  try {
    await kms.send(new TagResourceCommand({ KeyId: key.keyId, Tags: [{ TagKey: DISABLED_AT_TAG, TagValue: now.toISOString() }] }));
  } catch (err) {
    return { done: true, note: `the ${DISABLED_AT_TAG} tag could not be written (${errorText(err)}): --schedule will read the disable time from CloudTrail` };
  }
  return { done: true };
}

/** Schedules deletion with the longest window; returns the deletion date KMS reports. */
export async function scheduleDeletion(kms: KMSClient, key: RetireKey): Promise<StepResult> {
  try {
    const r = await kms.send(new ScheduleKeyDeletionCommand({ KeyId: key.keyId, PendingWindowInDays: PENDING_WINDOW_DAYS }));
    const window = r.PendingWindowInDays ?? PENDING_WINDOW_DAYS;
    return { done: true, note: `deletion scheduled for ${r.DeletionDate?.toISOString() ?? '(date not reported)'} (${window}-day window); CancelKeyDeletion stops it until then` };
  } catch (err) {
    return { done: false, guard: isExplicitDeny(err), message: errorText(err) };
  }
}
