// The deletion guard's edges, asked of the policy simulator: usage unknown (fail closed or open), the minimum pending
// window, the key-policy lock, and the deploying role under allowAccountRootAccess: false.
import { Duration, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import * as iam from 'aws-cdk-lib/aws-iam';
import { CmekKey, CmekKeyProps } from '../../src';
import { resolveCfn } from '../support/cfn';
import { nagApp } from '../support/nag';
import { decide } from '../support/simulate';

const OWNER = '999999999999';
const KEY_ARN = `arn:aws:kms:eu-west-1:${OWNER}:key/1234abcd-12ab-34cd-56ef-1234567890ab`;
const EXEC_ROLE = `arn:aws:iam::${OWNER}:role/cdk-hnb659fds-cfn-exec-role-${OWNER}-eu-west-1`;
const ADMIN = `arn:aws:iam::${OWNER}:role/PlatformAdmin`;
const POLICY_ADMIN = `arn:aws:iam::${OWNER}:role/KeyPolicyAdmin`;
const BREAK_GLASS = `arn:aws:iam::${OWNER}:role/KeyBreakGlass`;

function deployedPolicy(props: CmekKeyProps): unknown {
  const stack = new Stack(nagApp(), 'Sim', { env: { account: OWNER, region: 'eu-west-1' } });
  new CmekKey(stack, 'K', props);
  const [key] = Object.values(Template.fromStack(stack).findResources('AWS::KMS::Key'));
  return resolveCfn(key.Properties.KeyPolicy, { account: OWNER });
}

/** A same-account principal whose IAM policy allows kms:*: only the key policy's denies stop it. */
function ask(policy: unknown, principal: string, action: string, extra: Record<string, string> = {}) {
  return decide({
    resourcePolicy: policy,
    resource: KEY_ARN,
    principal,
    action,
    context: { 'aws:PrincipalArn': principal, 'aws:PrincipalAccount': OWNER, ...extra },
  });
}

describe('deletion guard, simulated', () => {
  describe('a request without kms:TrailingDaysWithoutKeyUsage (usage unknown)', () => {
    const closed = deployedPolicy({ alias: 'cmek/closed', deletionGuard: { exemptPrincipalArns: [BREAK_GLASS] } });
    const open = deployedPolicy({ alias: 'cmek/open', deletionGuard: { exemptPrincipalArns: [BREAK_GLASS], allowWhenUsageUnknown: true } });

    test.each(['kms:ScheduleKeyDeletion', 'kms:DisableKey'])('GIVEN the default (fail closed) WHEN an admin calls %s with usage unknown THEN it is denied', async (action) => {
      expect(await ask(closed, ADMIN, action)).toBe('ExplicitlyDenied');
    });

    test.each(['kms:ScheduleKeyDeletion', 'kms:DisableKey'])('GIVEN allowWhenUsageUnknown WHEN an admin calls %s with usage unknown THEN it is allowed (fail open)', async (action) => {
      expect(await ask(open, ADMIN, action)).toBe('Allowed');
    });

    test('GIVEN fail closed WHEN the break-glass role calls with usage unknown THEN it is allowed', async () => {
      expect(await ask(closed, BREAK_GLASS, 'kms:DisableKey')).toBe('Allowed');
    });

    test('GIVEN either setting WHEN usage is known and old THEN both allow, and both deny recent use', async () => {
      const days = (d: string) => ({ 'kms:TrailingDaysWithoutKeyUsage': d });
      expect([await ask(closed, ADMIN, 'kms:DisableKey', days('400')), await ask(open, ADMIN, 'kms:DisableKey', days('400'))]).toEqual(['Allowed', 'Allowed']);
      expect([await ask(closed, ADMIN, 'kms:DisableKey', days('3')), await ask(open, ADMIN, 'kms:DisableKey', days('3'))]).toEqual(['ExplicitlyDenied', 'ExplicitlyDenied']);
    });
  });

  describe('the minimum pending window', () => {
    const policy = deployedPolicy({ alias: 'cmek/window', pendingWindow: Duration.days(21), deletionGuard: { exemptPrincipalArns: [BREAK_GLASS] } });
    const schedule = (principal: string, window: string) =>
      ask(policy, principal, 'kms:ScheduleKeyDeletion', { 'kms:TrailingDaysWithoutKeyUsage': '9999', 'kms:ScheduleKeyDeletionPendingWindowInDays': window });

    test.each([
      ['7', 'ExplicitlyDenied'],
      ['20', 'ExplicitlyDenied'],
      ['21', 'Allowed'],
      ['30', 'Allowed'],
    ])('GIVEN a 21-day key WHEN an admin schedules deletion with %s days THEN %s', async (window, expected) => {
      expect(await schedule(ADMIN, window)).toBe(expected);
    });

    test('GIVEN a 21-day key WHEN the break-glass role schedules with 7 days THEN it is denied too (exemptions skip the usage check only)', async () => {
      expect(await schedule(BREAK_GLASS, '7')).toBe('ExplicitlyDenied');
      expect(await schedule(BREAK_GLASS, '21')).toBe('Allowed');
    });
  });

  describe('the key-policy lock', () => {
    const locked = deployedPolicy({ alias: 'cmek/locked', deletionGuard: { lockKeyPolicy: true, policyAdminArns: [POLICY_ADMIN] } });
    const unlocked = deployedPolicy({ alias: 'cmek/unlocked' });

    test('GIVEN the lock WHEN the stack execution role updates the policy THEN it is allowed (the stack can still be updated)', async () => {
      expect(await ask(locked, EXEC_ROLE, 'kms:PutKeyPolicy')).toBe('Allowed');
    });

    test('GIVEN the lock WHEN a named policy admin updates the policy THEN it is allowed', async () => {
      expect(await ask(locked, POLICY_ADMIN, 'kms:PutKeyPolicy')).toBe('Allowed');
    });

    test('GIVEN the lock WHEN another IAM administrator updates the policy THEN it is denied; without the lock it is allowed', async () => {
      expect(await ask(locked, ADMIN, 'kms:PutKeyPolicy')).toBe('ExplicitlyDenied');
      expect(await ask(unlocked, ADMIN, 'kms:PutKeyPolicy')).toBe('Allowed');
    });

    test('GIVEN the lock WHEN another administrator does other key administration THEN it stays allowed', async () => {
      expect(await ask(locked, ADMIN, 'kms:TagResource')).toBe('Allowed');
    });
  });

  describe('allowAccountRootAccess: false and KMS lockout', () => {
    const admins = [new iam.ArnPrincipal(ADMIN)];

    test('GIVEN the default synthesizer WHEN its execution role calls kms:PutKeyPolicy THEN it is allowed, and other roles of the account are not', async () => {
      const policy = deployedPolicy({ alias: 'cmek/noroot', allowAccountRootAccess: false, admins });
      expect(await ask(policy, EXEC_ROLE, 'kms:PutKeyPolicy')).toBe('Allowed');
      expect(await ask(policy, `arn:aws:iam::${OWNER}:role/Developer`, 'kms:PutKeyPolicy')).toBe('ImplicitlyDenied');
    });

    test('GIVEN deploymentRoleArn WHEN that role and the synthesizer role call kms:PutKeyPolicy THEN only the named role is allowed', async () => {
      const deployer = `arn:aws:iam::${OWNER}:role/PipelineDeploy`;
      const policy = deployedPolicy({ alias: 'cmek/noroot', allowAccountRootAccess: false, admins, deploymentRoleArn: deployer });
      expect(await ask(policy, deployer, 'kms:PutKeyPolicy')).toBe('Allowed');
      expect(await ask(policy, EXEC_ROLE, 'kms:PutKeyPolicy')).toBe('ImplicitlyDenied');
    });
  });
});
