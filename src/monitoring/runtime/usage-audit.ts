// The key-usage audit shared by the KeyUsageAuditor Lambda and `cdk-cmek audit`: list customer-managed keys, ask
// GetKeyLastUsage for each within the API's rate quota, and turn the answers into days-since-last-use.
import {
  DescribeKeyCommand,
  GetKeyLastUsageCommand,
  KMSClient,
  ListAliasesCommand,
  ListKeysCommand,
  ListResourceTagsCommand,
  type KeyMetadata,
} from '@aws-sdk/client-kms';
import { RateLimiter, systemClock, withThrottlingRetry, type AuditClock } from './rate-limit';
import { normalizeAliasPrefix } from '../../private/alias-prefix';

/** GetKeyLastUsage began recording on this date: a key with no recorded use counts from here (or its creation). */
export const TRACKING_START = new Date('2026-04-23T00:00:00Z');
/** GetKeyLastUsage's request quota per account and region. */
export const GET_KEY_LAST_USAGE_PER_SECOND = 5;
const DAY_MS = 86_400_000;

/** One audited key. Dates are ISO 8601 strings so the report is the same in JSON and in memory. */
export interface KeyUsage {
  readonly keyId: string;
  readonly keyArn: string;
  readonly account: string;
  readonly region: string;
  readonly aliases: string[];
  readonly description?: string;
  readonly keyState?: string;
  /** When the key was last used for a cryptographic operation, if ever since tracking started. */
  readonly lastUsedAt?: string;
  /** The operation of that last use (Decrypt, GenerateDataKey, ...). */
  readonly operation?: string;
  /** True when no use was recorded since tracking started: days count from `countedFrom`. */
  readonly neverUsed: boolean;
  /** The date days are counted from: the last use, or max(tracking start, key creation). */
  readonly countedFrom: string;
  /** When GetKeyLastUsage began recording for this key's account and Region: no recorded use means none since then. */
  readonly trackingStartedAt: string;
  readonly daysSinceLastUse: number;
  /** Unused for more than the threshold. */
  readonly pastThreshold: boolean;
}

export interface AuditReport {
  readonly generatedAt: string;
  readonly thresholdDays: number;
  readonly keys: KeyUsage[];
  readonly unusedKeyCount: number;
  /** Keys listed but not audited, by reason. */
  readonly skipped: { awsManaged: number; pendingDeletion: number; notSelected: number; deleted: number };
}

export interface AuditOptions {
  readonly kms: KMSClient;
  /** Days without use after which a key counts as unused (integer ≥ 1). */
  readonly thresholdDays: number;
  /** Audit only keys with an alias starting with this (e.g. `alias/cmek/`). */
  readonly aliasPrefix?: string;
  /** Audit only keys carrying this tag key (and `tagValue`, when given). */
  readonly tagKey?: string;
  readonly tagValue?: string;
  readonly clock?: AuditClock;
  /** GetKeyLastUsage requests per second. @default 5 (the API quota) */
  readonly requestsPerSecond?: number;
  /** Keys worked on at once. @default 5 */
  readonly concurrency?: number;
  /** Tries per request when throttled. @default 8 */
  readonly maxAttempts?: number;
  /** Called after each key: keys done and keys listed. */
  readonly onProgress?: (done: number, total: number) => void;
}

/** `thresholdDays` checked once, for the Lambda's environment and the CLI's flag alike. */
export function validateThresholdDays(value: unknown, source = 'thresholdDays'): number {
  // Decimal digits only: Number() would also take "1e3", "0x10" and "5.0".
  const n = typeof value === 'string' ? (/^\s*\d+\s*$/.test(value) ? Number(value) : NaN) : value;
  if (typeof n !== 'number' || !Number.isSafeInteger(n) || n < 1) {
    throw new Error(`\`${source}\` must be an integer ≥ 1, got: ${typeof value === 'string' ? JSON.stringify(value) : String(value)}`);
  }
  return n;
}

async function mapPool<T, R>(items: T[], concurrency: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const results: R[] = new Array(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      results[i] = await fn(items[i]);
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, items.length) }, worker));
  return results;
}

function arnParts(arn: string): { region: string; account: string } {
  const [, , , region = '', account = ''] = arn.split(':');
  return { region, account };
}

const SKIPPED_STATES = new Set(['PendingDeletion', 'PendingReplicaDeletion']);

/**
 * Audits every customer-managed key of the client's account and region. Keys pending deletion are skipped:
 * they are already on their way out, and a use of one shows up as a KMSInvalidStateException that the
 * KeyDeletionMonitor alarms on; counting them as "unused" again would only repeat that signal.
 */
export async function auditKeys(options: AuditOptions): Promise<AuditReport> {
  const clock = options.clock ?? systemClock;
  const maxAttempts = options.maxAttempts ?? 8;
  const thresholdDays = validateThresholdDays(options.thresholdDays);
  const retry = <T>(call: () => Promise<T>, limiter?: RateLimiter) => withThrottlingRetry(call, clock, maxAttempts, limiter);
  const usageLimiter = new RateLimiter(options.requestsPerSecond ?? GET_KEY_LAST_USAGE_PER_SECOND, clock);
  const kms = options.kms;
  const aliasPrefix = options.aliasPrefix !== undefined ? normalizeAliasPrefix(options.aliasPrefix) : undefined;

  const keyIds: string[] = [];
  let marker: string | undefined;
  do {
    const page = await retry(() => kms.send(new ListKeysCommand({ Marker: marker, Limit: 1000 })));
    keyIds.push(...(page.Keys ?? []).map((k) => k.KeyId!).filter(Boolean));
    marker = page.Truncated ? page.NextMarker : undefined;
  } while (marker);

  const aliasesByKey = new Map<string, string[]>();
  marker = undefined;
  do {
    const page = await retry(() => kms.send(new ListAliasesCommand({ Marker: marker, Limit: 100 })));
    for (const a of page.Aliases ?? []) {
      if (!a.TargetKeyId || !a.AliasName) continue;
      aliasesByKey.set(a.TargetKeyId, [...(aliasesByKey.get(a.TargetKeyId) ?? []), a.AliasName]);
    }
    marker = page.Truncated ? page.NextMarker : undefined;
  } while (marker);

  const skipped = { awsManaged: 0, pendingDeletion: 0, notSelected: 0, deleted: 0 };
  let done = 0;
  const now = clock.now();

  const audited = await mapPool(keyIds, options.concurrency ?? 5, async (keyId): Promise<KeyUsage | undefined> => {
    try {
      const meta: KeyMetadata = (await retry(() => kms.send(new DescribeKeyCommand({ KeyId: keyId })))).KeyMetadata!;
      if (meta.KeyManager !== 'CUSTOMER') {
        skipped.awsManaged++;
        return undefined;
      }
      if (meta.KeyState && SKIPPED_STATES.has(meta.KeyState)) {
        skipped.pendingDeletion++;
        return undefined;
      }
      const aliases = (aliasesByKey.get(keyId) ?? []).sort();
      if (aliasPrefix !== undefined && !aliases.some((a) => a.startsWith(aliasPrefix))) {
        skipped.notSelected++;
        return undefined;
      }
      if (options.tagKey && !(await hasTag(kms, keyId, options.tagKey, options.tagValue, retry))) {
        skipped.notSelected++;
        return undefined;
      }
      const usage = await retry(() => kms.send(new GetKeyLastUsageCommand({ KeyId: meta.Arn ?? keyId })), usageLimiter);
      const last = usage.KeyLastUsage?.Timestamp;
      const created = usage.KeyCreationDate ?? meta.CreationDate;
      const trackingStart = usage.TrackingStartDate ?? TRACKING_START;
      const countedFrom = last ?? new Date(Math.max(trackingStart.getTime(), created ? created.getTime() : 0));
      const days = Math.max(0, Math.floor((now - countedFrom.getTime()) / DAY_MS));
      const arn = meta.Arn ?? keyId;
      return {
        keyId,
        keyArn: arn,
        ...arnParts(arn),
        aliases,
        description: meta.Description || undefined,
        keyState: meta.KeyState,
        lastUsedAt: last?.toISOString(),
        operation: last ? usage.KeyLastUsage?.Operation : undefined,
        neverUsed: !last,
        countedFrom: countedFrom.toISOString(),
        trackingStartedAt: trackingStart.toISOString(),
        daysSinceLastUse: days,
        pastThreshold: days > thresholdDays,
      };
    } catch (err) {
      // A key deleted between ListKeys and this call is gone, not a failure of the audit.
      if ((err as { name?: string })?.name === 'NotFoundException') {
        skipped.deleted++;
        return undefined;
      }
      throw err;
    } finally {
      options.onProgress?.(++done, keyIds.length);
    }
  });

  const keys = audited.filter((k): k is KeyUsage => k !== undefined);
  return {
    generatedAt: new Date(now).toISOString(),
    thresholdDays,
    keys,
    unusedKeyCount: keys.filter((k) => k.pastThreshold).length,
    skipped,
  };
}

async function hasTag(
  kms: KMSClient,
  keyId: string,
  tagKey: string,
  tagValue: string | undefined,
  retry: <T>(call: () => Promise<T>) => Promise<T>,
): Promise<boolean> {
  let marker: string | undefined;
  do {
    const page = await retry(() => kms.send(new ListResourceTagsCommand({ KeyId: keyId, Marker: marker })));
    if ((page.Tags ?? []).some((t) => t.TagKey === tagKey && (tagValue === undefined || t.TagValue === tagValue))) return true;
    marker = page.Truncated ? page.NextMarker : undefined;
  } while (marker);
  return false;
}
