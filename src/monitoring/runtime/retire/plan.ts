// The retirement planner: from what was found about a key (last use, dependents, soak) to a verdict that says what may
// run, what refuses it and what would let it proceed. Pure: no AWS calls, so every rule is tested on plain data.
import { PENDING_WINDOW_DAYS, type RetireAction } from './args';
import type { KeyPolicyFacts } from './key-policy';

const DAY_MS = 86_400_000;

/** The key as DescribeKey, ListAliases and the multi-Region configuration describe it. */
export interface RetireKey {
  readonly keyId: string;
  readonly keyArn: string;
  readonly account: string;
  readonly region: string;
  readonly state: string;
  readonly manager: string;
  readonly description?: string;
  /** Alias names (alias/...) pointing at the key. */
  readonly aliases: string[];
  /** For a multi-Region primary, its replicas' ARNs; for a replica, none. */
  readonly replicas: string[];
  /** For a multi-Region replica, its primary's ARN. */
  readonly primaryArn?: string;
  /** When the key is pending deletion: the date it will be deleted. */
  readonly deletionDate?: string;
}

/** A resource whose encryption names this key. `id` is what `--force` takes. */
export interface Dependent {
  readonly service: string;
  readonly type: string;
  readonly id: string;
  /** The key reference the resource records (id, ARN, alias name or alias ARN). */
  readonly recordedKey: string;
}

/** One service's lookup: what it checked, what it found, and why it could not tell when it could not. */
export interface Lookup {
  readonly service: string;
  /** Resource types examined, e.g. ["EBS volume", "EBS snapshot"]. */
  readonly checked: string[];
  readonly dependents: Dependent[];
  /** Reasons the lookup is incomplete (AccessDenied, not enabled in the Region, ...); unknown is not "none". */
  readonly unknown: string[];
}

/** A grant on the key: a principal allowed to use it without the key policy. */
export interface RetireGrant {
  readonly grantId: string;
  readonly grantee: string;
  readonly operations: string[];
  readonly name?: string;
}

/** GetKeyLastUsage's answer, with the tracking caveat made explicit. */
export interface LastUse {
  readonly lastUsedAt?: string;
  readonly operation?: string;
  /** GetKeyLastUsage records uses only from this date on: no recorded use means none since then. */
  readonly trackingStartedAt: string;
  /** Set when GetKeyLastUsage could not be read; the verdict then treats last use as unknown. */
  readonly unknown?: string;
}

/** When the key was disabled, where that date came from, and what was checked for use since. */
export interface Soak {
  readonly disabledAt?: string;
  readonly source: 'tag' | 'cloudtrail' | 'none';
  /** Why no date could be read, when none was. */
  readonly note?: string;
  /** CloudTrail events naming the key since it was disabled (use attempts fail with DisabledException). */
  readonly attemptsSinceDisable?: Array<{ readonly event: string; readonly at: string; readonly error?: string }>;
  /** Why CloudTrail could not answer for every attempt (an error, or more history than a run reads); blocks --schedule. */
  readonly cloudTrailUnreadable?: string;
}

export interface RetireFacts {
  readonly key: RetireKey;
  readonly lastUse: LastUse;
  readonly lookups: Lookup[];
  /** Grants, or the reason they could not be listed. */
  readonly grants: RetireGrant[] | { readonly unknown: string };
  readonly soak?: Soak;
  /** Accounts the key policy lets use the key, or why it could not be read; read for --disable. */
  readonly keyPolicy?: KeyPolicyFacts;
}

export interface PlanOptions {
  readonly action: RetireAction;
  readonly force: string[];
  readonly soakDays: number;
  readonly now: number;
}

/** What blocks a step, each with what would let it proceed. */
export interface Blocker {
  readonly reason: string;
  readonly remedy: string;
}

export interface Verdict {
  /** The step this verdict is about: the requested one, or for a dry run the next one. */
  readonly step: 'disable' | 'schedule' | 'none';
  /** proceed: the step may run (a dry run then exits 0); refused: a blocker stands; done: nothing left to do. */
  readonly outcome: 'proceed' | 'refused' | 'done';
  readonly blockers: Blocker[];
  /** Dependents and unknown lookups that `--force` overrode, by name. */
  readonly overridden: string[];
  /** `--force` names that matched nothing (a typo must not pass silently). */
  readonly unmatchedForce: string[];
  /** `--force` names that match more than one finding, each with the qualified names that tell them apart. */
  readonly ambiguousForce: string[];
  /** Facts worth knowing that do not block (the tracking caveat, unread CloudTrail). */
  readonly notes: string[];
}

/** True when `recorded` (an id, key ARN, alias name or alias ARN) names this key. */
export function namesKey(key: Pick<RetireKey, 'keyId' | 'keyArn' | 'aliases'>, recorded: string | undefined): boolean {
  if (!recorded) return false;
  if (recorded === key.keyId || recorded === key.keyArn) return true;
  const prefix = key.keyArn.slice(0, key.keyArn.lastIndexOf(':key/') + 1);
  return key.aliases.some((a) => recorded === a || recorded === `${prefix}${a}`);
}

/** Days from `fromIso` to `now`, whole days down. */
export function daysSince(fromIso: string, now: number): number {
  return Math.max(0, Math.floor((now - Date.parse(fromIso)) / DAY_MS));
}

/** The grants as dependents: a grant lets a principal (often an AWS service for a volume or database) use the key. */
function grantDependents(facts: RetireFacts): Dependent[] {
  if (!Array.isArray(facts.grants)) return [];
  return facts.grants.map((g) => ({ service: 'kms', type: 'grant', id: g.grantId, recordedKey: facts.key.keyArn }));
}

function replicaDependents(key: RetireKey): Dependent[] {
  return key.replicas.map((arn) => ({ service: 'kms', type: 'multi-Region replica', id: arn, recordedKey: key.keyArn }));
}

/** What ends a dependency that is not a resource's encryption setting. */
const REMEDY: Record<string, string> = {
  'grant': 'retire or revoke the grant once its grantee no longer needs the key',
  'multi-Region replica': 'schedule the replica\'s deletion first (it is a key of its own in its Region)',
};

/**
 * A finding `--force` may override. `name` is what the report shows (an id, a service, `cloudtrail`); `qualified`
 * (`<service>:<id>`, `service:<name>`, `check:<name>`, `account:<id>`, `statement:<sid>`) is unique, for when one
 * name means two findings.
 */
export interface Overridable {
  readonly name: string;
  readonly qualified: string;
  /** How the report lists it once overridden. */
  readonly label: string;
  readonly reason: string;
  /** What ends the finding, before "or pass --force …". */
  readonly fix: string;
}

/** Every finding that comes from what depends on the key. */
function dependencyFindings(facts: RetireFacts): Overridable[] {
  const all = [...facts.lookups.flatMap((l) => l.dependents), ...grantDependents(facts), ...replicaDependents(facts.key)];
  const found: Overridable[] = all.map((d) => ({
    name: d.id,
    qualified: `${d.service}:${d.id}`,
    label: `${d.type} ${d.id}`,
    reason: `${d.type} ${d.id} names the key (${d.recordedKey})`,
    fix: REMEDY[d.type] ?? 're-encrypt or remove it',
  }));
  const unknown = facts.lookups.filter((l) => l.unknown.length > 0).map((l) => ({ service: l.service, reasons: l.unknown }));
  if (!Array.isArray(facts.grants)) unknown.push({ service: 'grants', reasons: [facts.grants.unknown] });
  for (const u of unknown) {
    found.push({
      name: u.service,
      qualified: `service:${u.service}`,
      label: `unknown ${u.service}`,
      reason: `${u.service}: could not be checked (${u.reasons.join('; ')})`,
      fix: 'grant the read access it needs and rerun',
    });
  }
  return found;
}

/** What `--force` names resolve to: the findings still blocking, those overridden, and names that fit none or several. */
export function applyForce(items: Overridable[], force: string[]) {
  const overriddenItems = new Set<Overridable>();
  const unmatched: string[] = [];
  const ambiguous: string[] = [];
  for (const n of force) {
    const exact = items.filter((i) => i.qualified === n);
    const matches = exact.length > 0 ? exact : items.filter((i) => i.name === n);
    const kinds = [...new Set(matches.map((i) => i.qualified))];
    if (matches.length === 0) unmatched.push(n);
    else if (kinds.length > 1) ambiguous.push(`${n} (${kinds.join(' or ')})`);
    else matches.forEach((i) => overriddenItems.add(i));
  }
  const shared = (i: Overridable) => items.filter((j) => j.name === i.name && j.qualified !== i.qualified).length > 0;
  const blockers: Blocker[] = items.filter((i) => !overriddenItems.has(i))
    .map((i) => ({ reason: i.reason, remedy: `${i.fix}, or pass --force ${shared(i) ? i.qualified : i.name}` }));
  return { blockers, overridden: [...overriddenItems].map((i) => i.label), unmatched, ambiguous };
}

function lastUseNotes(facts: RetireFacts): string[] {
  const lu = facts.lastUse;
  if (lu.unknown) return [`last use unknown: ${lu.unknown}`];
  if (lu.lastUsedAt) return [];
  return [`no use recorded since tracking started on ${lu.trackingStartedAt.slice(0, 10)}: uses before then are not recorded`];
}

/**
 * The soak rules for --schedule: disabled long enough, and no use nor use attempt since. On a disabled key every use
 * fails and GetKeyLastUsage records only successful ones, so CloudTrail unread is a finding, not a note.
 */
function soakBlockers(facts: RetireFacts, o: PlanOptions, findings: Overridable[]): Blocker[] {
  const soak = facts.soak;
  if (!soak?.disabledAt) {
    return [{
      reason: `the disable time is unknown (${soak?.note ?? 'no record'})`,
      remedy: 'tag the key cdk-cmek:disabled-at=<ISO date> with the date it was disabled, or re-enable it and run --disable, then wait the soak',
    }];
  }
  const blockers: Blocker[] = [];
  const days = daysSince(soak.disabledAt, o.now);
  if (days < o.soakDays) {
    const until = new Date(Date.parse(soak.disabledAt) + o.soakDays * DAY_MS).toISOString().slice(0, 10);
    blockers.push({
      reason: `the soak is not over: disabled ${days} of ${o.soakDays} days (since ${soak.disabledAt}, from ${soak.source === 'tag' ? 'the cdk-cmek:disabled-at tag' : 'CloudTrail DisableKey'})`,
      remedy: `rerun on or after ${until}`,
    });
  }
  const lu = facts.lastUse;
  if (lu.unknown) {
    blockers.push({ reason: `last use unknown: ${lu.unknown}`, remedy: 'allow kms:GetKeyLastUsage and rerun' });
  } else if (lu.lastUsedAt && Date.parse(lu.lastUsedAt) >= Date.parse(soak.disabledAt)) {
    blockers.push({
      reason: `the key was used after it was disabled: ${lu.operation ?? 'an operation'} at ${lu.lastUsedAt}`,
      remedy: 'find that caller before deleting; re-enable the key if it still needs it',
    });
  }
  if (soak.cloudTrailUnreadable) {
    findings.push({
      name: 'cloudtrail',
      qualified: 'check:cloudtrail',
      label: 'unchecked CloudTrail use attempts',
      reason: `use attempts since the disable could not be checked: CloudTrail did not answer (${soak.cloudTrailUnreadable}); a disabled key's uses all fail, and GetKeyLastUsage records only successful ones`,
      fix: 'allow cloudtrail:LookupEvents and rerun',
    });
  }
  if (soak.attemptsSinceDisable?.length) {
    const a = soak.attemptsSinceDisable[0];
    blockers.push({
      reason: `${soak.attemptsSinceDisable.length} use attempts since the key was disabled (CloudTrail), the latest ${a.event} at ${a.at}${a.error ? ` (${a.error})` : ''}`,
      remedy: 'find that caller and move it to another key, then run --disable again to restart the soak',
    });
  }
  return blockers;
}

/**
 * Why the key's state does not allow the requested step, or undefined. A step already taken (disable on a disabled
 * key, schedule on a key pending deletion) is not wrong: there is nothing left to do.
 */
export function wrongState(action: RetireAction, key: RetireKey): string | undefined {
  if (key.manager !== 'CUSTOMER') return `\`<key>\` must be a customer-managed key, got: an ${key.manager} managed key (${key.keyArn})`;
  const pending = key.state === 'PendingDeletion' || key.state === 'PendingReplicaDeletion';
  if (action === 'disable' && !['Enabled', 'Disabled'].includes(key.state)) {
    return `\`--disable\` needs an Enabled key, got: ${key.state} (${key.keyArn})`;
  }
  if (action === 'schedule' && key.state !== 'Disabled' && !pending) {
    const how = key.state === 'Enabled' ? ': run --disable first and wait the soak' : '';
    return `\`--schedule\` needs a Disabled key${how}, got: ${key.state} (${key.keyArn})`;
  }
  return undefined;
}

/**
 * The use rules for --disable: no use within the last `soakDays` (unknown counts as recent), and no other account the
 * key policy lets use the key, each overridable by name.
 */
function disableFindings(facts: RetireFacts, o: PlanOptions): Overridable[] {
  const found: Overridable[] = [];
  const lu = facts.lastUse;
  const recent = lu.lastUsedAt !== undefined && daysSince(lu.lastUsedAt, o.now) < o.soakDays;
  if (lu.unknown || recent) {
    found.push({
      name: 'last-use',
      qualified: 'check:last-use',
      label: lu.unknown ? 'unknown last use' : 'recent use',
      reason: lu.unknown
        ? `last use unknown: ${lu.unknown}`
        : `the key was used ${daysSince(lu.lastUsedAt!, o.now)} days ago (${lu.operation ?? 'an operation'} at ${lu.lastUsedAt}), within the last ${o.soakDays} days`,
      fix: lu.unknown ? 'allow kms:GetKeyLastUsage and rerun' : 'find that caller and move it to another key first',
    });
  }
  const kp = facts.keyPolicy;
  if (kp && 'unknown' in kp) {
    found.push({
      name: 'key-policy',
      qualified: 'check:key-policy',
      label: 'unread key policy',
      reason: `the key policy could not be read (${kp.unknown})`,
      fix: 'allow kms:GetKeyPolicy and rerun',
    });
  } else if (kp) {
    for (const g of kp.outside) {
      found.push({ name: g.name, qualified: g.qualified, label: g.label, reason: g.reason, fix: 'make sure nothing there still needs the key' });
    }
  }
  return found;
}

/** The verdict for a run: the requested step, or for a dry run the next step the key's state calls for. */
export function plan(facts: RetireFacts, o: PlanOptions): Verdict {
  const state = facts.key.state;
  const notes = lastUseNotes(facts);
  const step = o.action === 'check' ? (state === 'Enabled' ? 'disable' : state === 'Disabled' ? 'schedule' : 'none') : o.action;
  const nothing = { blockers: [], overridden: [], unmatchedForce: [], ambiguousForce: [], notes };
  if (state === 'PendingDeletion' || state === 'PendingReplicaDeletion') {
    notes.push(`deletion already scheduled${facts.key.deletionDate ? ` for ${facts.key.deletionDate}` : ''}; CancelKeyDeletion stops it`);
    return { step: 'none', outcome: 'done', ...nothing };
  }
  if (step === 'none' || (step === 'disable' && state === 'Disabled')) {
    notes.push(state === 'Disabled' ? 'the key is already disabled' : `the key is ${state}: neither --disable nor --schedule applies`);
    return { step: 'none', outcome: 'done', ...nothing };
  }
  const findings = dependencyFindings(facts);
  const fixed: Blocker[] = [];
  if (step === 'disable') findings.push(...disableFindings(facts, o));
  if (step === 'schedule') fixed.push(...soakBlockers(facts, o, findings));
  const forced = applyForce(findings, o.force);
  const blockers = [...forced.blockers, ...fixed];
  if (facts.key.replicas.length > 0 && step === 'schedule') {
    notes.push('a multi-Region primary with replicas waits in PendingReplicaDeletion until every replica is deleted');
  }
  if (step === 'schedule') notes.push(`deletion is scheduled with the longest window, ${PENDING_WINDOW_DAYS} days`);
  return {
    step,
    outcome: blockers.length > 0 ? 'refused' : 'proceed',
    blockers,
    overridden: forced.overridden,
    unmatchedForce: forced.unmatched,
    ambiguousForce: forced.ambiguous,
    notes,
  };
}
