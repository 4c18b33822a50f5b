// CmekReplicaKey: a replica in another region with the primary's policy (asked of a policy simulator), window, alias and guard.
import { App, Aws, Duration, RemovalPolicy, Stack, Tags } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import * as iam from 'aws-cdk-lib/aws-iam';
import { CmekAction, CmekGrantee, CmekKey, CmekKeyProps } from '../../src';
import { CmekKeyFleet } from '../../src/fleet/cmek-key-fleet';
import { CmekReplicaKey, CmekReplicaKeyProps } from '../../src/key/replica-key';
import { resolveCfn } from '../support/cfn';
import { nagApp } from '../support/nag';
import { decide } from '../support/simulate';

const OWNER = '999999999999';
const VENDOR = '111122223333';
const MRK = 'mrk-1234abcd12ab34cd56ef1234567890ab';
const BREAK_GLASS = `arn:aws:iam::${OWNER}:role/KeyBreakGlass`;
const ADMIN = `arn:aws:iam::${OWNER}:role/PlatformAdmin`;

interface Pair {
  readonly app: App;
  readonly primaryStack: Stack;
  readonly replicaStack: Stack;
  readonly primary: CmekKey;
  readonly replica: CmekReplicaKey;
}

function pair(props: Partial<CmekKeyProps> = {}, replicaProps: Partial<CmekReplicaKeyProps> = {}, app: App = nagApp()): Pair {
  const primaryStack = new Stack(app, 'Primary', { env: { account: OWNER, region: 'eu-west-1' } });
  const replicaStack = new Stack(app, 'Replica', { env: { account: OWNER, region: 'us-east-1' }, crossRegionReferences: true });
  const primary = new CmekKey(primaryStack, 'Key', { alias: 'cmek/acme', multiRegion: true, ...props });
  const replica = new CmekReplicaKey(replicaStack, 'Key', { primary, ...replicaProps });
  return { app, primaryStack, replicaStack, primary, replica };
}

function only(template: Template, type: string): any {
  const found = Object.values(template.findResources(type));
  expect(found).toHaveLength(1);
  return found[0];
}

/** A rich policy: every kind of grantee and condition, admins without the root, a guard with an exemption. */
const RICH: Partial<CmekKeyProps> = {
  grantees: [
    CmekGrantee.account(VENDOR, { viaServices: [`s3.${Aws.REGION}.amazonaws.com`], name: 'vendor-s3' }),
    CmekGrantee.role(`arn:aws:iam::${VENDOR}:role/VendorReader`, { actions: [CmekAction.DECRYPT, CmekAction.DESCRIBE_KEY] }),
    CmekGrantee.organization('o-a1b2c3d4e5', { encryptionContext: { tenant: 'acme' } }),
  ],
  admins: [new iam.ArnPrincipal(ADMIN)],
  allowAccountRootAccess: false,
  deletionGuard: { minDaysUnused: 90, exemptPrincipalArns: [BREAK_GLASS] },
};

describe('CmekReplicaKey', () => {
  test('GIVEN tags on the primary and on the replica WHEN replicated THEN the replica has the primary\'s tags with its own on top', () => {
    const { primary, replica, replicaStack } = pair();
    Tags.of(primary).add('cmek:tenant', 'acme');
    Tags.of(primary).add('team', 'platform');
    Tags.of(replica).add('team', 'platform-dr');
    Tags.of(replica).add('site', 'us-east-1');
    const tags = only(Template.fromStack(replicaStack), 'AWS::KMS::ReplicaKey').Properties.Tags;
    expect(tags).toEqual([
      { Key: 'cmek:tenant', Value: 'acme' },
      { Key: 'site', Value: 'us-east-1' },
      { Key: 'team', Value: 'platform-dr' },
    ]);
  });

  test('GIVEN no tags anywhere WHEN replicated THEN the replica has no Tags property', () => {
    const { replicaStack } = pair();
    expect(only(Template.fromStack(replicaStack), 'AWS::KMS::ReplicaKey').Properties.Tags).toBeUndefined();
  });

  test('GIVEN a multi-Region primary WHEN replicated THEN the replica has its window, description, removal policy and alias', () => {
    const { replicaStack } = pair({ pendingWindow: Duration.days(14), description: 'Acme data' });
    const template = Template.fromStack(replicaStack);
    const replica = only(template, 'AWS::KMS::ReplicaKey');
    expect(replica).toMatchObject({
      Properties: { PendingWindowInDays: 14, Description: 'Acme data', Enabled: true },
      DeletionPolicy: 'Retain',
      UpdateReplacePolicy: 'Retain',
    });
    expect(only(template, 'AWS::KMS::Alias').Properties).toEqual({
      AliasName: 'alias/cmek/acme',
      TargetKeyId: { Ref: Object.keys(template.findResources('AWS::KMS::ReplicaKey'))[0] },
    });
  });

  test('GIVEN a primary with DESTROY and an exemption WHEN replicated THEN the replica is deleted with its stack too', () => {
    const { replicaStack } = pair({ removalPolicy: RemovalPolicy.DESTROY, deletionGuard: { exemptPrincipalArns: [BREAK_GLASS] } });
    expect(only(Template.fromStack(replicaStack), 'AWS::KMS::ReplicaKey')).toMatchObject({ DeletionPolicy: 'Delete', UpdateReplacePolicy: 'Delete' });
  });

  test('GIVEN a grantee added to the primary after the replica WHEN synthesized THEN the replica\'s policy has it too', () => {
    const { primary, replicaStack } = pair();
    primary.addGrantee(CmekGrantee.account('444455556666', { name: 'late' }));
    const sids = only(Template.fromStack(replicaStack), 'AWS::KMS::ReplicaKey').Properties.KeyPolicy.Statement.map((s: any) => s.Sid);
    expect(sids).toEqual(['CmekAccountRoot', 'CmekDeletionGuard', 'CmekDeletionGuardUsageUnknown', 'CmekMinimumPendingWindow', 'CmekUsageLate']);
  });

  test('GIVEN the default primary ARN WHEN synthesized THEN it crosses regions through the CDK\'s cross-region references (an SSM parameter read in the replica\'s region)', () => {
    const { replicaStack } = pair();
    const arn = only(Template.fromStack(replicaStack), 'AWS::KMS::ReplicaKey').Properties.PrimaryKeyArn;
    expect(JSON.stringify(arn)).toMatch(/ExportsReader/);
  });

  test('GIVEN a literal primary ARN WHEN synthesized THEN the replica uses it and needs no cross-region reference', () => {
    const app = new App();
    const primaryArn = `arn:aws:kms:eu-west-1:${OWNER}:key/${MRK}`;
    const primaryStack = new Stack(app, 'Primary', { env: { account: OWNER, region: 'eu-west-1' } });
    const replicaStack = new Stack(app, 'Replica', { env: { account: OWNER, region: 'us-east-1' } });
    const primary = new CmekKey(primaryStack, 'Key', { alias: 'cmek/acme', multiRegion: true });
    new CmekReplicaKey(replicaStack, 'Key', { primary, primaryKeyArn: primaryArn });
    expect(only(Template.fromStack(replicaStack), 'AWS::KMS::ReplicaKey').Properties.PrimaryKeyArn).toBe(primaryArn);
  });

  test('GIVEN a fleet tenant\'s multi-Region key in a nested stack WHEN replicated THEN the replica gets its policy and alias, cdk-nag clean', () => {
    const app = nagApp();
    const platform = new Stack(app, 'Platform', { env: { account: OWNER, region: 'eu-west-1' } });
    const replicaStack = new Stack(app, 'Replica', { env: { account: OWNER, region: 'us-east-1' }, crossRegionReferences: true });
    const fleet = new CmekKeyFleet(platform, 'Tenants', { keyDefaults: { multiRegion: true, grantees: [CmekGrantee.account(VENDOR)] }, tenants: [{ id: 'acme' }] });
    new CmekReplicaKey(replicaStack, 'AcmeReplica', { primary: fleet.keyFor('acme') });
    const template = Template.fromStack(replicaStack);
    const sids = only(template, 'AWS::KMS::ReplicaKey').Properties.KeyPolicy.Statement.map((s: any) => s.Sid);
    expect(sids).toEqual(['CmekAccountRoot', 'CmekDeletionGuard', 'CmekDeletionGuardUsageUnknown', 'CmekMinimumPendingWindow', `CmekUsageAccount${VENDOR}`]);
    expect(only(template, 'AWS::KMS::Alias').Properties.AliasName).toBe('alias/cmek/acme');
  });

  describe('validation', () => {
    test('GIVEN a primary that is not multi-Region WHEN replicated THEN it is rejected', () => {
      expect(() => pair({ multiRegion: false })).toThrow(
        '`primary` must be a multi-Region key (CmekKey with `multiRegion: true`), got: alias/cmek/acme with multiRegion false',
      );
    });

    test('GIVEN a replica in the primary\'s region WHEN made THEN it is rejected', () => {
      const app = new App();
      const a = new Stack(app, 'A', { env: { account: OWNER, region: 'eu-west-1' } });
      const b = new Stack(app, 'B', { env: { account: OWNER, region: 'eu-west-1' } });
      const primary = new CmekKey(a, 'Key', { alias: 'cmek/acme', multiRegion: true });
      expect(() => new CmekReplicaKey(b, 'Key', { primary })).toThrow('a CmekReplicaKey must be in another region than its primary, got: "eu-west-1" for both');
    });

    test('GIVEN a replica in another account WHEN made THEN it is rejected', () => {
      const app = new App();
      const a = new Stack(app, 'A', { env: { account: OWNER, region: 'eu-west-1' } });
      const b = new Stack(app, 'B', { env: { account: VENDOR, region: 'us-east-1' } });
      const primary = new CmekKey(a, 'Key', { alias: 'cmek/acme', multiRegion: true });
      expect(() => new CmekReplicaKey(b, 'Key', { primary })).toThrow(
        `a CmekReplicaKey must be in the primary's account, got: "${VENDOR}" for the replica and "${OWNER}" for the primary`,
      );
    });

    test('GIVEN an environment-agnostic replica stack WHEN made THEN it is rejected naming env.region', () => {
      const app = new App();
      const a = new Stack(app, 'A', { env: { account: OWNER, region: 'eu-west-1' } });
      const primary = new CmekKey(a, 'Key', { alias: 'cmek/acme', multiRegion: true });
      expect(() => new CmekReplicaKey(new Stack(app, 'B'), 'Key', { primary })).toThrow(
        'CmekReplicaKey needs the regions of its stack and of the primary\'s stack set (env.region), got: "<unset>" and "eu-west-1"',
      );
    });

    test('GIVEN an exemption that is a role of the primary\'s stack WHEN synthesized THEN one line names the reference and the fix', () => {
      const app = new App();
      const primaryStack = new Stack(app, 'Primary', { env: { account: OWNER, region: 'eu-west-1' } });
      const replicaStack = new Stack(app, 'Replica', { env: { account: OWNER, region: 'us-east-1' }, crossRegionReferences: true });
      const breakGlass = new iam.Role(primaryStack, 'BreakGlass', { assumedBy: new iam.AccountRootPrincipal() });
      const primary = new CmekKey(primaryStack, 'Key', { alias: 'cmek/acme', multiRegion: true, deletionGuard: { exemptPrincipalArns: [breakGlass.roleArn] } });
      new CmekReplicaKey(replicaStack, 'Key', { primary });
      const logicalId = primaryStack.getLogicalId(breakGlass.node.defaultChild as iam.CfnRole);
      expect(() => app.synth()).toThrow(
        `the key policy of alias/cmek/acme refers to {"Fn::GetAtt":["${logicalId}","Arn"]} in stack Primary, which cannot be resolved in region us-east-1: grant that principal by its literal ARN (or account) on the primary, got: a reference for replica Replica/Key`,
      );
    });
  });

  describe('policy, simulated: the replica decides as the primary does', () => {
    const { primaryStack, replicaStack, app } = pair(RICH);
    const assembly = app.synth();
    const policyOf = (stack: Stack, type: string) =>
      Object.values<any>(assembly.getStackByName(stack.stackName).template.Resources).find((r) => r.Type === type).Properties.KeyPolicy;
    const primaryPolicy = resolveCfn(policyOf(primaryStack, 'AWS::KMS::Key'), { account: OWNER, region: 'eu-west-1' });
    const replicaPolicy = resolveCfn(policyOf(replicaStack, 'AWS::KMS::ReplicaKey'), { account: OWNER, region: 'us-east-1' });
    const primaryArn = `arn:aws:kms:eu-west-1:${OWNER}:key/${MRK}`;
    const replicaArn = `arn:aws:kms:us-east-1:${OWNER}:key/${MRK}`;

    const principals = [
      `arn:aws:iam::${VENDOR}:role/VendorApp`,
      `arn:aws:iam::${VENDOR}:role/VendorReader`,
      'arn:aws:iam::222233334444:role/OrgMember',
      ADMIN,
      BREAK_GLASS,
      `arn:aws:iam::${OWNER}:role/Developer`,
      'arn:aws:iam::444455556666:role/Stranger',
    ];
    const actions = ['kms:Encrypt', 'kms:Decrypt', 'kms:GenerateDataKey', 'kms:ReEncryptFrom', 'kms:DescribeKey', 'kms:PutKeyPolicy', 'kms:ScheduleKeyDeletion', 'kms:DisableKey'];
    const contexts: Record<string, Record<string, string | string[]>> = {
      'none': {},
      'via S3 in eu-west-1': { 'kms:ViaService': 's3.eu-west-1.amazonaws.com' },
      'via S3 in us-east-1': { 'kms:ViaService': 's3.us-east-1.amazonaws.com' },
      'org member, tenant acme': { 'aws:PrincipalOrgID': 'o-a1b2c3d4e5', 'kms:EncryptionContext:tenant': 'acme', 'kms:EncryptionContextKeys': ['tenant'] },
      'org member, tenant globex': { 'aws:PrincipalOrgID': 'o-a1b2c3d4e5', 'kms:EncryptionContext:tenant': 'globex', 'kms:EncryptionContextKeys': ['tenant'] },
      'key used 10 days ago': { 'kms:TrailingDaysWithoutKeyUsage': '10' },
      'key unused for 400 days': { 'kms:TrailingDaysWithoutKeyUsage': '400' },
    };
    const cases = principals.flatMap((principal) => actions.flatMap((action) => Object.keys(contexts).map((c) => ({ principal, action, c }))))
      // KMS sends TrailingDaysWithoutKeyUsage only with the two actions the guard covers.
      .filter(({ action, c }) => !c.startsWith('key ') || ['kms:ScheduleKeyDeletion', 'kms:DisableKey'].includes(action));

    const CRYPTO = ['kms:Encrypt', 'kms:Decrypt', 'kms:GenerateDataKey', 'kms:ReEncryptFrom'];
    const ask = (resourcePolicy: unknown, resource: string, { principal, action, c }: typeof cases[number]) => {
      // KMS sends an encryption context only with cryptographic operations.
      const context = Object.fromEntries(Object.entries(contexts[c]).filter(([k]) => CRYPTO.includes(action) || !k.startsWith('kms:EncryptionContext')));
      return decide({
        resourcePolicy,
        resource,
        principal,
        action,
        context: { 'aws:PrincipalArn': principal, 'aws:PrincipalAccount': principal.split(':')[4], ...context },
      });
    };

    test(`GIVEN ${cases.length} requests (principal × action × context) WHEN asked of both keys THEN every decision is the same`, async () => {
      const differences: string[] = [];
      const seen = new Set<string>();
      for (const req of cases) {
        const [p, r] = [await ask(primaryPolicy, primaryArn, req), await ask(replicaPolicy, replicaArn, req)];
        seen.add(p);
        if (p !== r) differences.push(`${req.principal} ${req.action} [${req.c}]: primary ${p}, replica ${r}`);
      }
      expect(differences).toEqual([]);
      // The matrix must exercise allow, explicit deny and implicit deny, or agreement would prove little.
      expect([...seen].sort()).toEqual(['Allowed', 'ExplicitlyDenied', 'ImplicitlyDenied']);
    });

    test('GIVEN a viaServices condition written with the primary\'s region token WHEN replicated THEN it names the primary\'s region literally', () => {
      const vendor = replicaPolicy.Statement.find((s: any) => s.Sid === 'CmekUsageVendorS3');
      expect(vendor.Condition.StringEquals['kms:ViaService']).toEqual(['s3.eu-west-1.amazonaws.com']);
    });
  });
});
