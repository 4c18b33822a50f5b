// `cdk-cmek audit`: the key usage audit as a report (table or JSON) with an exit code for CI.
import * as fs from 'node:fs';
import { EC2Client } from '@aws-sdk/client-ec2';
import { KMSClient } from '@aws-sdk/client-kms';
import { OrganizationsClient } from '@aws-sdk/client-organizations';
import { STSClient } from '@aws-sdk/client-sts';
import Table from 'cli-table3';
import { Command } from 'commander';
import { checkConnection } from './args';
import { EXIT, oneLine } from './exit';
import { activeOrganizationAccounts, assumedAccount, callerIdentity, currentAccount, enabledRegions } from '../monitoring/runtime/aws-targets';
import { auditAccounts, parseAccounts, parseRegions, validateRoleName, type AuditAccount, type AuditFailure } from '../monitoring/runtime/multi-account';
import { systemClock, type AuditClock } from '../monitoring/runtime/rate-limit';
import { auditKeys, validateThresholdDays, type AuditReport, type KeyUsage } from '../monitoring/runtime/usage-audit';
import { normalizeAliasPrefix } from '../private/alias-prefix';

export interface AuditCliOptions {
  readonly days: string;
  readonly region?: string;
  readonly json?: boolean;
  readonly endpointUrl?: string;
  readonly aliasPrefix?: string;
  readonly regions?: string;
  readonly accounts?: string;
  readonly organization?: boolean;
  readonly assumeRole?: string;
}

/** AWS clients of a multi-account run; tests inject them. */
export interface AuditClients {
  readonly sts?: STSClient;
  readonly organizations?: OrganizationsClient;
  readonly ec2?: EC2Client;
  /** Replaces the per-account KMS clients (tests). */
  readonly accounts?: (ids: string[]) => AuditAccount[];
}

/** Where the command writes; tests swap these. */
export interface AuditIo {
  readonly stdout: { write(s: string): unknown };
  readonly stderr: { isTTY?: boolean; write(s: string): unknown };
  readonly clock?: AuditClock;
}

/**
 * Exit codes: 0 all keys used within the threshold, 1 some key past it, 2 the audit could not run or some account
 * or Region could not be audited (an incomplete audit must never look clean, even when it found unused keys).
 */
export const AUDIT_EXIT = { OK: EXIT.OK, UNUSED_KEYS: EXIT.FINDINGS, ERROR: EXIT.ERROR } as const;

const AUDIT_EXIT_HELP = `
Exit codes:
  0  every audited key was used within --days, and every account and Region was audited
  1  some customer-managed key is unused for more than --days (and nothing failed)
  2  bad arguments, no credentials, or any account or Region that could not be audited
     (an incomplete audit is never reported as clean, even when it also found unused keys)

Across accounts: --accounts or --organization with --assume-role <name> assumes
arn:<partition>:iam::<account>:role/<name> in each account; without --assume-role only the
current account is audited. An account whose role cannot be assumed is reported and the run goes on.
GetKeyLastUsage is called at most 5 times per second per account and Region.
`;

export function registerAuditCommand(program: Command): void {
  program
    .command('audit')
    .description('List customer-managed KMS keys with their last use (GetKeyLastUsage); exit 1 when any key is unused past --days')
    .option('--days <n>', 'days without use after which a key counts as unused', '365')
    .option('--region <region>', 'AWS region to audit (default: from the environment or profile)')
    .option('--regions <list>', 'Regions to audit: r1,r2 or all (the Regions enabled for the account, from EC2 DescribeRegions)')
    .option('--accounts <ids|file>', 'account ids (comma-separated) or a file with one id per line (# comments); needs --assume-role')
    .option('--organization', 'audit every ACTIVE account of the organization (Organizations ListAccounts); needs --assume-role')
    .option('--assume-role <name>', 'role name to assume in each account (default: audit only the current account, on its own credentials)')
    .option('--json', 'print the report as JSON instead of a table')
    .option('--endpoint-url <url>', 'KMS endpoint to call instead of the default one')
    .option('--alias-prefix <prefix>', 'audit only keys with an alias starting with this (e.g. alias/cmek/; alias/ is added when missing)')
    .addHelpText('after', AUDIT_EXIT_HELP)
    .action(async (options: AuditCliOptions) => {
      process.exitCode = await auditCommand(options, { stdout: process.stdout, stderr: process.stderr });
    });
}

/** Runs the audit and prints it; returns the exit code. */
export async function auditCommand(options: AuditCliOptions, io: AuditIo, kms?: KMSClient, clients: AuditClients = {}): Promise<number> {
  let thresholdDays: number;
  let aliasPrefix: string | undefined;
  let multi: MultiArgs | undefined;
  try {
    thresholdDays = validateThresholdDays(options.days, '--days');
    aliasPrefix = options.aliasPrefix !== undefined ? normalizeAliasPrefix(options.aliasPrefix, '--alias-prefix') : undefined;
    checkConnection(options);
    multi = multiArgs(options);
  } catch (err) {
    io.stderr.write(`cdk-cmek audit: ${oneLine((err as Error).message)}\n`);
    return AUDIT_EXIT.ERROR;
  }
  if (multi) return auditMulti(options, multi, thresholdDays, aliasPrefix, io, clients);
  const client = kms ?? new KMSClient({ region: options.region, endpoint: options.endpointUrl });
  let report: AuditReport;
  try {
    report = await auditKeys({
      kms: client,
      thresholdDays,
      aliasPrefix,
      clock: io.clock,
      onProgress: auditProgress(io.stderr),
    });
  } catch (err) {
    const region = options.region ?? (await client.config.region().catch(() => undefined));
    io.stderr.write(`cdk-cmek audit: ${oneLine(auditErrorMessage(err, region))}\n`);
    return AUDIT_EXIT.ERROR;
  }
  if (aliasPrefix !== undefined && report.keys.length === 0 && report.skipped.notSelected > 0) {
    // Exit 0 is right (nothing unused was found), but an empty selection is more often a typo than a fact.
    io.stderr.write(`cdk-cmek audit: no customer-managed key has an alias starting with ${aliasPrefix} (${report.skipped.notSelected} keys not selected)\n`);
  }
  io.stdout.write(options.json ? `${JSON.stringify(report, null, 2)}\n` : auditTable(report));
  return report.unusedKeyCount > 0 ? AUDIT_EXIT.UNUSED_KEYS : AUDIT_EXIT.OK;
}

/** Progress on stderr, on a terminal only: one line rewritten in place. Logs and pipes get none. */
export function auditProgress(stderr: AuditIo['stderr']): (done: number, total: number) => void {
  return (done, total) => {
    if (stderr.isTTY) stderr.write(`\rauditing keys: ${done}/${total}${done === total ? '\n' : ''}`);
  };
}

interface MultiArgs {
  readonly regions?: string[] | 'all';
  readonly accounts?: string[];
  readonly organization: boolean;
  readonly roleName?: string;
}

/** The multi-account flags, checked; undefined when none is given (a single-account, single-Region audit). */
export function multiArgs(o: AuditCliOptions, readFile = (f: string) => fs.readFileSync(f, 'utf8')): MultiArgs | undefined {
  if (o.regions === undefined && o.accounts === undefined && !o.organization && o.assumeRole === undefined) return undefined;
  if (o.accounts !== undefined && o.organization) {
    throw new Error(`\`--accounts\` and \`--organization\` exclude each other: pass one, got both (--accounts ${JSON.stringify(o.accounts)})`);
  }
  if (o.region !== undefined && o.regions !== undefined) {
    throw new Error(`\`--region\` and \`--regions\` exclude each other: pass one, got: --region ${o.region} --regions ${o.regions}`);
  }
  const roleName = o.assumeRole !== undefined ? validateRoleName(o.assumeRole) : undefined;
  const regions = o.regions !== undefined ? parseRegions(o.regions) : undefined;
  const accounts = o.accounts !== undefined ? parseAccounts(o.accounts, readFile) : undefined;
  if ((accounts || o.organization) && roleName === undefined) {
    throw new Error(`\`--assume-role\` is required with ${accounts ? '--accounts' : '--organization'}: other accounts are reached only through a role, got none`);
  }
  return { regions, accounts, organization: o.organization === true, roleName };
}

/** Every account and Region at once; failures are reported and make the exit code 2. */
async function auditMulti(
  o: AuditCliOptions,
  m: MultiArgs,
  thresholdDays: number,
  aliasPrefix: string | undefined,
  io: AuditIo,
  c: AuditClients,
): Promise<number> {
  const clock = io.clock ?? systemClock;
  const fixedRegion = o.region ?? (Array.isArray(m.regions) ? m.regions[0] : undefined);
  const sts = c.sts ?? new STSClient({ region: fixedRegion });
  let accountIds: string[];
  let regions: string[];
  let partition: string;
  let self: string;
  try {
    ({ account: self, partition } = await callerIdentity(sts));
    const homeRegion = fixedRegion ?? (await sts.config.region());
    const org = () => c.organizations ?? new OrganizationsClient({ region: homeRegion });
    accountIds = m.accounts ?? (m.organization ? await activeOrganizationAccounts(org(), clock) : [self]);
    if (m.regions === 'all') {
      const found = await enabledRegions(c.ec2 ?? new EC2Client({ region: homeRegion }));
      if (found.fellBack) io.stderr.write(`cdk-cmek audit: EC2 DescribeRegions failed; auditing the ${found.regions.length} default Regions instead\n`);
      regions = found.regions;
    } else {
      regions = m.regions ?? [homeRegion];
    }
  } catch (err) {
    io.stderr.write(`cdk-cmek audit: ${oneLine(auditErrorMessage(err, fixedRegion))}\n`);
    return AUDIT_EXIT.ERROR;
  }
  const accounts =
    c.accounts?.(accountIds) ??
    accountIds.map((id) =>
      m.roleName ? assumedAccount(id, { sts, partition, roleName: m.roleName, kmsEndpoint: o.endpointUrl }) : currentAccount(id, o.endpointUrl),
    );
  const report = await auditAccounts({
    accounts,
    regions,
    thresholdDays,
    aliasPrefix,
    clock: io.clock,
    describeAccountError: (_account, err) => `cannot assume role ${m.roleName}: ${(err as Error)?.message ?? String(err)}`,
    describeError: (err, region) => auditErrorMessage(err, region),
    onProgress: (p) => {
      if (io.stderr.isTTY) {
        io.stderr.write(`\rauditing: ${p.targetsDone}/${p.targets} account-Regions, ${p.keysDone}/${p.keys} keys${p.targetsDone === p.targets ? '\n' : ''}`);
      }
    },
  });
  io.stdout.write(o.json ? `${JSON.stringify(report, null, 2)}\n` : auditTable(report, report.failures));
  if (report.failures.length > 0) {
    io.stderr.write(`cdk-cmek audit: incomplete: ${report.failures.length} account or account+Region failures (listed in the report)\n`);
    return AUDIT_EXIT.ERROR;
  }
  return report.unusedKeyCount > 0 ? AUDIT_EXIT.UNUSED_KEYS : AUDIT_EXIT.OK;
}

/** One line per failure, e.g. `account 111122223333: cannot assume role Audit: AccessDenied ...`. */
export function failureLine(f: AuditFailure): string {
  return oneLine(`account ${f.account}${f.region ? ` Region ${f.region}` : ''}: ${f.message}`);
}

/** One readable line for the failures people hit: no credentials, no region, a region without the API. */
export function auditErrorMessage(err: unknown, region: string | undefined): string {
  const e = err as { name?: string; message?: string };
  const name = e?.name ?? '';
  const message = e?.message ?? String(err);
  if (name === 'CredentialsProviderError' || /Could not load credentials/i.test(message)) {
    return 'no AWS credentials found: set AWS_PROFILE (then `aws sso login` if needed) or AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY';
  }
  if (/Region is missing/i.test(message)) {
    return 'no AWS region: pass --region or set AWS_REGION';
  }
  if (name === 'UnknownOperationException' || /not supported|UnknownOperation/i.test(message)) {
    return `GetKeyLastUsage is not available in region ${region ?? '(unknown)'}: the API is not offered there yet; audit another region with --region`;
  }
  if (name === 'UnrecognizedClientException' || name === 'InvalidSignatureException') {
    return `the AWS credentials were rejected (${name}): refresh them and retry`;
  }
  if (name === 'AccessDeniedException') {
    return `access denied: the audit needs kms:ListKeys, kms:ListAliases, kms:DescribeKey and kms:GetKeyLastUsage (${message})`;
  }
  return `${name ? `${name}: ` : ''}${message}`;
}

function keyName(k: KeyUsage): string {
  return k.aliases[0] ?? k.description ?? '-';
}

function day(iso: string): string {
  return iso.slice(0, 10);
}

/** The report as a table, longest-unused first, with a summary line, the `*` footnote and any failures. */
export function auditTable(report: AuditReport, failures: AuditFailure[] = []): string {
  const table = new Table({
    head: ['Key', 'Key ID', 'Account', 'Region', 'Last use', 'Operation', 'Days'],
    style: { head: [], border: [] },
  });
  const rows = [...report.keys].sort((a, b) => b.daysSinceLastUse - a.daysSinceLastUse || a.keyId.localeCompare(b.keyId));
  for (const k of rows) {
    table.push([
      keyName(k),
      k.keyId,
      k.account,
      k.region,
      k.neverUsed ? `${day(k.trackingStartedAt)} *` : day(k.lastUsedAt!),
      k.operation ?? '-',
      `${k.daysSinceLastUse}${k.pastThreshold ? ' !' : ''}`,
    ]);
  }
  const lines = [
    table.toString(),
    `${report.unusedKeyCount} of ${report.keys.length} customer-managed keys unused for more than ${report.thresholdDays} days (marked !)`,
  ];
  const starts = [...new Set(report.keys.filter((k) => k.neverUsed).map((k) => day(k.trackingStartedAt)))].sort();
  if (starts.length > 0) {
    lines.push(
      `* no use recorded since tracking started on ${starts.join(', ')}; last use alone does not prove a key unneeded `
        + '(days count from then or from the key\'s creation, whichever is later)',
    );
  }
  for (const f of failures) lines.push(failureLine(f));
  return `${lines.join('\n')}\n`;
}
