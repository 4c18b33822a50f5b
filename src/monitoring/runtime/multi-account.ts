// The key-usage audit across accounts and Regions: targets from flags or Organizations, one audit (and one
// GetKeyLastUsage rate limiter) per account and Region, all running at once; a target that fails is recorded, not fatal.
import type { KMSClient } from '@aws-sdk/client-kms';
import type { AuditClock } from './rate-limit';
import { auditKeys, type AuditReport, type KeyUsage } from './usage-audit';

/** A Region name as AWS spells them (eu-west-1, us-gov-west-1, ap-southeast-5). */
export const REGION_PATTERN = /^[a-z]{2}(-[a-z]+)+-\d$/;

/** Regions enabled by default in the aws partition: `--regions all` when EC2 DescribeRegions cannot be called. */
export const BUILT_IN_REGIONS: readonly string[] = [
  'ap-northeast-1', 'ap-northeast-2', 'ap-northeast-3', 'ap-south-1', 'ap-southeast-1', 'ap-southeast-2',
  'ca-central-1', 'eu-central-1', 'eu-north-1', 'eu-west-1', 'eu-west-2', 'eu-west-3', 'sa-east-1',
  'us-east-1', 'us-east-2', 'us-west-1', 'us-west-2',
];

/** `--regions r1,r2` checked against the Region pattern, or `all`. */
export function parseRegions(value: string, source = '--regions'): string[] | 'all' {
  if (value.trim() === 'all') return 'all';
  const regions = value.split(',').map((r) => r.trim()).filter(Boolean);
  if (regions.length === 0) throw new Error(`\`${source}\` must be a comma-separated list of Regions or all, got: ${JSON.stringify(value)}`);
  for (const r of regions) {
    if (!REGION_PATTERN.test(r)) throw new Error(`\`${source}\` must name Regions like eu-west-1 (or be all), got: ${JSON.stringify(r)}`);
  }
  return [...new Set(regions)];
}

/** An AWS account id: exactly 12 digits. */
export function validateAccountId(id: string, source = '--accounts'): string {
  if (!/^\d{12}$/.test(id)) throw new Error(`\`${source}\` must hold 12-digit account ids, got: ${JSON.stringify(id)}`);
  return id;
}

/**
 * `--accounts`: comma-separated ids, or the path of a file with one id per line (`#` starts a comment). A value
 * made only of digits and commas is ids; anything else is read as a file.
 */
export function parseAccounts(value: string, readFile: (path: string) => string, source = '--accounts'): string[] {
  const trimmed = value.trim();
  let ids: string[];
  if (/^[\d,\s]+$/.test(trimmed)) {
    ids = trimmed.split(',').map((s) => s.trim()).filter(Boolean);
  } else {
    let text: string;
    try {
      text = readFile(trimmed);
    } catch (err) {
      throw new Error(`\`${source}\` must be account ids or a readable file, got: ${JSON.stringify(value)} (${(err as Error).message})`);
    }
    ids = text.split(/\r?\n/).map((l) => l.replace(/#.*$/, '').trim()).filter(Boolean);
  }
  if (ids.length === 0) throw new Error(`\`${source}\` must name at least one account, got: ${JSON.stringify(value)}`);
  return [...new Set(ids.map((id) => validateAccountId(id, source)))];
}

/** The role ARN assumed in each account; the partition comes from the caller's own ARN. */
export function roleArn(partition: string, account: string, roleName: string): string {
  return `arn:${partition}:iam::${account}:role/${roleName}`;
}

/** An IAM role name (or path/name): what `--assume-role` takes. */
export function validateRoleName(value: string, source = '--assume-role'): string {
  if (!/^[\w+=,.@/-]{1,512}$/.test(value) || value.startsWith('arn:')) {
    throw new Error(`\`${source}\` must be a role name (letters, digits and +=,.@_-), got: ${JSON.stringify(value)}`);
  }
  return value;
}

/** An account and Region that could not be audited: the Region is absent when the account failed as a whole. */
export interface AuditFailure {
  readonly account: string;
  readonly region?: string;
  readonly message: string;
}

export interface MultiAuditReport extends AuditReport {
  readonly accounts: string[];
  readonly regions: string[];
  /** Accounts or account+Regions that could not be audited: a non-empty list makes the audit incomplete. */
  readonly failures: AuditFailure[];
}

/** One account to audit: its KMS clients per Region, or the reason none can be made. */
export interface AuditAccount {
  readonly account: string;
  /** Resolves a KMS client for a Region; rejects when the account cannot be reached (e.g. the role cannot be assumed). */
  kmsFor(region: string): Promise<KMSClient>;
}

export interface MultiAuditOptions {
  readonly accounts: AuditAccount[];
  readonly regions: string[];
  readonly thresholdDays: number;
  readonly aliasPrefix?: string;
  readonly clock?: AuditClock;
  /** Turns an account-level error into its line (e.g. "cannot assume role X: ..."). */
  readonly describeAccountError?: (account: string, err: unknown) => string;
  /** Turns a Region-level error into its line. */
  readonly describeError?: (err: unknown, region: string) => string;
  /** Account+Regions audited at once; more wait their turn. @default 64 */
  readonly maxConcurrentTargets?: number;
  /** Called as work completes: targets (account+Region) done and total, keys done and keys listed so far. */
  readonly onProgress?: (p: { targetsDone: number; targets: number; keysDone: number; keys: number }) => void;
}

/**
 * Audits every account in every Region at once (up to `maxConcurrentTargets`). Each account+Region gets its own
 * `auditKeys` run and so its own GetKeyLastUsage rate limiter, matching the API's quota, which is per account and Region.
 */
export async function auditAccounts(options: MultiAuditOptions): Promise<MultiAuditReport> {
  const failures: AuditFailure[] = [];
  const reports: AuditReport[] = [];
  const targets = options.accounts.length * options.regions.length;
  const keysDone = new Map<string, number>();
  const keysTotal = new Map<string, number>();
  let targetsDone = 0;
  const progress = () =>
    options.onProgress?.({
      targetsDone,
      targets,
      keysDone: sum(keysDone),
      keys: sum(keysTotal),
    });

  const pairs = options.accounts.flatMap((acct) => options.regions.map((region) => ({ acct, region })));
  // Each target holds its own rate limit, so running them together costs no quota; the cap only bounds sockets and
  // memory for very large organizations.
  await runPool(
    pairs,
    options.maxConcurrentTargets ?? 64,
    async ({ acct, region }) => {
      const id = `${acct.account}/${region}`;
      try {
        let kms: KMSClient;
        try {
          kms = await acct.kmsFor(region);
        } catch (err) {
          const message = options.describeAccountError?.(acct.account, err) ?? String((err as Error)?.message ?? err);
          // One line per account, however many Regions it was to be audited in.
          if (!failures.some((f) => f.account === acct.account && f.region === undefined)) failures.push({ account: acct.account, message });
          return;
        }
        reports.push(
          await auditKeys({
            kms,
            thresholdDays: options.thresholdDays,
            aliasPrefix: options.aliasPrefix,
            clock: options.clock,
            onProgress: (done, total) => {
              keysDone.set(id, done);
              keysTotal.set(id, total);
              progress();
            },
          }),
        );
      } catch (err) {
        failures.push({ account: acct.account, region, message: options.describeError?.(err, region) ?? String((err as Error)?.message ?? err) });
      } finally {
        targetsDone++;
        progress();
      }
    },
  );

  // Completion order varies from run to run; the report does not.
  const keys: KeyUsage[] = reports
    .flatMap((r) => r.keys)
    .sort((a, b) => a.account.localeCompare(b.account) || a.region.localeCompare(b.region) || a.keyId.localeCompare(b.keyId));
  const skipped = { awsManaged: 0, pendingDeletion: 0, notSelected: 0, deleted: 0 };
  for (const r of reports) {
    for (const k of Object.keys(skipped) as (keyof typeof skipped)[]) skipped[k] += r.skipped[k];
  }
  const now = options.clock?.now() ?? Date.now();
  failures.sort((a, b) => a.account.localeCompare(b.account) || (a.region ?? '').localeCompare(b.region ?? ''));
  return {
    generatedAt: reports[0]?.generatedAt ?? new Date(now).toISOString(),
    thresholdDays: options.thresholdDays,
    keys,
    unusedKeyCount: keys.filter((k) => k.pastThreshold).length,
    skipped,
    accounts: options.accounts.map((a) => a.account),
    regions: options.regions,
    failures,
  };
}

async function runPool<T>(items: T[], concurrency: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < items.length) await fn(items[next++]);
  };
  await Promise.all(Array.from({ length: Math.min(Math.max(1, concurrency), items.length) }, worker));
}

function sum(m: Map<string, number>): number {
  let n = 0;
  for (const v of m.values()) n += v;
  return n;
}
