// Without the account root in the key policy, grants must reach the key policy; a replica names its own region's deployer.
import { App, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import * as iam from 'aws-cdk-lib/aws-iam';
import { CmekKey, CmekReplicaKey } from '../../src';
import { resolveCfn } from '../support/cfn';
import { decide } from '../support/simulate';

jest.setTimeout(60_000);

const OWNER = '999999999999';
const ENV = { account: OWNER, region: 'eu-west-1' };
const KEY_ARN = `arn:aws:kms:eu-west-1:${OWNER}:key/1234abcd-12ab-34cd-56ef-1234567890ab`;
const ADMIN = `arn:aws:iam::${OWNER}:role/KeyAdmin`;

function keyPolicy(stack: Stack, type = 'AWS::KMS::Key'): any {
  const template = Template.fromStack(stack);
  const values: Record<string, string> = {};
  for (const [id, r] of Object.entries(template.findResources('AWS::IAM::Role'))) values[`${id}.Arn`] = `arn:aws:iam::${OWNER}:role/${(r as any).Properties.RoleName}`;
  const [key] = Object.values(template.findResources(type)) as any[];
  return resolveCfn(key.Properties.KeyPolicy, { account: OWNER, region: stack.region, values });
}

describe('allowAccountRootAccess: false', () => {
  test.each([
    ['grantDecrypt', (k: CmekKey, r: iam.IGrantable) => k.grantDecrypt(r), 'kms:Decrypt', 'kms:Encrypt'],
    ['grantEncrypt', (k: CmekKey, r: iam.IGrantable) => k.grantEncrypt(r), 'kms:GenerateDataKey', 'kms:Decrypt'],
    ['grant(kms:DescribeKey)', (k: CmekKey, r: iam.IGrantable) => k.grant(r, 'kms:DescribeKey'), 'kms:DescribeKey', 'kms:Decrypt'],
  ])('GIVEN %s to a role of this account WHEN simulated THEN the key policy itself lets the role do it, and nothing else', async (_name, grant, allowed, denied) => {
    const stack = new Stack(new App(), 'S', { env: ENV });
    const key = new CmekKey(stack, 'K', { alias: 'cmek/k', allowAccountRootAccess: false, admins: [new iam.ArnPrincipal(ADMIN)] });
    const role = new iam.Role(stack, 'App', { roleName: 'App', assumedBy: new iam.AccountRootPrincipal() });
    grant(key, role);
    const policy = keyPolicy(stack);
    const call = (action: string, principal = `arn:aws:iam::${OWNER}:role/App`) =>
      decide({ resourcePolicy: policy, resource: KEY_ARN, principal, action, context: { 'aws:PrincipalArn': principal }, identityActions: ['kms:*'] });
    expect(await call(allowed)).toBe('Allowed');
    expect(await call(denied)).not.toBe('Allowed');
    expect(await call(allowed, `arn:aws:iam::${OWNER}:role/Other`)).not.toBe('Allowed');
  });

  test('GIVEN the account root kept (the default) WHEN grantDecrypt THEN as for any kms.Key: the identity policy only', () => {
    const stack = new Stack(new App(), 'S', { env: ENV });
    const key = new CmekKey(stack, 'K', { alias: 'cmek/k' });
    key.grantDecrypt(new iam.Role(stack, 'App', { roleName: 'App', assumedBy: new iam.AccountRootPrincipal() }));
    expect(JSON.stringify(keyPolicy(stack))).not.toContain('role/App');
    expect(JSON.stringify(Template.fromStack(stack).findResources('AWS::IAM::Policy'))).toContain('kms:Decrypt');
  });
});

describe('CmekReplicaKey of a key that names its deployer', () => {
  test.each([
    ['allowAccountRootAccess: false', { allowAccountRootAccess: false, admins: [new iam.ArnPrincipal(ADMIN)] }],
    ['deletionGuard.lockKeyPolicy', { deletionGuard: { lockKeyPolicy: true, exemptPrincipalArns: [ADMIN] } }],
  ])('GIVEN %s WHEN replicated THEN the replica names its own region\'s execution role, where the primary names its own', async (_name, props) => {
    const app = new App();
    const primaryStack = new Stack(app, 'P', { env: ENV });
    const primary = new CmekKey(primaryStack, 'K', { alias: 'cmek/k', multiRegion: true, ...props });
    const replicaStack = new Stack(app, 'R', { env: { account: OWNER, region: 'eu-central-1' } });
    new CmekReplicaKey(replicaStack, 'R', { primary });
    const primaryText = JSON.stringify(keyPolicy(primaryStack));
    const replicaPolicy = keyPolicy(replicaStack, 'AWS::KMS::ReplicaKey');
    const replicaText = JSON.stringify(replicaPolicy);
    const role = (region: string) => `arn:aws:iam::${OWNER}:role/cdk-hnb659fds-cfn-exec-role-${OWNER}-${region}`;
    expect(primaryText).toContain(role('eu-west-1'));
    expect(replicaText).toContain(role('eu-central-1'));
    expect(replicaText).not.toContain(role('eu-west-1'));
    // KMS's lockout check: the role that creates the replica may change its policy afterwards.
    const put = await decide({
      resourcePolicy: replicaPolicy,
      resource: KEY_ARN.replace('eu-west-1', 'eu-central-1'),
      principal: role('eu-central-1'),
      action: 'kms:PutKeyPolicy',
      context: { 'aws:PrincipalArn': role('eu-central-1') },
      identityActions: ['kms:*'],
    });
    expect(put).toBe('Allowed');
  });
});
