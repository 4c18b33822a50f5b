// The integ apps' and the example app's key and bucket policies, asked of the policy simulator: no lockout, nobody outside.
import { appPolicies, executionRole } from './app-policies';
import { decide } from '../support/simulate';

const policies = appPolicies();
const keys = policies.filter((p) => p.kind === 'key');
const buckets = policies.filter((p) => p.kind === 'bucket');

/** An account no app names, in an organization no app names. */
const OUTSIDER_ACCOUNT = '777788889999';
const OUTSIDER = `arn:aws:iam::${OUTSIDER_ACCOUNT}:role/Outsider`;

/** Everything an outsider could send to satisfy a grantee's conditions, except who it is. */
function outsiderContext(): Record<string, string | string[]> {
  return {
    'aws:PrincipalArn': OUTSIDER,
    'aws:PrincipalAccount': OUTSIDER_ACCOUNT,
    'aws:PrincipalOrgID': 'o-outsider000',
    'aws:SourceVpce': 'vpce-0a1b2c3d4e5f67890',
  };
}

function kmsOutsiderContext(region: string, action: string): Record<string, string | string[]> {
  const crypto = !['kms:DescribeKey', 'kms:PutKeyPolicy', 'kms:CreateGrant', 'kms:ScheduleKeyDeletion'].includes(action);
  return {
    ...outsiderContext(),
    'kms:CallerAccount': OUTSIDER_ACCOUNT,
    'kms:ViaService': `s3.${region}.amazonaws.com`,
    ...(crypto ? { 'kms:EncryptionContextKeys': ['tenant'], 'kms:EncryptionContext:tenant': 'acme' } : {}),
    ...(action === 'kms:ScheduleKeyDeletion' ? { 'kms:TrailingDaysWithoutKeyUsage': '9999', 'kms:ScheduleKeyDeletionPendingWindowInDays': '30' } : {}),
  };
}

describe('integ and example apps, simulated', () => {
  test('GIVEN the apps WHEN their policies are collected THEN every app contributes keys, and the bucket apps bucket policies', () => {
    const apps = new Set(keys.map((p) => p.name.split('/')[0]));
    expect([...apps].sort()).toEqual(['bucket', 'envelope', 'example', 'fleet', 'grant', 'key', 'monitoring', 'stackset']);
    expect(keys.length).toBeGreaterThanOrEqual(20);
    expect(new Set(buckets.map((p) => p.name.split('/')[0]))).toEqual(new Set(['bucket', 'envelope', 'example', 'fleet', 'monitoring']));
  });

  // KMS's lockout safety check: CreateKey/PutKeyPolicy fail unless the caller may call kms:PutKeyPolicy under the new policy.
  test.each(keys.map((p) => [p.name, p] as const))('GIVEN %s WHEN the stack execution role calls kms:PutKeyPolicy THEN it is allowed (no lockout)', async (_name, p) => {
    const role = executionRole(p);
    const result = await decide({
      resourcePolicy: p.policy,
      resource: p.resource,
      principal: role,
      action: 'kms:PutKeyPolicy',
      context: { 'aws:PrincipalArn': role, 'aws:PrincipalAccount': p.account },
    });
    expect(result).toBe('Allowed');
  });

  const keyActions = [
    'kms:Decrypt', 'kms:Encrypt', 'kms:GenerateDataKey', 'kms:ReEncryptFrom', 'kms:DescribeKey', 'kms:CreateGrant', 'kms:PutKeyPolicy', 'kms:ScheduleKeyDeletion',
  ];
  test.each(keys.map((p) => [p.name, p] as const))('GIVEN %s WHEN an outside account calls any KMS action THEN it is never allowed', async (_name, p) => {
    const results: Record<string, string> = {};
    for (const action of keyActions) {
      const context = kmsOutsiderContext(p.region, action);
      results[action] = await decide({ resourcePolicy: p.policy, resource: p.resource, principal: OUTSIDER, action, context });
    }
    expect(Object.entries(results).filter(([, r]) => r === 'Allowed')).toEqual([]);
  });

  const bucketActions = ['s3:GetObject', 's3:PutObject', 's3:DeleteObject'];
  test.each(buckets.map((p) => [p.name, p] as const))('GIVEN %s WHEN an outside account reads or writes objects THEN it is never allowed', async (_name, p) => {
    const results: Record<string, string> = {};
    for (const action of bucketActions) {
      results[action] = await decide({
        resourcePolicy: p.policy,
        resource: p.resource,
        resourceAccount: p.account,
        principal: OUTSIDER,
        action,
        context: { ...outsiderContext(), 'aws:SecureTransport': 'true' },
        identityActions: ['s3:*'],
      });
    }
    expect(Object.entries(results).filter(([, r]) => r === 'Allowed')).toEqual([]);
  });

  test('GIVEN the check itself WHEN a vendor named by the apps decrypts through S3 THEN it is allowed somewhere (the outsider test can tell allowed from denied)', async () => {
    const vendor = 'arn:aws:iam::111122223333:role/VendorApp';
    const results = await Promise.all(keys.map((p) => decide({
      resourcePolicy: p.policy,
      resource: p.resource,
      principal: vendor,
      action: 'kms:Decrypt',
      context: { ...kmsOutsiderContext(p.region, 'kms:Decrypt'), 'aws:PrincipalArn': vendor, 'aws:PrincipalAccount': '111122223333', 'kms:CallerAccount': '111122223333' },
    })));
    expect(results.filter((r) => r === 'Allowed').length).toBeGreaterThan(3);
  });
});
