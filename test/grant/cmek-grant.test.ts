// CmekGrant's template: the custom resource's properties, the handler's key-policy statements, one provider per stack.
import { Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { CmekAction, CmekGrant, CmekKey } from '../../src';
import { nagApp } from '../support/nag';

const OWNER = '999999999999';
const VENDOR_ROLE = 'arn:aws:iam::111122223333:role/VendorApp';
const OTHER_ROLE = 'arn:aws:iam::111122223333:role/Other';

function setup(): { stack: Stack; key: CmekKey } {
  const stack = new Stack(nagApp(), 'S', { env: { account: OWNER, region: 'eu-west-1' } });
  return { stack, key: new CmekKey(stack, 'K', { alias: 'cmek/k' }) };
}

function keyStatements(stack: Stack): any[] {
  const [key] = Object.values(Template.fromStack(stack).findResources('AWS::KMS::Key'));
  return key.Properties.KeyPolicy.Statement;
}

function handlerRoleArn(stack: Stack): unknown {
  const roles = Template.fromStack(stack).findResources('AWS::IAM::Role', { Properties: { Description: 'cdk-cmek CmekGrant handler' } });
  const ids = Object.keys(roles);
  expect(ids).toHaveLength(1);
  return { 'Fn::GetAtt': [ids[0], 'Arn'] };
}

describe('CmekGrant', () => {
  test('GIVEN a decrypt-only grant with an equals constraint WHEN synthesized THEN the resource carries exactly its grant', () => {
    const { stack, key } = setup();
    new CmekGrant(stack, 'Vendor', {
      key,
      granteePrincipal: VENDOR_ROLE,
      operations: [CmekAction.DECRYPT, CmekAction.DESCRIBE_KEY],
      encryptionContextEquals: { tenant: 'a' },
    });
    const t = Template.fromStack(stack);
    t.resourceCountIs('Custom::CmekGrant', 1);
    const [grant] = Object.values(t.findResources('Custom::CmekGrant'));
    expect(grant.Properties).toEqual({
      ServiceToken: expect.anything(),
      KeyArn: { 'Fn::GetAtt': [expect.stringMatching(/^K/), 'Arn'] },
      GranteePrincipal: VENDOR_ROLE,
      Operations: ['Decrypt', 'DescribeKey'],
      Name: 'cdk-cmek/S/Vendor',
      EncryptionContextEquals: { tenant: 'a' },
      RevokeOnDelete: 'true',
    });
  });

  test('GIVEN defaults WHEN synthesized THEN the five CMEK permissions become nine grant operations, no CreateGrant or RetireGrant', () => {
    const { stack, key } = setup();
    new CmekGrant(stack, 'Vendor', { key, granteePrincipal: VENDOR_ROLE });
    const [grant] = Object.values(Template.fromStack(stack).findResources('Custom::CmekGrant'));
    expect(grant.Properties.Operations).toEqual([
      'Encrypt', 'Decrypt', 'ReEncryptFrom', 'ReEncryptTo',
      'GenerateDataKey', 'GenerateDataKeyWithoutPlaintext', 'GenerateDataKeyPair', 'GenerateDataKeyPairWithoutPlaintext',
      'DescribeKey',
    ]);
  });

  test('GIVEN a grant WHEN synthesized THEN the key policy lets the handler role create only this grantee\'s grant with only its operations', () => {
    const { stack, key } = setup();
    new CmekGrant(stack, 'Vendor', { key, granteePrincipal: VENDOR_ROLE, operations: [CmekAction.DECRYPT], allowRetireGrant: true });
    const role = handlerRoleArn(stack);
    const create = keyStatements(stack).filter((s) => s.Action === 'kms:CreateGrant');
    expect(create).toEqual([{
      Sid: expect.stringMatching(/^CmekGrantCreate[A-Za-z0-9]+$/),
      Effect: 'Allow',
      Principal: { AWS: role },
      Action: 'kms:CreateGrant',
      Resource: '*',
      Condition: {
        'StringEquals': { 'kms:GranteePrincipal': VENDOR_ROLE },
        'ForAllValues:StringEquals': { 'kms:GrantOperations': ['Decrypt', 'RetireGrant'] },
      },
    }]);
    expect(keyStatements(stack).filter((s) => s.Sid?.startsWith('CmekGrantHandler'))).toEqual([
      { Sid: 'CmekGrantHandlerList', Effect: 'Allow', Principal: { AWS: role }, Action: 'kms:ListGrants', Resource: '*' },
      { Sid: 'CmekGrantHandlerRevoke', Effect: 'Allow', Principal: { AWS: role }, Action: 'kms:RevokeGrant', Resource: '*' },
    ]);
  });

  test('GIVEN revokeOnDelete false WHEN synthesized THEN the handler role is the retiring principal and gets no RevokeGrant', () => {
    const { stack, key } = setup();
    new CmekGrant(stack, 'Vendor', { key, granteePrincipal: VENDOR_ROLE, revokeOnDelete: false });
    const role = handlerRoleArn(stack);
    const [grant] = Object.values(Template.fromStack(stack).findResources('Custom::CmekGrant'));
    expect(grant.Properties).toMatchObject({ RetiringPrincipal: role, RevokeOnDelete: 'false' });
    const statements = keyStatements(stack);
    expect(statements.find((s) => s.Action === 'kms:CreateGrant').Condition.StringEquals).toEqual({
      'kms:GranteePrincipal': VENDOR_ROLE,
      'kms:RetiringPrincipal': role,
    });
    expect(statements.filter((s) => s.Action === 'kms:RevokeGrant')).toEqual([]);
  });

  test('GIVEN two grants in a stack WHEN synthesized THEN they share one provider and one handler, with a create statement each', () => {
    const { stack, key } = setup();
    new CmekGrant(stack, 'Vendor', { key, granteePrincipal: VENDOR_ROLE });
    new CmekGrant(stack, 'Other', { key, granteePrincipal: OTHER_ROLE, encryptionContextSubset: { tenant: 'b' } });
    const t = Template.fromStack(stack);
    t.resourceCountIs('Custom::CmekGrant', 2);
    t.resourceCountIs('AWS::Lambda::Function', 2); // the handler and the Provider framework function
    t.resourcePropertiesCountIs('AWS::Lambda::Function', { Description: 'cdk-cmek: creates and revokes KMS grants' }, 1);
    const tokens = new Set(Object.values(t.findResources('Custom::CmekGrant')).map((g) => JSON.stringify(g.Properties.ServiceToken)));
    expect(tokens.size).toBe(1);
    const statements = keyStatements(stack);
    expect(statements.filter((s) => s.Action === 'kms:CreateGrant').map((s) => s.Condition.StringEquals['kms:GranteePrincipal'])).toEqual([VENDOR_ROLE, OTHER_ROLE]);
    expect(statements.filter((s) => s.Action === 'kms:ListGrants')).toHaveLength(1);
  });

  test('GIVEN a grant WHEN synthesized THEN its id and token are the resource\'s attributes and it waits for the handler\'s policy', () => {
    const { stack, key } = setup();
    const grant = new CmekGrant(stack, 'Vendor', { key, granteePrincipal: VENDOR_ROLE });
    const resolved = stack.resolve([grant.grantId, grant.grantToken]);
    expect(resolved).toEqual([
      { 'Fn::GetAtt': [expect.stringMatching(/^Vendor/), 'GrantId'] },
      { 'Fn::GetAtt': [expect.stringMatching(/^Vendor/), 'GrantToken'] },
    ]);
    Template.fromStack(stack).hasResource('Custom::CmekGrant', { DependsOn: Match.arrayWith([Match.stringLikeRegexp('^CdkCmekGrantProviderPermissions')]) });
  });

  test('GIVEN a long construct path WHEN no name is given THEN the default name is cut to 256 characters and stays valid', () => {
    const { stack, key } = setup();
    const grant = new CmekGrant(stack, 'g'.repeat(300), { key, granteePrincipal: VENDOR_ROLE });
    expect(grant.grantName).toHaveLength(256);
    expect(grant.grantName).toMatch(/^cdk-cmek\/S\/g+-[0-9a-f]{16}$/);
  });
});
