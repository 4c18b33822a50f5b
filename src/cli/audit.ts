// `cdk-cmek audit`: the key usage audit as a report (table or JSON) with an exit code for CI.
import { KMSClient } from '@aws-sdk/client-kms';
import Table from 'cli-table3';
import { Command } from 'commander';
import { checkConnection } from './args';
import { EXIT, EXIT_CODES_HELP, oneLine } from './exit';
import type { AuditClock } from '../monitoring/runtime/rate-limit';
import { auditKeys, TRACKING_START, validateThresholdDays, type AuditReport, type KeyUsage } from '../monitoring/runtime/usage-audit';
import { normalizeAliasPrefix } from '../private/alias-prefix';

export interface AuditCliOptions {
  readonly days: string;
  readonly region?: string;
  readonly json?: boolean;
  readonly endpointUrl?: string;
  readonly aliasPrefix?: string;
}

/** Where the command writes; tests swap these. */
export interface AuditIo {
  readonly stdout: { write(s: string): unknown };
  readonly stderr: { isTTY?: boolean; write(s: string): unknown };
  readonly clock?: AuditClock;
}

/** Exit codes: 0 all keys used within the threshold, 1 some key past it, 2 the audit could not run. */
export const AUDIT_EXIT = { OK: EXIT.OK, UNUSED_KEYS: EXIT.FINDINGS, ERROR: EXIT.ERROR } as const;

export function registerAuditCommand(program: Command): void {
  program
    .command('audit')
    .description('List customer-managed KMS keys with their last use (GetKeyLastUsage); exit 1 when any key is unused past --days')
    .option('--days <n>', 'days without use after which a key counts as unused', '365')
    .option('--region <region>', 'AWS region to audit (default: from the environment or profile)')
    .option('--json', 'print the report as JSON instead of a table')
    .option('--endpoint-url <url>', 'KMS endpoint to call instead of the default one')
    .option('--alias-prefix <prefix>', 'audit only keys with an alias starting with this (e.g. alias/cmek/; alias/ is added when missing)')
    .addHelpText('after', EXIT_CODES_HELP('some customer-managed key is unused for more than --days'))
    .action(async (options: AuditCliOptions) => {
      process.exitCode = await auditCommand(options, { stdout: process.stdout, stderr: process.stderr });
    });
}

/** Runs the audit and prints it; returns the exit code. */
export async function auditCommand(options: AuditCliOptions, io: AuditIo, kms?: KMSClient): Promise<number> {
  let thresholdDays: number;
  let aliasPrefix: string | undefined;
  try {
    thresholdDays = validateThresholdDays(options.days, '--days');
    aliasPrefix = options.aliasPrefix !== undefined ? normalizeAliasPrefix(options.aliasPrefix, '--alias-prefix') : undefined;
    checkConnection(options);
  } catch (err) {
    io.stderr.write(`cdk-cmek audit: ${oneLine((err as Error).message)}\n`);
    return AUDIT_EXIT.ERROR;
  }
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

/** Progress on stderr: a rewritten line on a terminal, a line every 50 keys in logs. */
export function auditProgress(stderr: AuditIo['stderr']): (done: number, total: number) => void {
  return (done, total) => {
    if (stderr.isTTY) {
      stderr.write(`\rauditing keys: ${done}/${total}${done === total ? '\n' : ''}`);
    } else if (done % 50 === 0 || done === total) {
      stderr.write(`auditing keys: ${done}/${total}\n`);
    }
  };
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

/** The report as a table, longest-unused first, with a summary line and the `*` footnote. */
export function auditTable(report: AuditReport): string {
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
      k.neverUsed ? `${day(k.countedFrom)} *` : day(k.lastUsedAt!),
      k.operation ?? '-',
      `${k.daysSinceLastUse}${k.pastThreshold ? ' !' : ''}`,
    ]);
  }
  const lines = [
    table.toString(),
    `${report.unusedKeyCount} of ${report.keys.length} customer-managed keys unused for more than ${report.thresholdDays} days (marked !)`,
  ];
  if (report.keys.some((k) => k.neverUsed)) {
    lines.push(`* no use since tracking started (${day(TRACKING_START.toISOString())}): days count from then or from the key's creation, whichever is later`);
  }
  return `${lines.join('\n')}\n`;
}
