// What the key policy lets CmekGrant's handler do, asked of a policy simulator: create only the named grant, list, revoke.
import { Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { CmekAction, CmekGrant, CmekGrantProps, CmekKey } from '../../src';
import { resolveCfn } from '../support/cfn';
import { nagApp } from '../support/nag';
import { decide } from '../support/simulate';

const OWNER = '999999999999';
const KEY_ARN = `arn:aws:kms:eu-west-1:${OWNER}:key/1234abcd-12ab-34cd-56ef-1234567890ab`;
const HANDLER = `arn:aws:iam::${OWNER}:role/GrantHandler`;
const VENDOR = 'arn:aws:iam::111122223333:role/VendorApp';
const OTHER = 'arn:aws:iam::111122223333:role/Other';
const ADMIN = `arn:aws:iam::${OWNER}:role/SomeoneElse`;

/** The key policy as deployed in OWNER, the grant handler's role resolved to HANDLER. */
function deployedPolicy(grant: Partial<CmekGrantProps>): unknown {
  const stack = new Stack(nagApp(), 'Sim', { env: { account: OWNER, region: 'eu-west-1' } });
  const key = new CmekKey(stack, 'K', { alias: 'cmek/k' });
  new CmekGrant(stack, 'Vendor', { key, granteePrincipal: VENDOR, ...grant });
  const t = Template.fromStack(stack);
  const values = Object.fromEntries(Object.keys(t.findResources('AWS::IAM::Role')).map((id) => [`${id}.Arn`, HANDLER]));
  const [k] = Object.values(t.findResources('AWS::KMS::Key'));
  return resolveCfn(k.Properties.KeyPolicy, { account: OWNER, values });
}

function ask(policy: unknown, principal: string, action: string, context: Record<string, string | string[]> = {}) {
  return decide({
    resourcePolicy: policy,
    resource: KEY_ARN,
    principal,
    action,
    // No identity policy: the handler holds no KMS permission of its own, so the key policy alone decides.
    identityActions: [],
    context: { 'aws:PrincipalArn': principal, 'aws:PrincipalAccount': principal.split(':')[4], ...context },
  });
}

const createGrant = (grantee: string, operations: string[], extra: Record<string, string> = {}) => ({
  'kms:GranteePrincipal': grantee,
  'kms:GrantOperations': operations,
  ...extra,
});

describe('CmekGrant handler in the key policy, simulated', () => {
  const policy = deployedPolicy({ operations: [CmekAction.DECRYPT, CmekAction.DESCRIBE_KEY] });

  test('GIVEN the named grantee and a subset of the operations WHEN the handler creates a grant THEN allowed', async () => {
    expect(await ask(policy, HANDLER, 'kms:CreateGrant', createGrant(VENDOR, ['Decrypt', 'DescribeKey']))).toBe('Allowed');
    expect(await ask(policy, HANDLER, 'kms:CreateGrant', createGrant(VENDOR, ['Decrypt']))).toBe('Allowed');
  });

  test('GIVEN another grantee WHEN the handler creates a Decrypt grant THEN denied', async () => {
    expect(await ask(policy, HANDLER, 'kms:CreateGrant', createGrant(OTHER, ['Decrypt']))).toBe('ImplicitlyDenied');
  });

  test('GIVEN an operation not asked for WHEN the handler creates a grant THEN denied', async () => {
    expect(await ask(policy, HANDLER, 'kms:CreateGrant', createGrant(VENDOR, ['Decrypt', 'CreateGrant']))).toBe('ImplicitlyDenied');
    expect(await ask(policy, HANDLER, 'kms:CreateGrant', createGrant(VENDOR, ['Decrypt', 'RetireGrant']))).toBe('ImplicitlyDenied');
    expect(await ask(policy, HANDLER, 'kms:CreateGrant', createGrant(VENDOR, ['Encrypt']))).toBe('ImplicitlyDenied');
  });

  test('GIVEN allowCreateGrant WHEN the handler creates a grant with CreateGrant THEN allowed', async () => {
    const withCreate = deployedPolicy({ operations: [CmekAction.DECRYPT], allowCreateGrant: true });
    expect(await ask(withCreate, HANDLER, 'kms:CreateGrant', createGrant(VENDOR, ['Decrypt', 'CreateGrant']))).toBe('Allowed');
    expect(await ask(withCreate, HANDLER, 'kms:CreateGrant', createGrant(VENDOR, ['Decrypt', 'RetireGrant']))).toBe('ImplicitlyDenied');
  });

  test('GIVEN the handler WHEN it lists and revokes grants THEN allowed, and nothing else of the key is', async () => {
    expect(await ask(policy, HANDLER, 'kms:ListGrants')).toBe('Allowed');
    expect(await ask(policy, HANDLER, 'kms:RevokeGrant')).toBe('Allowed');
    for (const action of ['kms:Decrypt', 'kms:Encrypt', 'kms:PutKeyPolicy', 'kms:ScheduleKeyDeletion', 'kms:DisableKey']) {
      expect([action, await ask(policy, HANDLER, action)]).toEqual([action, expect.stringMatching(/Denied$/)]);
    }
  });

  test('GIVEN another principal of the account without identity permissions WHEN it creates the same grant THEN denied', async () => {
    expect(await ask(policy, ADMIN, 'kms:CreateGrant', createGrant(VENDOR, ['Decrypt']))).toBe('ImplicitlyDenied');
  });

  test('GIVEN revokeOnDelete false WHEN the handler creates the grant THEN only with itself as retiring principal, and it cannot revoke', async () => {
    const retiring = deployedPolicy({ revokeOnDelete: false });
    expect(await ask(retiring, HANDLER, 'kms:CreateGrant', createGrant(VENDOR, ['Decrypt'], { 'kms:RetiringPrincipal': HANDLER }))).toBe('Allowed');
    expect(await ask(retiring, HANDLER, 'kms:CreateGrant', createGrant(VENDOR, ['Decrypt'], { 'kms:RetiringPrincipal': OTHER }))).toBe('ImplicitlyDenied');
    expect(await ask(retiring, HANDLER, 'kms:RevokeGrant')).toBe('ImplicitlyDenied');
  });
});
