// The retirement planner: from what was found about a key (last use, dependents, soak) to a verdict that says what may
// run, what refuses it and what would let it proceed. Pure: no AWS calls, so every rule is tested on plain data.
import { PENDING_WINDOW_DAYS, type RetireAction } from './args';

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
  /** Why CloudTrail could not be read, when it could not; then only GetKeyLastUsage was checked. */
  readonly cloudTrailUnreadable?: string;
}

export interface RetireFacts {
  readonly key: RetireKey;
  readonly lastUse: LastUse;
  readonly lookups: Lookup[];
  /** Grants, or the reason they could not be listed. */
  readonly grants: RetireGrant[] | { readonly unknown: string };
  readonly soak?: Soak;
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

/** Every blocker that comes from what depends on the key, minus what `--force` names. */
function dependencyBlockers(facts: RetireFacts, force: Set<string>, used: Set<string>, overridden: string[]): Blocker[] {
  const blockers: Blocker[] = [];
  const all = [...facts.lookups.flatMap((l) => l.dependents), ...grantDependents(facts), ...replicaDependents(facts.key)];
  for (const d of all) {
    if (force.has(d.id)) {
      used.add(d.id);
      overridden.push(`${d.type} ${d.id}`);
      continue;
    }
    blockers.push({ reason: `${d.type} ${d.id} names the key (${d.recordedKey})`, remedy: `${REMEDY[d.type] ?? 're-encrypt or remove it'}, or pass --force ${d.id}` });
  }
  const unknown = facts.lookups.filter((l) => l.unknown.length > 0).map((l) => ({ service: l.service, reasons: l.unknown }));
  if (!Array.isArray(facts.grants)) unknown.push({ service: 'grants', reasons: [facts.grants.unknown] });
  for (const u of unknown) {
    if (force.has(u.service)) {
      used.add(u.service);
      overridden.push(`unknown ${u.service}`);
      continue;
    }
    blockers.push({
      reason: `${u.service}: could not be checked (${u.reasons.join('; ')})`,
      remedy: `grant the read access it needs and rerun, or pass --force ${u.service}`,
    });
  }
  return blockers;
}

function lastUseNotes(facts: RetireFacts): string[] {
  const lu = facts.lastUse;
  if (lu.unknown) return [`last use unknown: ${lu.unknown}`];
  if (lu.lastUsedAt) return [];
  return [`no use recorded since tracking started on ${lu.trackingStartedAt.slice(0, 10)}: uses before then are not recorded`];
}

/** The soak rules for --schedule: disabled long enough, and no use (nor attempt, where readable) since. */
function soakBlockers(facts: RetireFacts, o: PlanOptions, notes: string[]): Blocker[] {
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
    notes.push(`CloudTrail not read (${soak.cloudTrailUnreadable}): use attempts on the disabled key were not checked, only GetKeyLastUsage`);
  } else if (soak.attemptsSinceDisable?.length) {
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

/** The verdict for a run: the requested step, or for a dry run the next step the key's state calls for. */
export function plan(facts: RetireFacts, o: PlanOptions): Verdict {
  const state = facts.key.state;
  const notes = lastUseNotes(facts);
  const force = new Set(o.force);
  const used = new Set<string>();
  const overridden: string[] = [];
  const step = o.action === 'check' ? (state === 'Enabled' ? 'disable' : state === 'Disabled' ? 'schedule' : 'none') : o.action;
  if (state === 'PendingDeletion' || state === 'PendingReplicaDeletion') {
    notes.push(`deletion already scheduled${facts.key.deletionDate ? ` for ${facts.key.deletionDate}` : ''}; CancelKeyDeletion stops it`);
    return { step: 'none', outcome: 'done', blockers: [], overridden, unmatchedForce: [], notes };
  }
  if (step === 'none' || (step === 'disable' && state === 'Disabled')) {
    notes.push(state === 'Disabled' ? 'the key is already disabled' : `the key is ${state}: neither --disable nor --schedule applies`);
    return { step: 'none', outcome: 'done', blockers: [], overridden, unmatchedForce: [], notes };
  }
  const blockers = dependencyBlockers(facts, force, used, overridden);
  if (step === 'schedule') blockers.push(...soakBlockers(facts, o, notes));
  if (facts.key.replicas.length > 0 && step === 'schedule') {
    notes.push('a multi-Region primary with replicas waits in PendingReplicaDeletion until every replica is deleted');
  }
  if (step === 'schedule') notes.push(`deletion is scheduled with the longest window, ${PENDING_WINDOW_DAYS} days`);
  const unmatchedForce = o.force.filter((n) => !used.has(n));
  return { step, outcome: blockers.length > 0 ? 'refused' : 'proceed', blockers, overridden, unmatchedForce, notes };
}
