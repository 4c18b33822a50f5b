// What synthesized CmekKey policies allow and deny, asked of a policy simulator (principal × action × context).
import { RemovalPolicy, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import * as iam from 'aws-cdk-lib/aws-iam';
import { CmekAction, CmekGrantee, CmekKey, CmekKeyProps } from '../../src';
import { resolveCfn } from '../support/cfn';
import { nagApp } from '../support/nag';
import { decide } from '../support/simulate';

const OWNER = '999999999999';
const VENDOR = '111122223333';
const KEY_ARN = `arn:aws:kms:eu-west-1:${OWNER}:key/1234abcd-12ab-34cd-56ef-1234567890ab`;
const VENDOR_ROLE = `arn:aws:iam::${VENDOR}:role/VendorApp`;
const ADMIN = `arn:aws:iam::${OWNER}:role/PlatformAdmin`;
const BREAK_GLASS = `arn:aws:iam::${OWNER}:role/KeyBreakGlass`;

/** Every action a CMEK grantee may be asked about: the five (wildcards expanded) and some it must not get. */
const GRANTED = [
  'kms:Encrypt',
  'kms:Decrypt',
  'kms:ReEncryptFrom',
  'kms:ReEncryptTo',
  'kms:GenerateDataKey',
  'kms:GenerateDataKeyWithoutPlaintext',
  'kms:GenerateDataKeyPair',
  'kms:GenerateDataKeyPairWithoutPlaintext',
  'kms:DescribeKey',
];
const NOT_GRANTED = ['kms:CreateGrant', 'kms:PutKeyPolicy', 'kms:ScheduleKeyDeletion', 'kms:DisableKey', 'kms:GetKeyPolicy', 'kms:RetireGrant'];

/** The key policy of a CmekKey as it would be deployed in account OWNER. */
function deployedPolicy(props: CmekKeyProps): unknown {
  const stack = new Stack(nagApp(), 'Sim', { env: { account: OWNER, region: 'eu-west-1' } });
  new CmekKey(stack, 'K', props);
  const [key] = Object.values(Template.fromStack(stack).findResources('AWS::KMS::Key'));
  return resolveCfn(key.Properties.KeyPolicy, { account: OWNER });
}

/** Context AWS adds to every request, plus what the test sets. */
function ctx(principal: string, extra: Record<string, string | string[]> = {}): Record<string, string | string[]> {
  return { 'aws:PrincipalArn': principal, 'aws:PrincipalAccount': principal.split(':')[4], ...extra };
}

/** KMS sends `kms:TrailingDaysWithoutKeyUsage` with the two actions the guard covers, and no others. */
function trailingDays(action: string, days: string): Record<string, string> {
  return ['kms:ScheduleKeyDeletion', 'kms:DisableKey'].includes(action) ? { 'kms:TrailingDaysWithoutKeyUsage': days } : {};
}

describe('key policy, simulated', () => {
  describe('an account grantee', () => {
    const policy = deployedPolicy({ alias: 'cmek/vendor', grantees: [CmekGrantee.account(VENDOR)] });

    test.each(GRANTED)('GIVEN a vendor role WHEN it calls %s THEN it is allowed', async (action) => {
      expect(await decide({ resourcePolicy: policy, resource: KEY_ARN, principal: VENDOR_ROLE, action, context: ctx(VENDOR_ROLE) })).toBe('Allowed');
    });

    test.each(NOT_GRANTED)('GIVEN a vendor role WHEN it calls %s THEN it is denied', async (action) => {
      expect(await decide({ resourcePolicy: policy, resource: KEY_ARN, principal: VENDOR_ROLE, action, context: ctx(VENDOR_ROLE, trailingDays(action, '9999')) })).not.toBe('Allowed');
    });

    test('GIVEN the vendor account did not delegate to its role WHEN the role decrypts THEN it is denied (cross-account needs both sides)', async () => {
      expect(await decide({ resourcePolicy: policy, resource: KEY_ARN, principal: VENDOR_ROLE, action: 'kms:Decrypt', context: ctx(VENDOR_ROLE), identityActions: [] })).not.toBe('Allowed');
    });

    test('GIVEN a third account WHEN it decrypts THEN it is denied', async () => {
      const stranger = 'arn:aws:iam::444455556666:role/Stranger';
      expect(await decide({ resourcePolicy: policy, resource: KEY_ARN, principal: stranger, action: 'kms:Decrypt', context: ctx(stranger) })).not.toBe('Allowed');
    });
  });

  describe('a decrypt-only grantee', () => {
    const policy = deployedPolicy({
      alias: 'cmek/reader',
      grantees: [CmekGrantee.role(VENDOR_ROLE, { actions: [CmekAction.DECRYPT, CmekAction.DESCRIBE_KEY] })],
    });
    test.each([
      ['kms:Decrypt', 'Allowed'],
      ['kms:DescribeKey', 'Allowed'],
      ['kms:Encrypt', 'denied'],
      ['kms:GenerateDataKey', 'denied'],
      ['kms:ReEncryptTo', 'denied'],
    ])('GIVEN the role WHEN it calls %s THEN it is %s', async (action, expected) => {
      const result = await decide({ resourcePolicy: policy, resource: KEY_ARN, principal: VENDOR_ROLE, action, context: ctx(VENDOR_ROLE) });
      if (expected === 'Allowed') expect(result).toBe('Allowed');
      else expect(result).not.toBe('Allowed');
    });
  });

  describe('conditions', () => {
    test('GIVEN an organization grantee WHEN a member and a non-member decrypt THEN only the member is allowed', async () => {
      const policy = deployedPolicy({ alias: 'cmek/org', grantees: [CmekGrantee.organization('o-a1b2c3d4e5')] });
      const member = 'arn:aws:iam::222233334444:role/App';
      const allowed = await decide({ resourcePolicy: policy, resource: KEY_ARN, principal: member, action: 'kms:Decrypt', context: ctx(member, { 'aws:PrincipalOrgID': 'o-a1b2c3d4e5' }) });
      const wrongOrg = await decide({ resourcePolicy: policy, resource: KEY_ARN, principal: member, action: 'kms:Decrypt', context: ctx(member, { 'aws:PrincipalOrgID': 'o-zzzzzzzzzz' }) });
      const noOrg = await decide({ resourcePolicy: policy, resource: KEY_ARN, principal: member, action: 'kms:Decrypt', context: ctx(member) });
      expect([allowed, wrongOrg, noOrg]).toEqual(['Allowed', 'ImplicitlyDenied', 'ImplicitlyDenied']);
    });

    test('GIVEN viaServices s3 WHEN the vendor decrypts through S3, through EC2, and directly THEN only through S3 is allowed', async () => {
      const policy = deployedPolicy({ alias: 'cmek/s3only', grantees: [CmekGrantee.account(VENDOR, { viaServices: ['s3.eu-west-1.amazonaws.com'] })] });
      const via = async (service?: string) => decide({
        resourcePolicy: policy,
        resource: KEY_ARN,
        principal: VENDOR_ROLE,
        action: 'kms:Decrypt',
        context: ctx(VENDOR_ROLE, service ? { 'kms:ViaService': service } : {}),
      });
      expect([await via('s3.eu-west-1.amazonaws.com'), await via('ec2.eu-west-1.amazonaws.com'), await via()]).toEqual(['Allowed', 'ImplicitlyDenied', 'ImplicitlyDenied']);
    });

    test('GIVEN an encryption-context condition WHEN the context matches, differs, or is missing THEN only the match is allowed; DescribeKey still works', async () => {
      const policy = deployedPolicy({ alias: 'cmek/tenant', grantees: [CmekGrantee.account(VENDOR, { encryptionContext: { tenant: 'acme' } })] });
      const call = (action: string, extra: Record<string, string | string[]>) =>
        decide({ resourcePolicy: policy, resource: KEY_ARN, principal: VENDOR_ROLE, action, context: ctx(VENDOR_ROLE, extra) });
      expect(await call('kms:Decrypt', { 'kms:EncryptionContext:tenant': 'acme', 'kms:EncryptionContextKeys': ['tenant'] })).toBe('Allowed');
      expect(await call('kms:Decrypt', { 'kms:EncryptionContext:tenant': 'globex', 'kms:EncryptionContextKeys': ['tenant'] })).toBe('ImplicitlyDenied');
      expect(await call('kms:Decrypt', {})).toBe('ImplicitlyDenied');
      expect(await call('kms:DescribeKey', {})).toBe('Allowed');
    });

    test('GIVEN a required context key WHEN the key is present or absent THEN only present is allowed', async () => {
      const policy = deployedPolicy({ alias: 'cmek/keys', grantees: [CmekGrantee.account(VENDOR, { requireEncryptionContextKeys: ['dataset'] })] });
      const call = (extra: Record<string, string | string[]>) =>
        decide({ resourcePolicy: policy, resource: KEY_ARN, principal: VENDOR_ROLE, action: 'kms:GenerateDataKey', context: ctx(VENDOR_ROLE, extra) });
      expect(await call({ 'kms:EncryptionContext:dataset': 'sales', 'kms:EncryptionContextKeys': ['dataset'] })).toBe('Allowed');
      expect(await call({ 'kms:EncryptionContext:other': 'x', 'kms:EncryptionContextKeys': ['other'] })).toBe('ImplicitlyDenied');
    });

    test('GIVEN sourceVpce WHEN called from that endpoint, another, or none THEN only that endpoint is allowed', async () => {
      const policy = deployedPolicy({ alias: 'cmek/vpce', grantees: [CmekGrantee.account(VENDOR, { sourceVpce: ['vpce-0a1b2c3d4e5f67890'] })] });
      const call = (extra: Record<string, string>) =>
        decide({ resourcePolicy: policy, resource: KEY_ARN, principal: VENDOR_ROLE, action: 'kms:Encrypt', context: ctx(VENDOR_ROLE, extra) });
      expect([
        await call({ 'aws:SourceVpce': 'vpce-0a1b2c3d4e5f67890' }),
        await call({ 'aws:SourceVpce': 'vpce-11111111111111111' }),
        await call({}),
      ]).toEqual(['Allowed', 'ImplicitlyDenied', 'ImplicitlyDenied']);
    });
  });

  describe('deletion guard', () => {
    const policy = deployedPolicy({
      alias: 'cmek/guarded',
      deletionGuard: { minDaysUnused: 365, exemptPrincipalArns: [BREAK_GLASS] },
    });
    const ask = (principal: string, action: string, days: string) =>
      decide({ resourcePolicy: policy, resource: KEY_ARN, principal, action, context: ctx(principal, trailingDays(action, days)) });

    test.each([
      ['kms:ScheduleKeyDeletion', '0', 'ExplicitlyDenied'],
      ['kms:ScheduleKeyDeletion', '364', 'ExplicitlyDenied'],
      ['kms:ScheduleKeyDeletion', '365', 'ExplicitlyDenied'],
      ['kms:ScheduleKeyDeletion', '366', 'Allowed'],
      ['kms:DisableKey', '1', 'ExplicitlyDenied'],
      ['kms:DisableKey', '365', 'ExplicitlyDenied'],
      ['kms:DisableKey', '1000', 'Allowed'],
    ])('GIVEN an admin WHEN it calls %s with %s trailing days unused THEN %s', async (action, days, expected) => {
      expect(await ask(ADMIN, action, days)).toBe(expected);
    });

    test.each(['0', '365', '366'])('GIVEN the break-glass role WHEN it schedules deletion at %s days THEN it is allowed', async (days) => {
      expect(await ask(BREAK_GLASS, 'kms:ScheduleKeyDeletion', days)).toBe('Allowed');
      expect(await ask(BREAK_GLASS, 'kms:DisableKey', days)).toBe('Allowed');
    });

    test('GIVEN the guard WHEN the admin uses other admin actions on a busy key THEN they stay allowed', async () => {
      for (const action of ['kms:EnableKeyRotation', 'kms:CancelKeyDeletion', 'kms:TagResource', 'kms:PutKeyPolicy']) {
        expect(await ask(ADMIN, action, '0')).toBe('Allowed');
      }
    });

    test('GIVEN the guard off WHEN the admin schedules deletion of a busy key THEN it is allowed', async () => {
      const unguarded = deployedPolicy({ alias: 'cmek/unguarded', deletionGuard: { enabled: false } });
      expect(await decide({ resourcePolicy: unguarded, resource: KEY_ARN, principal: ADMIN, action: 'kms:ScheduleKeyDeletion', context: ctx(ADMIN, trailingDays('kms:ScheduleKeyDeletion', '0')) })).toBe('Allowed');
    });

    test('GIVEN a custom threshold of 30 days WHEN the admin deletes at 30 and 31 THEN denied then allowed', async () => {
      const p = deployedPolicy({ alias: 'cmek/thirty', deletionGuard: { minDaysUnused: 30 } });
      const at = (days: string) => decide({ resourcePolicy: p, resource: KEY_ARN, principal: ADMIN, action: 'kms:ScheduleKeyDeletion', context: ctx(ADMIN, { 'kms:TrailingDaysWithoutKeyUsage': days }) });
      expect([await at('30'), await at('31')]).toEqual(['ExplicitlyDenied', 'Allowed']);
    });
  });

  describe('administration', () => {
    test('GIVEN admins and no account root WHEN admin, other same-account roles and the admin decrypting are asked THEN only administration by the admin is allowed', async () => {
      const policy = deployedPolicy({
        alias: 'cmek/locked',
        allowAccountRootAccess: false,
        admins: [new iam.ArnPrincipal(ADMIN)],
        removalPolicy: RemovalPolicy.RETAIN,
      });
      const other = `arn:aws:iam::${OWNER}:role/Developer`;
      const call = (principal: string, action: string) => decide({ resourcePolicy: policy, resource: KEY_ARN, principal, action, context: ctx(principal, trailingDays(action, '9999')) });
      expect(await call(ADMIN, 'kms:PutKeyPolicy')).toBe('Allowed');
      expect(await call(ADMIN, 'kms:ScheduleKeyDeletion')).toBe('Allowed');
      expect(await call(ADMIN, 'kms:Decrypt')).not.toBe('Allowed');
      expect(await call(other, 'kms:PutKeyPolicy')).not.toBe('Allowed');
      expect(await call(other, 'kms:Decrypt')).not.toBe('Allowed');
    });
  });
});
