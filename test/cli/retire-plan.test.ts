// The retirement planner on plain data: which references name the key, the soak's boundary, what blocks and what
// `--force` overrides, and the states that leave nothing to do.
import { DISABLED_KEY } from './retire-support';
import { namesKey, plan, wrongState, type Lookup, type RetireFacts, type RetireKey } from '../../src/monitoring/runtime/retire/plan';

const NOW = Date.parse('2026-12-01T12:00:00Z');
const DAY = 86_400_000;
const iso = (ms: number) => new Date(ms).toISOString();

const KEY: RetireKey = { ...DISABLED_KEY, aliases: ['alias/cmek/legacy'] };

const none = (service: string): Lookup => ({ service, checked: [service], dependents: [], unknown: [] });

function facts(over: Partial<RetireFacts> = {}, key: Partial<RetireKey> = {}): RetireFacts {
  return {
    key: { ...KEY, ...key },
    lastUse: { trackingStartedAt: '2026-04-23T00:00:00.000Z', lastUsedAt: iso(NOW - 90 * DAY), operation: 'Decrypt' },
    lookups: [none('ec2'), none('sqs')],
    grants: [],
    soak: { disabledAt: iso(NOW - 30 * DAY), source: 'tag', attemptsSinceDisable: [] },
    ...over,
  };
}

const opts = { action: 'schedule' as const, force: [], soakDays: 30, now: NOW };

describe('retire planner', () => {
  test.each([
    ['the key id', KEY.keyId, true],
    ['the key ARN', KEY.keyArn, true],
    ['an alias name', 'alias/cmek/legacy', true],
    ['an alias ARN', 'arn:aws:kms:eu-west-1:111122223333:alias/cmek/legacy', true],
    ['another account\'s alias ARN', 'arn:aws:kms:eu-west-1:444455556666:alias/cmek/legacy', false],
    ['another alias', 'alias/cmek/legacy-2', false],
    ['another key', 'arn:aws:kms:eu-west-1:111122223333:key/ffffffff-12ab-34cd-56ef-1234567890ab', false],
    ['nothing', undefined, false],
  ])('GIVEN %s recorded WHEN matched THEN %s', (_what, recorded, expected) => {
    expect(namesKey(KEY, recorded)).toBe(expected);
  });

  test('GIVEN disabled exactly soakDays ago, unused since WHEN --schedule THEN it proceeds; a day less THEN refused', () => {
    expect(plan(facts(), opts)).toMatchObject({ step: 'schedule', outcome: 'proceed', blockers: [] });
    const early = plan(facts({ soak: { disabledAt: iso(NOW - 30 * DAY + 1), source: 'tag', attemptsSinceDisable: [] } }), opts);
    expect(early.outcome).toBe('refused');
    expect(early.blockers[0].reason).toMatch(/^the soak is not over: disabled 29 of 30 days/);
  });

  test('GIVEN an unreadable lookup and unreadable grants WHEN --disable THEN both block; --force names each service', () => {
    const f = facts({ lookups: [none('ec2'), { ...none('sqs'), unknown: ['AccessDenied: no'] }], grants: { unknown: 'AccessDeniedException: no' } }, { state: 'Enabled' });
    const refused = plan(f, { ...opts, action: 'disable' });
    expect(refused.blockers.map((b) => b.remedy)).toEqual([
      'grant the read access it needs and rerun, or pass --force sqs',
      'grant the read access it needs and rerun, or pass --force grants',
    ]);
    expect(plan(f, { ...opts, action: 'disable', force: ['sqs'] }).outcome).toBe('refused');
    expect(plan(f, { ...opts, action: 'disable', force: ['sqs', 'grants'] })).toMatchObject({ outcome: 'proceed', overridden: ['unknown sqs', 'unknown grants'] });
  });

  test('GIVEN a dependent WHEN --force names its service instead of it THEN still refused and the name is reported as unmatched', () => {
    const dep = { service: 'ec2', type: 'EBS volume', id: 'vol-1', recordedKey: KEY.keyId };
    const v = plan(facts({ lookups: [{ ...none('ec2'), dependents: [dep] }] }, { state: 'Enabled' }), { ...opts, action: 'disable', force: ['ec2'] });
    expect(v.outcome).toBe('refused');
    expect(v.unmatchedForce).toEqual(['ec2']);
  });

  test('GIVEN replicas and grants WHEN dry-run of an Enabled key THEN each blocks --disable', () => {
    const v = plan(
      facts({ grants: [{ grantId: 'g-1', grantee: 'arn:aws:iam::111122223333:role/app', operations: ['Decrypt'] }] }, { state: 'Enabled', replicas: ['arn:aws:kms:us-east-1:111122223333:key/mrk-1'] }),
      { ...opts, action: 'check' },
    );
    expect(v).toMatchObject({ step: 'disable', outcome: 'refused' });
    expect(v.blockers.map((b) => b.reason)).toEqual([
      `grant g-1 names the key (${KEY.keyArn})`,
      `multi-Region replica arn:aws:kms:us-east-1:111122223333:key/mrk-1 names the key (${KEY.keyArn})`,
    ]);
    expect(v.blockers.map((b) => b.remedy)).toEqual([
      'retire or revoke the grant once its grantee no longer needs the key, or pass --force g-1',
      'schedule the replica\'s deletion first (it is a key of its own in its Region), or pass --force arn:aws:kms:us-east-1:111122223333:key/mrk-1',
    ]);
  });

  test('GIVEN last use unknown WHEN --schedule THEN refused: unknown is never "unused"', () => {
    const v = plan(facts({ lastUse: { trackingStartedAt: '2026-04-23T00:00:00.000Z', unknown: 'GetKeyLastUsage failed: AccessDeniedException' } }), opts);
    expect(v.blockers.map((b) => b.remedy)).toEqual(['allow kms:GetKeyLastUsage and rerun']);
  });

  test('GIVEN a DynamoDB table named lambda and an unreadable Lambda lookup WHEN --force lambda THEN ambiguous; qualified names override each', () => {
    const table = { service: 'dynamodb', type: 'DynamoDB table', id: 'lambda', recordedKey: KEY.keyArn };
    const f = facts({ lookups: [{ ...none('dynamodb'), dependents: [table] }, { ...none('lambda'), unknown: ['AccessDeniedException: no'] }] }, { state: 'Enabled' });
    const v = plan(f, { ...opts, action: 'disable', force: ['lambda'] });
    expect(v).toMatchObject({ outcome: 'refused', ambiguousForce: ['lambda (dynamodb:lambda or service:lambda)'], overridden: [] });
    expect(v.blockers.map((b) => b.remedy)).toEqual(['re-encrypt or remove it, or pass --force dynamodb:lambda', 'grant the read access it needs and rerun, or pass --force service:lambda']);
    expect(plan(f, { ...opts, action: 'disable', force: ['dynamodb:lambda'] }).blockers).toHaveLength(1);
    expect(plan(f, { ...opts, action: 'disable', force: ['dynamodb:lambda', 'service:lambda'] })).toMatchObject({ outcome: 'proceed', ambiguousForce: [], unmatchedForce: [] });
  });

  test('GIVEN a use 5 days ago WHEN --disable THEN refused until --force last-use; 30 days ago THEN it proceeds', () => {
    const used = (days: number) => facts({ lastUse: { trackingStartedAt: '2026-04-23T00:00:00.000Z', lastUsedAt: iso(NOW - days * DAY), operation: 'Decrypt' } }, { state: 'Enabled' });
    const v = plan(used(5), { ...opts, action: 'disable' });
    expect(v.blockers).toEqual([{
      reason: `the key was used 5 days ago (Decrypt at ${iso(NOW - 5 * DAY)}), within the last 30 days`,
      remedy: 'find that caller and move it to another key first, or pass --force last-use',
    }]);
    expect(plan(used(5), { ...opts, action: 'disable', force: ['last-use'] })).toMatchObject({ outcome: 'proceed', overridden: ['recent use'] });
    expect(plan(used(30), { ...opts, action: 'disable' }).outcome).toBe('proceed');
    const unknown = facts({ lastUse: { trackingStartedAt: '2026-04-23T00:00:00.000Z', unknown: 'GetKeyLastUsage failed: AccessDeniedException' } }, { state: 'Enabled' });
    expect(plan(unknown, { ...opts, action: 'check' }).blockers.map((b) => b.remedy)).toEqual(['allow kms:GetKeyLastUsage and rerun, or pass --force last-use']);
  });

  test('GIVEN a key policy naming another account, or unreadable WHEN --disable THEN each blocks until forced by name', () => {
    const outside = [{ name: '444455556666', qualified: 'account:444455556666', label: 'account 444455556666', reason: 'the key policy lets account 444455556666 use the key (statement Partner: 444455556666)' }];
    const f = facts({ keyPolicy: { outside } }, { state: 'Enabled' });
    expect(plan(f, { ...opts, action: 'disable' }).blockers.map((b) => b.remedy)).toEqual(['make sure nothing there still needs the key, or pass --force 444455556666']);
    expect(plan(f, { ...opts, action: 'disable', force: ['account:444455556666'] })).toMatchObject({ outcome: 'proceed', overridden: ['account 444455556666'] });
    const unread = facts({ keyPolicy: { unknown: 'GetKeyPolicy failed: AccessDeniedException: no' } }, { state: 'Enabled' });
    expect(plan(unread, { ...opts, action: 'disable' }).blockers.map((b) => b.reason)).toEqual(['the key policy could not be read (GetKeyPolicy failed: AccessDeniedException: no)']);
    expect(plan(unread, { ...opts, action: 'disable', force: ['key-policy'] }).outcome).toBe('proceed');
  });

  test.each([
    ['disable', 'PendingDeletion', '`--disable` needs an Enabled key, got: PendingDeletion'],
    ['schedule', 'Enabled', '`--schedule` needs a Disabled key: run --disable first and wait the soak, got: Enabled'],
    ['schedule', 'PendingImport', '`--schedule` needs a Disabled key, got: PendingImport'],
    ['check', 'Unavailable', undefined],
    ['schedule', 'PendingDeletion', undefined],
    ['disable', 'Disabled', undefined],
  ] as const)('GIVEN %s on a %s key WHEN checked THEN %s', (action, state, message) => {
    const got = wrongState(action, { ...KEY, state });
    if (message) expect(got).toBe(`${message} (${KEY.keyArn})`);
    else expect(got).toBeUndefined();
  });

  test('GIVEN an AWS managed key WHEN checked THEN refused whatever the action', () => {
    expect(wrongState('check', { ...KEY, manager: 'AWS' })).toBe(`\`<key>\` must be a customer-managed key, got: an AWS managed key (${KEY.keyArn})`);
  });
});
