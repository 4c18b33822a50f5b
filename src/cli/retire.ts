// `cdk-cmek retire <key>`: the precautions before deleting a key (last use, dependents, a disabled soak), dry-run by
// default; `--disable` and `--schedule` take the two steps only when nothing refuses them.
import { CloudTrailClient } from '@aws-sdk/client-cloudtrail';
import { KMSClient } from '@aws-sdk/client-kms';
import Table from 'cli-table3';
import { Command } from 'commander';
import { checkConnection } from './args';
import { auditErrorMessage } from './audit';
import { EXIT, UsageError, oneLine } from './exit';
import { REGION_PATTERN } from '../monitoring/runtime/multi-account';
import { DEFAULT_SOAK_DAYS, PENDING_WINDOW_DAYS, RetireUsageError, parseAction, parseForce, parseKeyArgument, parseSoakDays, type RetireAction } from '../monitoring/runtime/retire/args';
import { DEPENDENT_SERVICES, dependentClients, findDependents, type DependentClients } from '../monitoring/runtime/retire/dependents';
import { describeRetireKey, disableKey, listRetireGrants, readKeyPolicy, readLastUse, readSoak, scheduleDeletion, type StepResult } from '../monitoring/runtime/retire/key-facts';
import { daysSince, plan, wrongState, type RetireFacts, type Verdict } from '../monitoring/runtime/retire/plan';

export interface RetireCliOptions {
  readonly disable?: boolean;
  readonly schedule?: boolean;
  readonly force?: string[];
  readonly soakDays?: string;
  readonly region?: string;
  readonly endpointUrl?: string;
  readonly json?: boolean;
}

/** Where the command writes, and its clock; tests swap these. */
export interface RetireIo {
  readonly stdout: { write(s: string): unknown };
  readonly stderr: { write(s: string): unknown };
  readonly now?: () => number;
}

/** Clients of a run; built from --region/--endpoint-url unless given (tests). */
export interface RetireClients {
  readonly kms?: KMSClient;
  readonly cloudtrail?: CloudTrailClient;
  readonly dependents?: DependentClients;
}

const RETIRE_EXIT_HELP = `
Without --disable or --schedule nothing changes: the report says whether the next step would run.
  --disable   runs only when nothing depends on the key (dependents, grants, replicas, and every lookup
              readable), no use in the last ${DEFAULT_SOAK_DAYS} days, and no other account in the key policy
  --schedule  runs only on a Disabled key after --soak-days (default ${DEFAULT_SOAK_DAYS}) with no use since the
              disable (GetKeyLastUsage) and no use attempt (CloudTrail); always with the
              longest pending window, ${PENDING_WINDOW_DAYS} days
--force takes the names the report shows: resource ids (vol-..., table names, ARNs, grant ids),
services whose lookup could not be read (${[...DEPENDENT_SERVICES, 'grants'].join(', ')}),
last-use, key-policy, cloudtrail (use attempts not checkable), account ids and statement Sids of the key policy. A name that
means two findings is refused: qualify it as <service>:<id>, service:<name>, check:<name>,
account:<id> or statement:<sid>.
The disable time is the later of the cdk-cmek:disabled-at tag (ISO-8601 UTC) and CloudTrail's latest DisableKey.

Exit codes:
  0  done, or nothing to do (a dry run whose next step would run)
  1  refused because of findings: dependents, unreadable lookups, use after the disable, use attempts
     CloudTrail cannot rule out, soak not over, recent use or other accounts in the key policy
     (--disable), or the deletion guard in the key policy
  2  usage or access error (bad arguments, a key in the wrong state, no credentials, access denied, I/O)
`;

export function registerRetireCommand(program: Command): void {
  program
    .command('retire')
    .description('Check a KMS key before deleting it (last use, dependents, soak); dry-run unless --disable or --schedule')
    .argument('<key>', 'key id, key ARN, alias name (alias/...) or alias ARN')
    .option('--disable', 'disable the key when nothing depends on it, and tag when (the soak starts)')
    .option('--schedule', `schedule deletion (${PENDING_WINDOW_DAYS}-day window) of a key disabled for the soak with no use since`)
    .option('--force <names>', 'override these dependents or unreadable services (comma-separated, repeatable)', (v: string, prev: string[] = []) => [...prev, v])
    .option('--soak-days <n>', `days the key must stay disabled, unused, before --schedule (default ${DEFAULT_SOAK_DAYS})`)
    .option('--region <region>', 'AWS Region of the key (default: the key ARN\'s, else from the environment or profile)')
    .option('--endpoint-url <url>', 'endpoint to call for every service instead of the default ones')
    .option('--json', 'print the report as JSON instead of text')
    .addHelpText('after', RETIRE_EXIT_HELP)
    .action(async (key: string, options: RetireCliOptions) => {
      process.exitCode = await retireCommand(key, options, { stdout: process.stdout, stderr: process.stderr });
    });
}

interface Args {
  readonly key: string;
  readonly action: RetireAction;
  readonly force: string[];
  readonly soakDays: number;
  readonly region?: string;
}

/** Every argument checked, before any client exists. */
export function retireArgs(keyArg: string, o: RetireCliOptions): Args {
  checkConnection(o);
  if (o.region !== undefined && !REGION_PATTERN.test(o.region)) {
    throw new UsageError(`\`--region\` must be a Region name such as eu-west-1, got: ${JSON.stringify(o.region)}`);
  }
  const key = parseKeyArgument(keyArg);
  const action = parseAction(o);
  const force = parseForce(o.force);
  const soakDays = parseSoakDays(o.soakDays);
  const arnRegion = key.startsWith('arn:') ? key.split(':')[3] : undefined;
  if (arnRegion && o.region && arnRegion !== o.region) {
    throw new UsageError(`\`--region\` must match the Region of the key ARN (${arnRegion}), got: ${JSON.stringify(o.region)}`);
  }
  return { key, action, force, soakDays, region: o.region ?? arnRegion };
}

/** One line for errors outside the findings: credentials, Region, access, an unknown endpoint. */
export function retireErrorMessage(err: unknown, region: string | undefined): string {
  const e = err as { name?: string; message?: string; code?: string };
  const text = `${e?.code ?? ''} ${e?.message ?? ''}`;
  if (/ENOTFOUND|EAI_AGAIN/.test(text)) {
    return `no AWS endpoint answers for Region ${region ?? '(unknown)'} (${/ENOTFOUND|EAI_AGAIN/.exec(text)![0]}): check the Region name (e.g. eu-west-1) and the network`;
  }
  if (e?.name === 'AccessDeniedException') {
    return `access denied: retire needs kms:DescribeKey, kms:ListAliases, kms:ListGrants, kms:GetKeyLastUsage, kms:GetKeyPolicy and kms:ListResourceTags (${e.message})`;
  }
  // The audit's wording for the failures both commands share: no credentials, no Region, rejected credentials.
  if (/CredentialsProviderError|UnrecognizedClientException|InvalidSignatureException/.test(e?.name ?? '') || /Region is missing|Could not load credentials/i.test(e?.message ?? '')) {
    return auditErrorMessage(err, region);
  }
  return `${e?.name && e.name !== 'Error' ? `${e.name}: ` : ''}${e?.message ?? String(err)}`;
}

/** Runs the checks, and the requested step when nothing refuses it; prints the report; returns the exit code. */
export async function retireCommand(keyArg: string, o: RetireCliOptions, io: RetireIo, clients: RetireClients = {}): Promise<number> {
  const fail = (message: string) => {
    io.stderr.write(`cdk-cmek retire: ${oneLine(message)}\n`);
    return EXIT.ERROR;
  };
  let args: Args;
  try {
    args = retireArgs(keyArg, o);
  } catch (err) {
    return fail((err as Error).message);
  }
  const kms = clients.kms ?? new KMSClient({ region: args.region, endpoint: o.endpointUrl });
  const now = io.now?.() ?? Date.now();
  let facts: RetireFacts;
  let region = args.region;
  try {
    const key = await describeRetireKey(kms, args.key);
    region = key.region;
    const stateError = wrongState(args.action, key);
    if (stateError) return fail(stateError);
    const trail = clients.cloudtrail ?? new CloudTrailClient({ region: key.region, endpoint: o.endpointUrl });
    const deps = clients.dependents ?? dependentClients(key.region, o.endpointUrl);
    const [lastUse, lookups, grants, soak, keyPolicy] = await Promise.all([
      readLastUse(kms, key),
      findDependents(deps, key),
      listRetireGrants(kms, key),
      key.state === 'Disabled' && args.action !== 'disable' ? readSoak(kms, trail, key) : Promise.resolve(undefined),
      key.state === 'Enabled' ? readKeyPolicy(kms, key) : Promise.resolve(undefined),
    ]);
    facts = { key, lastUse, lookups, grants, soak, keyPolicy };
  } catch (err) {
    if (err instanceof RetireUsageError) return fail(err.message);
    return fail(retireErrorMessage(err, region ?? (await kms.config.region().catch(() => undefined))));
  }
  const verdict = plan(facts, { action: args.action, force: args.force, soakDays: args.soakDays, now });
  if (verdict.ambiguousForce.length > 0) {
    return fail(`\`--force\` names must each name one finding, got: ${verdict.ambiguousForce.join(', ')}: pass the qualified name`);
  }
  if (verdict.unmatchedForce.length > 0) {
    return fail(`\`--force\` must name dependents or unreadable services of this key, got: ${verdict.unmatchedForce.join(', ')} (nothing of that name was found)`);
  }
  let result: StepResult | undefined;
  if (args.action !== 'check' && verdict.outcome === 'proceed') {
    result = args.action === 'disable' ? await disableKey(kms, facts.key, new Date(now)) : await scheduleDeletion(kms, facts.key);
  }
  io.stdout.write(o.json ? `${JSON.stringify({ ...facts, verdict, result }, null, 2)}\n` : retireReport(facts, verdict, args, now, result));
  if (result && !result.done) {
    if (result.guard) {
      io.stderr.write(`cdk-cmek retire: the deletion guard refused: ${oneLine(result.message)}; ${GUARD_REMEDY}\n`);
      return EXIT.FINDINGS;
    }
    return fail(`${args.action === 'disable' ? 'DisableKey' : 'ScheduleKeyDeletion'} failed: ${result.message}`);
  }
  if (verdict.outcome === 'refused') {
    io.stderr.write(`cdk-cmek retire: refused: ${verdict.step === 'disable' ? '--disable' : '--schedule'} is blocked by ${verdict.blockers.length} finding(s) (listed in the report)\n`);
    return EXIT.FINDINGS;
  }
  return EXIT.OK;
}

/** What lets a step the key policy denied proceed: the guard lifts once the key is unused long enough. */
const GUARD_REMEDY = 'to proceed: wait until the key has gone unused for the guard\'s minDaysUnused, or run as a principal it exempts';

const day = (iso: string) => iso.slice(0, 10);

function section(title: string, lines: string[]): string {
  return `${title}\n${lines.map((l) => `  ${l}`).join('\n')}\n`;
}

/** The report: key, last use, dependents, grants/aliases/replicas, soak, verdict. */
export function retireReport(f: RetireFacts, v: Verdict, a: Args, now: number, result?: StepResult): string {
  const k = f.key;
  const out: string[] = [];
  out.push(section('Key', [
    `${k.keyArn}`,
    `state ${k.state}${k.description ? `, "${k.description}"` : ''}${k.primaryArn ? `, replica of ${k.primaryArn}` : ''}`,
  ]));
  const lu = f.lastUse;
  out.push(section('Last use', [
    lu.unknown
      ? `unknown: ${lu.unknown}`
      : lu.lastUsedAt
        ? `${day(lu.lastUsedAt)} ${lu.operation ?? ''} (${daysSince(lu.lastUsedAt, now)} days ago)`
        : `none recorded since tracking started on ${day(lu.trackingStartedAt)}: uses before then are not recorded`,
  ]));
  const deps = f.lookups.flatMap((l) => l.dependents);
  const table = new Table({ head: ['Type', 'Resource', 'Recorded key'], style: { head: [], border: [] } });
  for (const d of deps) table.push([d.type, d.id, d.recordedKey]);
  const checked = f.lookups.map((l) =>
    `${l.service} (${l.checked.join(', ')}): ${l.unknown.length > 0 ? `UNKNOWN: ${l.unknown.join('; ')}` : `${l.dependents.length} found`}`);
  out.push(section('Dependents', [...(deps.length > 0 ? table.toString().split('\n') : ['none found']), ...checked]));
  const kp = f.keyPolicy;
  const policy = !kp ? [] : 'unknown' in kp ? [`key policy: UNKNOWN: ${kp.unknown}`]
    : [`key policy: ${kp.outside.length === 0 ? 'no other account' : kp.outside.map((g) => g.label).join(', ')}`];
  const grants = Array.isArray(f.grants)
    ? f.grants.length === 0 ? ['grants: none'] : f.grants.map((g) => `grant ${g.grantId}: ${g.grantee} may ${g.operations.join(', ')}${g.name ? ` (${g.name})` : ''}`)
    : [`grants: UNKNOWN: ${f.grants.unknown}`];
  out.push(section('Grants, aliases, replicas', [
    ...grants,
    ...policy,
    `aliases: ${k.aliases.length > 0 ? k.aliases.join(', ') : 'none'}`,
    `replicas: ${k.replicas.length > 0 ? k.replicas.join(', ') : 'none'}`,
  ]));
  if (f.soak) {
    const s = f.soak;
    out.push(section('Soak', [
      s.disabledAt
        ? `disabled since ${s.disabledAt} (${daysSince(s.disabledAt, now)} of ${a.soakDays} days), from ${s.source === 'tag' ? 'the cdk-cmek:disabled-at tag' : 'CloudTrail DisableKey'}`
        : `disable time unknown: ${s.note ?? 'no record'}`,
      `use since the disable: ${lu.unknown ? 'unknown' : lu.lastUsedAt && s.disabledAt && lu.lastUsedAt >= s.disabledAt ? `${lu.operation} at ${lu.lastUsedAt}` : 'none recorded'} (GetKeyLastUsage)`,
      s.cloudTrailUnreadable
        ? `use attempts: not fully checked, CloudTrail did not answer (${s.cloudTrailUnreadable})`
        : s.attemptsSinceDisable ? `use attempts since the disable: ${s.attemptsSinceDisable.length} (CloudTrail LookupEvents)` : 'use attempts: not checked (no disable time)',
      ...(s.disabledAt && s.note ? [`note: ${s.note}`] : []),
    ]));
  }
  out.push(section('Verdict', verdictLines(v, a, result)));
  return out.join('\n');
}

function verdictLines(v: Verdict, a: Args, result?: StepResult): string[] {
  const step = v.step === 'disable' ? '--disable' : '--schedule';
  const lines: string[] = [];
  if (v.outcome === 'done') lines.push('nothing to do');
  else if (v.outcome === 'refused') lines.push(`${step}: refused`, ...v.blockers.map((b) => `- ${b.reason}; to proceed: ${b.remedy}`));
  else if (a.action === 'check') lines.push(`${step} would run (dry run: nothing changed)`);
  if (v.overridden.length > 0) lines.push(`overridden by --force: ${v.overridden.join(', ')}`);
  if (result?.done) lines.push(a.action === 'disable' ? 'disabled; the soak starts now (tag cdk-cmek:disabled-at)' : 'deletion scheduled');
  if (result?.done && result.note) lines.push(result.note);
  if (result && !result.done) lines.push(result.guard ? `the deletion guard refused: ${result.message}; ${GUARD_REMEDY}` : `failed: ${result.message}`);
  lines.push(...v.notes.map((n) => `note: ${n}`));
  return lines;
}
