// The organization-wide deletion guard, asked of the policy simulator as AWS evaluates it: an RCP (or SCP) above a member account's key.
import { runSimulation, type Simulation } from '@cloud-copilot/iam-simulate';
import { Duration, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { CmekOrganizationGuard, CmekOrganizationGuardProps, CmekOrganizationPolicyType } from '../../src';
import { nagApp } from '../support/nag';

const MANAGEMENT = '999999999999';
const MEMBER = '222233334444';
const ROOT_ID = 'r-ab12';
const KEY_ARN = `arn:aws:kms:eu-west-1:${MEMBER}:key/1234abcd-12ab-34cd-56ef-1234567890ab`;
const MEMBER_ROOT = `arn:aws:iam::${MEMBER}:root`;
const ADMIN = `arn:aws:iam::${MEMBER}:role/PlatformAdmin`;
const BREAK_GLASS = `arn:aws:iam::${MEMBER}:role/KeyBreakGlass`;

/** The member account's key, with the default key policy: the account (and so its IAM policies) may do anything. */
const KEY_POLICY = {
  Version: '2012-10-17',
  Statement: [{ Sid: 'EnableIamPolicies', Effect: 'Allow', Principal: { AWS: MEMBER_ROOT }, Action: 'kms:*', Resource: '*' }],
};
const FULL_ACCESS = { Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: '*', Resource: '*' }] };

function guardPolicy(props: Partial<CmekOrganizationGuardProps> = {}): unknown {
  const stack = new Stack(nagApp(), 'Org', { env: { account: MANAGEMENT, region: 'us-east-1' } });
  new CmekOrganizationGuard(stack, 'Guard', { targetIds: [ROOT_ID], ...props });
  const [policy] = Object.values(Template.fromStack(stack).findResources('AWS::Organizations::Policy'));
  return policy.Properties.Content;
}

interface Ask {
  /** The guard's policy, or none: the same request without the guard must be allowed, or a denial proves nothing. */
  readonly guard?: unknown;
  readonly type?: CmekOrganizationPolicyType;
  readonly principal: string;
  readonly action: string;
  readonly context?: Record<string, string>;
}

/**
 * The simulator's decision for a principal of the member account, whose IAM policy allows kms:*, on the member
 * account's key. The simulator checks the RCP's or SCP's
 * syntax first (Deny only, Principal "*", no NotPrincipal) and refuses an invalid one; every context key must be
 * one it knows, or it would silently ignore the condition.
 */
async function ask(req: Ask): Promise<string> {
  const rcp = req.type !== CmekOrganizationPolicyType.SERVICE_CONTROL_POLICY;
  const guardLevel = req.guard ? [{ orgIdentifier: ROOT_ID, policies: [{ name: 'cmek-deletion-guard', policy: req.guard }] }] : [];
  const simulation: Simulation = {
    request: {
      principal: req.principal,
      action: req.action,
      resource: { resource: KEY_ARN, accountId: MEMBER },
      contextVariables: { 'aws:PrincipalArn': req.principal, 'aws:PrincipalAccount': MEMBER, ...req.context },
    },
    // The root user's own permissions in its account, which the simulator does not model, stand as an identity policy.
    identityPolicies: [{ name: req.principal === MEMBER_ROOT ? 'root-user' : 'admin', policy: { Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: 'kms:*', Resource: '*' }] } }],
    serviceControlPolicies: rcp || !req.guard
      ? []
      : [{ orgIdentifier: ROOT_ID, policies: [{ name: 'FullAWSAccess', policy: FULL_ACCESS }, { name: 'cmek-deletion-guard', policy: req.guard }] }],
    resourceControlPolicies: rcp ? guardLevel : [],
    resourcePolicy: KEY_POLICY,
  };
  const result = await runSimulation(simulation, {});
  if (result.resultType !== 'single') throw new Error(`simulation rejected: ${JSON.stringify(result)}`);
  expect(result.result.ignoredContextKeys ?? []).toEqual([]);
  return result.overallResult;
}

const days = (d: number) => ({ 'kms:TrailingDaysWithoutKeyUsage': String(d) });
const GUARDED = ['kms:ScheduleKeyDeletion', 'kms:DisableKey'];

describe('CmekOrganizationGuard, simulated', () => {
  const rcp = guardPolicy({ minDaysUnused: 90, exemptPrincipalArns: [BREAK_GLASS] });

  describe('GIVEN the RCP with minDaysUnused 90', () => {
    test.each(GUARDED.flatMap((action) => [MEMBER_ROOT, ADMIN].map((who) => [action, who])))(
      'WHEN %s is called by %s on a key used 0, 89 or 90 days ago THEN it is denied, and allowed without the RCP',
      async (action, principal) => {
        for (const d of [0, 89, 90]) {
          expect(await ask({ principal, action, context: days(d) })).toBe('Allowed');
          expect(await ask({ guard: rcp, principal, action, context: days(d) })).toBe('ExplicitlyDenied');
        }
      },
    );

    test.each(GUARDED.flatMap((action) => [MEMBER_ROOT, ADMIN].map((who) => [action, who])))(
      'WHEN %s is called by %s on a key unused for 91 days THEN it is allowed (the threshold is inclusive, as in CmekKey)',
      async (action, principal) => {
        expect(await ask({ guard: rcp, principal, action, context: days(91) })).toBe('Allowed');
      },
    );

    test.each(GUARDED)('WHEN the break-glass role calls %s on a key used today THEN it is allowed', async (action) => {
      expect(await ask({ guard: rcp, principal: BREAK_GLASS, action, context: days(0) })).toBe('Allowed');
    });

    test('WHEN a role of the same name in another member account calls THEN the concrete exemption does not cover it', async () => {
      const other = 'arn:aws:iam::555566667777:role/KeyBreakGlass';
      const result = await runSimulation({
        request: { principal: other, action: 'kms:DisableKey', resource: { resource: KEY_ARN.replace(MEMBER, '555566667777'), accountId: '555566667777' }, contextVariables: { 'aws:PrincipalArn': other, ...days(0) } },
        identityPolicies: [{ name: 'admin', policy: { Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: 'kms:*', Resource: '*' }] } }],
        serviceControlPolicies: [],
        resourceControlPolicies: [{ orgIdentifier: ROOT_ID, policies: [{ name: 'guard', policy: rcp }] }],
        resourcePolicy: { ...KEY_POLICY, Statement: [{ ...KEY_POLICY.Statement[0], Principal: { AWS: 'arn:aws:iam::555566667777:root' } }] },
      }, {});
      expect(result.resultType === 'single' && result.overallResult).toBe('ExplicitlyDenied');
    });

    test.each(['kms:Decrypt', 'kms:Encrypt', 'kms:GenerateDataKey', 'kms:PutKeyPolicy', 'kms:CancelKeyDeletion', 'kms:EnableKey'])(
      'WHEN an admin calls %s THEN the RCP leaves it alone, even fail closed (the action carries no usage key)',
      async (action) => {
        expect(await ask({ guard: rcp, principal: ADMIN, action })).toBe('Allowed');
      },
    );
  });

  describe('usage unknown (no kms:TrailingDaysWithoutKeyUsage in the request)', () => {
    const open = guardPolicy({ minDaysUnused: 90, exemptPrincipalArns: [BREAK_GLASS], allowWhenUsageUnknown: true });

    test.each(GUARDED)('GIVEN the default (fail closed) WHEN an admin calls %s THEN it is denied', async (action) => {
      expect(await ask({ principal: ADMIN, action })).toBe('Allowed');
      expect(await ask({ guard: rcp, principal: ADMIN, action })).toBe('ExplicitlyDenied');
    });

    test.each(GUARDED)('GIVEN allowWhenUsageUnknown WHEN an admin calls %s THEN it is allowed (fail open)', async (action) => {
      expect(await ask({ guard: open, principal: ADMIN, action })).toBe('Allowed');
      expect(await ask({ guard: open, principal: ADMIN, action, context: days(3) })).toBe('ExplicitlyDenied');
    });

    test('GIVEN fail closed WHEN the break-glass role calls THEN it is allowed', async () => {
      expect(await ask({ guard: rcp, principal: BREAK_GLASS, action: 'kms:DisableKey' })).toBe('Allowed');
    });
  });

  describe('the pending-window floor', () => {
    const schedule = (guard: unknown, principal: string, window: string) =>
      ask({ guard, principal, action: 'kms:ScheduleKeyDeletion', context: { ...days(9999), 'kms:ScheduleKeyDeletionPendingWindowInDays': window } });

    test.each([
      ['7', 'ExplicitlyDenied'],
      ['29', 'ExplicitlyDenied'],
      ['30', 'Allowed'],
    ])('GIVEN the default (30 days) WHEN an admin schedules an unused key\'s deletion with %s days THEN %s', async (window, expected) => {
      expect(await schedule(rcp, ADMIN, window)).toBe(expected);
    });

    test('GIVEN 21 days WHEN the break-glass role schedules with 20 days THEN it is denied too (exemptions skip the usage check only)', async () => {
      const floor21 = guardPolicy({ exemptPrincipalArns: [BREAK_GLASS], minPendingWindow: Duration.days(21) });
      expect(await schedule(floor21, BREAK_GLASS, '20')).toBe('ExplicitlyDenied');
      expect(await schedule(floor21, BREAK_GLASS, '21')).toBe('Allowed');
    });

    test('GIVEN 7 days (no floor) WHEN an admin schedules with 7 days THEN it is allowed', async () => {
      expect(await schedule(guardPolicy({ minPendingWindow: Duration.days(7) }), ADMIN, '7')).toBe('Allowed');
    });
  });

  describe('a wildcard-account exemption', () => {
    const everyAccount = guardPolicy({ exemptPrincipalArns: ['arn:aws:iam::*:role/KeyBreakGlass'] });

    test('GIVEN arn:aws:iam::*:role/KeyBreakGlass WHEN the member account\'s KeyBreakGlass calls THEN it is allowed, and another role is not', async () => {
      expect(await ask({ guard: everyAccount, principal: BREAK_GLASS, action: 'kms:ScheduleKeyDeletion', context: { ...days(0), 'kms:ScheduleKeyDeletionPendingWindowInDays': '30' } })).toBe('Allowed');
      expect(await ask({ guard: everyAccount, principal: `arn:aws:iam::${MEMBER}:role/KeyBreakGlassX`, action: 'kms:DisableKey', context: days(0) })).toBe('ExplicitlyDenied');
    });
  });

  describe('GIVEN the SCP variant', () => {
    const scp = guardPolicy({ policyType: CmekOrganizationPolicyType.SERVICE_CONTROL_POLICY, minDaysUnused: 90, exemptPrincipalArns: [BREAK_GLASS] });
    const asScp = (principal: string, action: string, context?: Record<string, string>) =>
      ask({ guard: scp, type: CmekOrganizationPolicyType.SERVICE_CONTROL_POLICY, principal, action, context });

    test('WHEN an admin disables a key used 90 days ago THEN it is denied; 91 days THEN allowed', async () => {
      expect(await asScp(ADMIN, 'kms:DisableKey', days(90))).toBe('ExplicitlyDenied');
      expect(await asScp(ADMIN, 'kms:DisableKey', days(91))).toBe('Allowed');
    });

    test('WHEN usage is unknown THEN an admin is denied and the break-glass role allowed', async () => {
      expect(await asScp(ADMIN, 'kms:ScheduleKeyDeletion')).toBe('ExplicitlyDenied');
      expect(await asScp(BREAK_GLASS, 'kms:ScheduleKeyDeletion')).toBe('Allowed');
    });

    test('WHEN an admin decrypts THEN the SCP leaves it alone', async () => {
      expect(await asScp(ADMIN, 'kms:Decrypt')).toBe('Allowed');
    });
  });
});
