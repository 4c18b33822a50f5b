// Bad and edge construct inputs, one row each: the exact refusal (at the call or at synth), or the exact template it must give.
import { App, Aspects, Aws, CfnDeletionPolicy, CfnParameter, CfnResource, CliCredentialsStackSynthesizer, Duration, IAspect, Lazy, LegacyStackSynthesizer, RemovalPolicies, RemovalPolicy, Stack } from 'aws-cdk-lib';
import { Annotations, Match, Template } from 'aws-cdk-lib/assertions';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { FilterPattern, ILogGroup, LogGroup, SubscriptionFilter } from 'aws-cdk-lib/aws-logs';
import { LambdaDestination } from 'aws-cdk-lib/aws-logs-destinations';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { IConstruct } from 'constructs';
import {
  CmekAction, CmekBucket, CmekGrantee, CmekKey, CmekKeyFleet, CmekKeyProps, CmekOrganizationGuard, CmekOrganizationPolicyType,
  CmekGrant, CmekGrantProps, CmekReplicaKey, EnvelopeEncryptedObject, EnvelopeSource, KeyUsageAuditor,
  KeyUsageAuditorStackSet, KeyUsageAuditorStackSetProps,
} from '../../src';
import { KeyDeletionMonitor } from '../../src/monitoring/key-deletion-monitor';

const OWNER = '999999999999';
const VENDOR = '111122223333';
const ENV = { account: OWNER, region: 'eu-west-1' };
const KEY = 'key policy of alias/cmek/k';
const ORG = { StringEquals: { 'aws:PrincipalOrgID': 'o-a1b2c3d4e5' } };
const IMPORTED_ARN = `arn:aws:kms:eu-west-1:${VENDOR}:key/1234abcd-12ab-34cd-56ef-1234567890ab`;

function stack(props: { synthesizer?: any } = {}): Stack {
  return new Stack(new App(), 'S', { env: ENV, ...props });
}

function key(s: Stack, props: Partial<CmekKeyProps> = {}): CmekKey {
  return new CmekKey(s, 'K', { alias: 'cmek/k', ...props });
}

/** A construction error without the construct path it starts with (test/quality/error-paths.test.ts checks the paths). */
function withoutPath(message: string | undefined): string | undefined {
  return message?.replace(/^[\w.-]+(\/[\w.-]+)+: /, '');
}

/** The one-line errors synthesis fails with (the validation messages, without their construct paths). */
/** `build` throws exactly `message` (after the construct path), on one line. */
function expectOneLineRefusal(build: () => unknown, message: string): void {
  let thrown: Error | undefined;
  try {
    build();
  } catch (e) {
    thrown = e as Error;
  }
  expect(withoutPath(thrown?.message)).toBe(message);
  expect(message).not.toContain('\n');
}

/** One construct's input tables: refused at the call, refused at synth (exact lines), and accepted. */
function describeInputs(title: string, tables: {
  atCall: Array<[string, () => unknown, string]>;
  atSynth?: Array<[string, () => Stack, string[]]>;
  accepted: Array<[string, () => void]>;
}): void {
  describe(title, () => {
    test.each(tables.atCall)('GIVEN %s WHEN written THEN it is refused with one exact line', (_name, build, message) => {
      expectOneLineRefusal(build, message);
    });
    if (tables.atSynth) {
      test.each(tables.atSynth)('GIVEN %s WHEN synthesized THEN synthesis fails with exactly these lines', (_name, build, lines) => {
        expect(synthErrors(build())).toEqual(lines);
      });
    }
    test.each(tables.accepted)('GIVEN %s THEN it is accepted', (_name, check) => {
      check();
    });
  });
}

function synthErrors(s: Stack): string[] {
  try {
    (s.node.root as App).synth();
    return [];
  } catch (e) {
    return String((e as Error).message)
      .split('\n')
      .map((l) => /^\s*\[[^\]]*\] (.*)$/.exec(l)?.[1])
      .filter((l): l is string => l !== undefined);
  }
}

function statements(s: Stack, type = 'AWS::KMS::Key'): any[] {
  const [only] = Object.values(Template.fromStack(s).findResources(type));
  return (only.Properties.KeyPolicy ?? only.Properties.PolicyDocument).Statement;
}

function allow(principals: iam.IPrincipal[], actions: string[], conditions?: Record<string, any>, sid = 'Extra'): iam.PolicyStatement {
  return new iam.PolicyStatement({ sid, principals, actions, resources: ['*'], conditions });
}

class DeleteEverything implements IAspect {
  public visit(node: IConstruct): void {
    if (node instanceof CfnResource) node.cfnOptions.deletionPolicy = CfnDeletionPolicy.DELETE;
  }
}

/** An envelope-encrypted object of `s` at `bucket`/`objectKey`, under a key of its own stack. */
function envelopeObject(s: Stack, id: string, bucket: s3.IBucket, objectKey: string, source = EnvelopeSource.randomBytes(32)) {
  const k = (s.node.tryFindChild('K') as CmekKey | undefined) ?? key(s, { alias: `cmek/k-${s.node.id}` });
  return new EnvelopeEncryptedObject(s, id, { bucket, objectKey, key: k, source });
}

/** A source that says its type itself, as a subclass of EnvelopeSource may. */
class SpecSource extends EnvelopeSource {
  constructor(private readonly spec: { type: string; id?: string }) {
    super();
  }
  public bind() {
    return { spec: this.spec, statements: [] };
  }
}

const UNIQUE_KEY = (a: string, b: string, objectKey: string, where: string) =>
  `\`objectKey\` must be unique per bucket: ${a} and ${b} both write ${JSON.stringify(objectKey)} to ${where}, so each would overwrite the other's object and delete it on removal: give each a distinct \`objectKey\``;

/** Refused where it is written: the exact message. */
const atCall: Array<[string, () => unknown, string]> = [
  ['pendingWindow as a token', () => key(stack(), { pendingWindow: Duration.days(Lazy.number({ produce: () => 30 })) }),
    '`pendingWindow` must be a fixed Duration of 7 to 30 days (the key policy is written from it at synth), got: a token'],
  ['deletionGuard.minDaysUnused of 1e21', () => key(stack(), { deletionGuard: { minDaysUnused: 1e21 } }),
    '`deletionGuard.minDaysUnused` must be an integer from 1 to 36500, got: 1e+21'],
  // CmekKey
  ['alias under alias/aws/', () => key(stack(), { alias: 'alias/aws/x' }), '`alias` must not start with alias/aws/, which AWS reserves for AWS managed keys, got: "alias/aws/x"'],
  ['alias with a space', () => key(stack(), { alias: 'my key' }), '`alias` must be alias/ followed by letters, digits, /, _ or -, at most 256 characters in all, got: "my key"'],
  ['pendingWindow 6 days', () => key(stack(), { pendingWindow: Duration.days(6) }), '`pendingWindow` must be a whole number of days from 7 to 30, got: 6 days'],
  ['pendingWindow 31 days', () => key(stack(), { pendingWindow: Duration.days(31) }), '`pendingWindow` must be a whole number of days from 7 to 30, got: 31 days'],
  ['pendingWindow 10.5 days', () => key(stack(), { pendingWindow: Duration.hours(252) }), '`pendingWindow` must be a whole number of days from 7 to 30, got: 10 days 12 hours'],
  ['rotationPeriod 89 days', () => key(stack(), { rotationPeriod: Duration.days(89) }), '`rotationPeriod` must be a whole number of days from 90 to 2560, got: 89 days'],
  ['rotation off without a reason', () => key(stack(), { enableKeyRotation: false }), '`enableKeyRotation: false` needs `rotationDisabledReason` (Security Hub KMS.4 expects rotation on), got: "<none>"'],
  ['rotation off with a blank reason', () => key(stack(), { enableKeyRotation: false, rotationDisabledReason: '  ' }), '`enableKeyRotation: false` needs `rotationDisabledReason` (Security Hub KMS.4 expects rotation on), got: "  "'],
  ['a reason with rotation on', () => key(stack(), { rotationDisabledReason: 'x' }), '`rotationDisabledReason` applies only with `enableKeyRotation: false`, got: "x" with rotation on'],
  ['rotationPeriod with rotation off', () => key(stack(), { enableKeyRotation: false, rotationPeriod: Duration.days(180) }), '`rotationPeriod` needs `enableKeyRotation` to be true, got: 180 days with rotation off'],
  ['admins: AnyPrincipal', () => key(stack(), { admins: [new iam.AnyPrincipal()] }), '`admins` must name principals (key administration for a wildcard reaches every account that matches it), got: principal "*"'],
  ['admins: StarPrincipal', () => key(stack(), { admins: [new iam.StarPrincipal()] }), '`admins` must name principals (key administration for a wildcard reaches every account that matches it), got: principal "*"'],
  ['admins: a wildcard role ARN', () => key(stack(), { admins: [new iam.ArnPrincipal('arn:aws:iam::999999999999:role/*')] }),
    '`admins` must name principals (key administration for a wildcard reaches every account that matches it), got: principal "arn:aws:iam::999999999999:role/*"'],
  ['admins: AnyPrincipal limited to an organization', () => key(stack(), { admins: [new iam.AnyPrincipal().withConditions(ORG)] }),
    '`admins` must name principals (key administration for a wildcard reaches every account that matches it), got: principal "*"'],
  ['no root and no admins', () => key(stack(), { allowAccountRootAccess: false }),
    '`allowAccountRootAccess: false` needs at least one entry in `admins`, or nobody could ever manage the key again, got: admins []'],
  ['no root under CLI credentials', () => key(stack({ synthesizer: new CliCredentialsStackSynthesizer() }), { allowAccountRootAccess: false, admins: [new iam.ArnPrincipal(`arn:aws:iam::${OWNER}:role/Admin`)] }),
    '`allowAccountRootAccess: false` on key alias/cmek/k needs the role that deploys the stack in the key policy (KMS refuses a policy that locks out its creator), and the synthesizer of stack S names no CloudFormation execution role: set `deploymentRoleArn`, got: CliCredentialsStackSynthesizer'],
  ['no root under the legacy synthesizer', () => key(stack({ synthesizer: new LegacyStackSynthesizer() }), { allowAccountRootAccess: false, admins: [new iam.ArnPrincipal(`arn:aws:iam::${OWNER}:role/Admin`)] }),
    '`allowAccountRootAccess: false` on key alias/cmek/k needs the role that deploys the stack in the key policy (KMS refuses a policy that locks out its creator), and the synthesizer of stack S names no CloudFormation execution role: set `deploymentRoleArn`, got: LegacyStackSynthesizer'],
  ['policy lock under CLI credentials', () => key(stack({ synthesizer: new CliCredentialsStackSynthesizer() }), { deletionGuard: { lockKeyPolicy: true } }),
    '`deletionGuard.lockKeyPolicy` on key alias/cmek/k needs the role that deploys the stack in the key policy (KMS refuses a policy that locks out its creator), and the synthesizer of stack S names no CloudFormation execution role: set `deploymentRoleArn`, got: CliCredentialsStackSynthesizer'],
  ['deploymentRoleArn a user', () => key(stack(), { allowAccountRootAccess: false, admins: [new iam.ArnPrincipal(`arn:aws:iam::${OWNER}:role/Admin`)], deploymentRoleArn: `arn:aws:iam::${OWNER}:user/bob` }),
    `\`deploymentRoleArn\` must be an IAM role ARN such as arn:aws:iam::111122223333:role/cdk-hnb659fds-cfn-exec-role-111122223333-eu-west-1, got: "arn:aws:iam::${OWNER}:user/bob"`],
  ['deploymentRoleArn a wildcard', () => key(stack(), { deletionGuard: { lockKeyPolicy: true }, deploymentRoleArn: `arn:aws:iam::${OWNER}:role/*` }),
    `\`deploymentRoleArn\` must be an IAM role ARN such as arn:aws:iam::111122223333:role/cdk-hnb659fds-cfn-exec-role-111122223333-eu-west-1, got: "arn:aws:iam::${OWNER}:role/*"`],
  // Deletion guard
  ['exemption arn:aws:iam::*:*', () => key(stack(), { deletionGuard: { exemptPrincipalArns: ['arn:aws:iam::*:*'] } }),
    '`deletionGuard.exemptPrincipalArns` must hold concrete IAM role or user ARNs such as arn:aws:iam::111122223333:role/KeyBreakGlass (no wildcards, no account roots), got: "arn:aws:iam::*:*"'],
  ['exemption of a whole account (root)', () => key(stack(), { deletionGuard: { exemptPrincipalArns: [`arn:aws:iam::${OWNER}:root`] } }),
    `\`deletionGuard.exemptPrincipalArns\` must hold concrete IAM role or user ARNs such as arn:aws:iam::111122223333:role/KeyBreakGlass (no wildcards, no account roots), got: "arn:aws:iam::${OWNER}:root"`],
  ['exemption of every role', () => key(stack(), { deletionGuard: { exemptPrincipalArns: [`arn:aws:iam::${OWNER}:role/*`] } }),
    `\`deletionGuard.exemptPrincipalArns\` must hold concrete IAM role or user ARNs such as arn:aws:iam::111122223333:role/KeyBreakGlass (no wildcards, no account roots), got: "arn:aws:iam::${OWNER}:role/*"`],
  ['exemption with ?', () => key(stack(), { deletionGuard: { exemptPrincipalArns: [`arn:aws:iam::${OWNER}:role/BreakGlass?`] } }),
    `\`deletionGuard.exemptPrincipalArns\` must hold concrete IAM role or user ARNs such as arn:aws:iam::111122223333:role/KeyBreakGlass (no wildcards, no account roots), got: "arn:aws:iam::${OWNER}:role/BreakGlass?"`],
  ['exemption of an sts assumed-role session', () => key(stack(), { deletionGuard: { exemptPrincipalArns: [`arn:aws:sts::${OWNER}:assumed-role/BreakGlass/alice`] } }),
    `\`deletionGuard.exemptPrincipalArns\` must hold IAM role or user ARNs, not STS session ARNs: aws:PrincipalArn of an assumed role is the role ARN (arn:aws:iam::<account>:role/<name>), so this entry would never match, got: "arn:aws:sts::${OWNER}:assumed-role/BreakGlass/alice"`],
  ['exemption not an ARN', () => key(stack(), { deletionGuard: { exemptPrincipalArns: ['BreakGlass'] } }),
    '`deletionGuard.exemptPrincipalArns` must hold concrete IAM role or user ARNs such as arn:aws:iam::111122223333:role/KeyBreakGlass (no wildcards, no account roots), got: "BreakGlass"'],
  ['policy admin with a wildcard', () => key(stack(), { deletionGuard: { lockKeyPolicy: true, policyAdminArns: [`arn:aws:iam::${OWNER}:role/Admin*`] } }),
    `\`deletionGuard.policyAdminArns\` must hold concrete IAM role or user ARNs such as arn:aws:iam::111122223333:role/KeyBreakGlass (no wildcards, no account roots), got: "arn:aws:iam::${OWNER}:role/Admin*"`],
  ['policy admins without the lock', () => key(stack(), { deletionGuard: { policyAdminArns: [`arn:aws:iam::${OWNER}:role/Admin`] } }),
    '`deletionGuard.policyAdminArns` applies only with `lockKeyPolicy: true`, got: 1 ARN(s) with the lock off'],
  ['policy lock with the guard off', () => key(stack(), { deletionGuard: { enabled: false, lockKeyPolicy: true } }),
    '`deletionGuard.lockKeyPolicy` protects the guard and needs it on, got: enabled false with lockKeyPolicy true'],
  ['minDaysUnused 0', () => key(stack(), { deletionGuard: { minDaysUnused: 0 } }), '`deletionGuard.minDaysUnused` must be an integer from 1 to 36500, got: 0'],
  ['minDaysUnused 1.5', () => key(stack(), { deletionGuard: { minDaysUnused: 1.5 } }), '`deletionGuard.minDaysUnused` must be an integer from 1 to 36500, got: 1.5'],
  // CmekGrantee
  ['principal: AnyPrincipal', () => CmekGrantee.principal(new iam.AnyPrincipal(), { name: 'all' }),
    'CmekGrantee.principal() must name a principal, or limit a wildcard with a fixed aws:PrincipalAccount or aws:PrincipalOrgID condition (or use CmekGrantee.organization()): principal "*" reaches every AWS account, got: AnyPrincipal()'],
  ['principal: StarPrincipal', () => CmekGrantee.principal(new iam.StarPrincipal(), { name: 'all' }),
    'CmekGrantee.principal() must name a principal, or limit a wildcard with a fixed aws:PrincipalAccount or aws:PrincipalOrgID condition (or use CmekGrantee.organization()): principal "*" reaches every AWS account, got: StarPrincipal()'],
  ['principal: ArnPrincipal("*")', () => CmekGrantee.principal(new iam.ArnPrincipal('*'), { name: 'all' }),
    'CmekGrantee.principal() must name a principal, or limit a wildcard with a fixed aws:PrincipalAccount or aws:PrincipalOrgID condition (or use CmekGrantee.organization()): principal "*" reaches every AWS account, got: ArnPrincipal(*)'],
  ['principal: a wildcard role ARN', () => CmekGrantee.principal(new iam.ArnPrincipal('arn:aws:iam::*:role/Reader'), { name: 'readers' }),
    'CmekGrantee.principal() must name a principal, or limit a wildcard with a fixed aws:PrincipalAccount or aws:PrincipalOrgID condition (or use CmekGrantee.organization()): principal "arn:aws:iam::*:role/Reader" reaches every AWS account, got: ArnPrincipal(arn:aws:iam::*:role/Reader)'],
  ['principal: * limited by a wildcard org id', () => CmekGrantee.principal(new iam.AnyPrincipal().withConditions({ StringLike: { 'aws:PrincipalOrgID': 'o-*' } }), { name: 'orgs' }),
    'CmekGrantee.principal() must name a principal, or limit a wildcard with a fixed aws:PrincipalAccount or aws:PrincipalOrgID condition (or use CmekGrantee.organization()): principal "*" reaches every AWS account, got: AnyPrincipal()'],
  ['principal: * limited by a policy variable', () => CmekGrantee.principal(new iam.AnyPrincipal().withConditions({ StringEquals: { 'aws:PrincipalAccount': '${aws:username}' } }), { name: 'me' }),
    'CmekGrantee.principal() must name a principal, or limit a wildcard with a fixed aws:PrincipalAccount or aws:PrincipalOrgID condition (or use CmekGrantee.organization()): principal "*" reaches every AWS account, got: AnyPrincipal()'],
  ['principal: not a construct, no name', () => CmekGrantee.principal(new iam.ArnPrincipal(`arn:aws:iam::${VENDOR}:role/R`)),
    '`name` is required for CmekGrantee.principal() when the principal is not a construct, got: no name'],
  ['account: a token without a name', () => CmekGrantee.account(Lazy.string({ produce: () => VENDOR })),
    '`name` is required for CmekGrantee.account() when the account id is a token (the statement id must not depend on it), got: no name'],
  ['account: 11 digits', () => CmekGrantee.account('12345678901'), '`accountId` must be a 12-digit AWS account id, got: "12345678901"'],
  ['account: *', () => CmekGrantee.account('*'), '`accountId` must be a 12-digit AWS account id, got: "*"'],
  ['role: a user ARN', () => CmekGrantee.role(`arn:aws:iam::${VENDOR}:user/bob`),
    `\`roleArn\` must be an IAM role ARN such as arn:aws:iam::111122223333:role/Name, got: "arn:aws:iam::${VENDOR}:user/bob"`],
  ['role: a wildcard', () => CmekGrantee.role(`arn:aws:iam::${VENDOR}:role/*`),
    `\`roleArn\` must be an IAM role ARN such as arn:aws:iam::111122223333:role/Name, got: "arn:aws:iam::${VENDOR}:role/*"`],
  ['role: a token without a name', () => CmekGrantee.role(Lazy.string({ produce: () => 'x' })), '`name` is required for CmekGrantee.role() when the role ARN is a token, got: no name'],
  ['organization: o-*', () => CmekGrantee.organization('o-*'), '`organizationId` must be an AWS Organizations id such as o-a1b2c3d4e5, got: "o-*"'],
  ['servicePrincipal: *', () => CmekGrantee.servicePrincipal('*'), '`service` must be a service principal such as logs.eu-west-1.amazonaws.com, got: "*"'],
  ['viaServices with a wildcard', () => CmekGrantee.account(VENDOR, { viaServices: ['s3.*.amazonaws.com'] }),
    '`viaServices` must be a fixed, non-empty value without wildcards (*, ?) or policy variables (${...}), got: "s3.*.amazonaws.com"'],
  ['encryptionContext value a policy variable', () => CmekGrantee.account(VENDOR, { encryptionContext: { tenant: '${aws:username}' } }),
    '`encryptionContext["tenant"]` must be a fixed, non-empty value without wildcards (*, ?) or policy variables (${...}), got: "${aws:username}"'],
  ['encryptionContext key a wildcard', () => CmekGrantee.account(VENDOR, { encryptionContext: { '*': 'x' } }),
    '`encryptionContext key` must be a fixed, non-empty value without wildcards (*, ?) or policy variables (${...}), got: "*"'],
  ['requireEncryptionContextKeys *', () => CmekGrantee.account(VENDOR, { requireEncryptionContextKeys: ['*'] }),
    '`requireEncryptionContextKeys` must be a fixed, non-empty value without wildcards (*, ?) or policy variables (${...}), got: "*"'],
  ['sourceVpce a VPC id', () => CmekGrantee.account(VENDOR, { sourceVpce: ['vpc-123'] }), '`sourceVpce` must be a VPC endpoint id such as vpce-0a1b2c3d4e5f67890, got: "vpc-123"'],
  ['actions empty', () => CmekGrantee.account(VENDOR, { actions: [] }),
    '`actions` must name at least one of kms:Encrypt, kms:Decrypt, kms:ReEncrypt*, kms:GenerateDataKey*, kms:DescribeKey, got: []'],
  ['actions kms:*', () => CmekGrantee.account(VENDOR, { actions: ['kms:*' as CmekAction] }),
    '`actions` may only contain kms:Encrypt, kms:Decrypt, kms:ReEncrypt*, kms:GenerateDataKey*, kms:DescribeKey, got: "kms:*"'],
  ['actions repeated', () => CmekGrantee.account(VENDOR, { actions: [CmekAction.DECRYPT, CmekAction.DECRYPT] }), '`actions` must not repeat an action, got: "kms:Decrypt, kms:Decrypt"'],
  ['name without letters', () => CmekGrantee.account(VENDOR, { name: '---' }),
    '`name` must contain letters or digits and give a statement name of at most 64 characters, got: "---"'],
  ['two keys with one alias in a stack', () => {
    const s = stack();
    new CmekKey(s, 'A', { alias: 'cmek/shared' });
    new CmekKey(s, 'B', { alias: 'alias/cmek/shared' });
  }, '`alias` must be unique per account and region (KMS allows one alias name there), got: "alias/cmek/shared" for both S/A and S/B in 999999999999/eu-west-1'],
  ['two keys with one alias in two stacks of one account and region', () => {
    const app = new App();
    new CmekKey(new Stack(app, 'One', { env: ENV }), 'A', { alias: 'cmek/shared' });
    new CmekKey(new Stack(app, 'Two', { env: ENV }), 'B', { alias: 'cmek/shared' });
  }, '`alias` must be unique per account and region (KMS allows one alias name there), got: "alias/cmek/shared" for both One/A and Two/B in 999999999999/eu-west-1'],
  ['addAlias with a name another key has', () => {
    const s = stack();
    new CmekKey(s, 'A', { alias: 'cmek/a' });
    key(s).addAlias('cmek/a');
  }, '`alias` must be unique per account and region (KMS allows one alias name there), got: "alias/cmek/a" for both S/A and S/K in 999999999999/eu-west-1'],
  ['description over 8192 characters', () => key(stack(), { description: 'd'.repeat(8193) }),
    '`description` must be at most 8192 characters (the KMS limit), got: 8193 characters'],
  ['deploymentRoleArn of another account', () => key(stack(), { allowAccountRootAccess: false, admins: [new iam.ArnPrincipal(`arn:aws:iam::${OWNER}:role/Admin`)], deploymentRoleArn: `arn:aws:iam::${VENDOR}:role/Deployer` }),
    `\`deploymentRoleArn\` must be a role of the key's account ${OWNER} (CloudFormation deploys with a role of that account), got: "arn:aws:iam::${VENDOR}:role/Deployer"`],
  // Statement ids
  ['two grantees with one name', () => key(stack(), { grantees: [CmekGrantee.account(VENDOR), CmekGrantee.account(VENDOR)] }),
    'duplicate grantee `Account111122223333` on key alias/cmek/k: each grantee needs its own `name` (statement CmekUsageAccount111122223333 exists already)'],
  ['acme (with a context) then acme-describe', () => key(stack(), { grantees: [CmekGrantee.account(VENDOR, { name: 'acme', encryptionContext: { t: 'a' } }), CmekGrantee.account('444455556666', { name: 'acme-describe' })] }),
    'grantee `AcmeDescribe` on key alias/cmek/k would write statement CmekUsageAcmeDescribe, which another grantee writes already: give one of them another `name`, got: "AcmeDescribe"'],
  ['acme-describe then acme (with a context)', () => key(stack(), { grantees: [CmekGrantee.account('444455556666', { name: 'acme-describe' }), CmekGrantee.account(VENDOR, { name: 'acme', encryptionContext: { t: 'a' } })] }),
    'grantee `Acme` on key alias/cmek/k would write statement CmekUsageAcmeDescribe, which another grantee writes already: give one of them another `name`, got: "Acme"'],
  // CmekBucket
  ['bucket: a key and an alias', () => new CmekBucket(stack(), 'B', { encryptionKey: key(stack()), keyAlias: 'cmek/b' }),
    '`keyAlias` applies only to a key the bucket creates: give `encryptionKey` or `keyAlias`, not both, got: "cmek/b" with an encryptionKey'],
  ['bucket: neither key nor alias', () => new CmekBucket(stack(), 'B'), '`keyAlias` is required when `encryptionKey` is not given, got: neither'],
  ['bucket: the same grantee read twice', () => {
    const b = new CmekBucket(stack(), 'B', { keyAlias: 'cmek/b' });
    b.grantCrossAccountRead(CmekGrantee.account(VENDOR, { name: 'acme' }));
    b.grantCrossAccountRead(CmekGrantee.account(VENDOR, { name: 'acme' }));
  }, 'duplicate grantee `AcmeS3Read` on key alias/cmek/b: each grantee needs its own `name` (statement CmekUsageAcmeS3Read exists already)'],
  // CmekKeyFleet, CmekReplicaKey, monitors
  ['fleet: 0 shards', () => new CmekKeyFleet(stack(), 'F', { shardCount: 0 }), '`shardCount` must be an integer from 1 to 200, got: 0'],
  ['fleet: one tenant id twice', () => new CmekKeyFleet(stack(), 'F', { tenants: [{ id: 'a' }, { id: 'a' }] }), 'tenant `id` must be unique in the fleet, got: "a" twice'],
  ['fleet: alias pattern without {tenant}', () => new CmekKeyFleet(stack(), 'F', { aliasPattern: 'alias/cmek/x' }),
    '`aliasPattern` must contain {tenant} exactly once, such as alias/cmek/{tenant}, got: "alias/cmek/x"'],
  ['fleet: rotation off by default, no reason', () => new CmekKeyFleet(stack(), 'F', { keyDefaults: { enableKeyRotation: false }, tenants: [{ id: 'a' }] }),
    '`enableKeyRotation: false` needs `rotationDisabledReason` (Security Hub KMS.4 expects rotation on), got: "<none>"'],
  ['fleet: wildcard exemption by default', () => new CmekKeyFleet(stack(), 'F', { keyDefaults: { deletionGuard: { exemptPrincipalArns: ['arn:aws:iam::*:role/x'] } }, tenants: [{ id: 'a' }] }),
    '`deletionGuard.exemptPrincipalArns` must hold concrete IAM role or user ARNs such as arn:aws:iam::111122223333:role/KeyBreakGlass (no wildcards, no account roots), got: "arn:aws:iam::*:role/x"'],
  ['replica of a single-Region key', () => {
    const app = new App();
    const primary = new CmekKey(new Stack(app, 'P', { env: ENV }), 'K', { alias: 'cmek/k' });
    new CmekReplicaKey(new Stack(app, 'R', { env: { account: OWNER, region: 'eu-central-1' } }), 'R', { primary });
  }, '`primary` must be a multi-Region key (CmekKey with `multiRegion: true`), got: alias/cmek/k with multiRegion false'],
  ['replica in the primary\'s region', () => {
    const app = new App();
    const primary = new CmekKey(new Stack(app, 'P', { env: ENV }), 'K', { alias: 'cmek/k', multiRegion: true });
    new CmekReplicaKey(new Stack(app, 'R', { env: ENV }), 'R', { primary });
  }, 'a CmekReplicaKey must be in another region than its primary, got: "eu-west-1" for both'],
  ['auditor: threshold 0 days', () => new KeyUsageAuditor(stack(), 'A', { thresholdDays: 0 }), '`thresholdDays` must be an integer ≥ 1, got: 0'],
  // CmekOrganizationGuard
  ['organization guard: minDaysUnused 0', () => new CmekOrganizationGuard(stack(), 'G', { targetIds: ['r-ab12'], minDaysUnused: 0 }),
    '`minDaysUnused` must be an integer from 1 to 36500, got: 0'],
  ['organization guard: a 6-day floor', () => new CmekOrganizationGuard(stack(), 'G', { targetIds: ['r-ab12'], minPendingWindow: Duration.days(6) }),
    '`minPendingWindow` must be a whole number of days from 7 to 30, got: 6 days'],
  ['envelope: two objects at one key of one CmekBucket', () => {
    const s = stack();
    const b = new CmekBucket(s, 'B', { keyAlias: 'cmek/b' });
    envelopeObject(s, 'One', b.bucket, 'app/config.json');
    envelopeObject(s, 'Two', b.bucket, 'app/config.json', EnvelopeSource.fromInlineText('x'));
  }, UNIQUE_KEY('S/Two', 'S/One', 'app/config.json', 'the same bucket')],
  ['envelope: two stacks writing one key of one imported bucket name', () => {
    const app = new App();
    const a = new Stack(app, 'A', { env: ENV });
    const b = new Stack(app, 'B', { env: ENV });
    envelopeObject(a, 'One', s3.Bucket.fromBucketName(a, 'Shared', 'shared-bucket'), 'seed/key.bin');
    envelopeObject(b, 'Two', s3.Bucket.fromBucketName(b, 'Shared', 'shared-bucket'), 'seed/key.bin');
  }, UNIQUE_KEY('B/Two', 'A/One', 'seed/key.bin', 'bucket "shared-bucket"')],
  ['envelope: a second stack writing the key of another stack\'s CmekBucket', () => {
    const app = new App();
    const a = new Stack(app, 'A', { env: ENV });
    const b = new Stack(app, 'B', { env: ENV });
    const bucket = new CmekBucket(a, 'B', { keyAlias: 'cmek/b' }).bucket;
    envelopeObject(a, 'One', bucket, 'k');
    envelopeObject(b, 'Two', bucket, 'k');
  }, UNIQUE_KEY('B/Two', 'A/One', 'k', 'the same bucket')],
  ['envelope: a source of a type the handler does not read', () => {
    const s = stack();
    envelopeObject(s, 'O', new CmekBucket(s, 'B', { keyAlias: 'cmek/b' }).bucket, 'k', new SpecSource({ type: 'ftp' }));
  }, '`source.type` must be one of asset, secret, ssm, inline, random, got: "ftp"'],
  ['envelope: a secret source without an id', () => {
    const s = stack();
    envelopeObject(s, 'O', new CmekBucket(s, 'B', { keyAlias: 'cmek/b' }).bucket, 'k', new SpecSource({ type: 'secret' }));
  }, '`source.id` must be a string for a source of type "secret", got: nothing'],
];

/** Accepted at the call, refused at synth (the final policy, the final removal policy): the exact lines. */
const atSynth: Array<[string, () => Stack, string[]]> = [
  ['replica of a guarded key set to DESTROY by applyRemovalPolicy', () => {
    const app = new App();
    const primary = new CmekKey(new Stack(app, 'P', { env: ENV }), 'K', { alias: 'cmek/k', multiRegion: true });
    const r = new Stack(app, 'R', { env: { account: OWNER, region: 'eu-central-1' } });
    new CmekReplicaKey(r, 'R', { primary }).replica.applyRemovalPolicy(RemovalPolicy.DESTROY);
    return r;
  }, ['replica R/R: `removalPolicy: DESTROY` with the deletion guard on and no `deletionGuard.exemptPrincipalArns` would leave a stack that can never be destroyed (set by a prop, applyRemovalPolicy, an aspect or RemovalPolicies): add the CloudFormation execution role (or a break-glass role) to `exemptPrincipalArns`, or set `deletionGuard.enabled: false`']],
  ['addToResourcePolicy: Allow * decrypt', () => {
    const s = stack();
    key(s).addToResourcePolicy(allow([new iam.AnyPrincipal()], ['kms:Decrypt']));
    return s;
  }, [`${KEY}: statement Extra allows principal "*" without a fixed aws:PrincipalAccount, aws:PrincipalOrgID, kms:CallerAccount or aws:SourceAccount condition, which makes it public: name the accounts or roles, or add such a condition`]],
  ['addToResourcePolicy: Allow * without a Sid', () => {
    const s = stack();
    key(s).addToResourcePolicy(new iam.PolicyStatement({ principals: [new iam.StarPrincipal()], actions: ['kms:Encrypt'], resources: ['*'] }));
    return s;
  }, [`${KEY}: statement #5 (no Sid) allows principal "*" without a fixed aws:PrincipalAccount, aws:PrincipalOrgID, kms:CallerAccount or aws:SourceAccount condition, which makes it public: name the accounts or roles, or add such a condition`]],
  ['addToResourcePolicy: a wildcard role ARN', () => {
    const s = stack();
    key(s).addToResourcePolicy(allow([new iam.ArnPrincipal('arn:aws:iam::*:role/Reader')], ['kms:Decrypt']));
    return s;
  }, [`${KEY}: statement Extra allows principal "arn:aws:iam::*:role/Reader" without a fixed aws:PrincipalAccount, aws:PrincipalOrgID, kms:CallerAccount or aws:SourceAccount condition, which makes it public: name the accounts or roles, or add such a condition`]],
  ['addToResourcePolicy: an AccountPrincipal("*") (a wildcard behind a token)', () => {
    const s = stack();
    key(s).addToResourcePolicy(allow([new iam.AccountPrincipal('*')], ['kms:Decrypt']));
    return s;
  }, [`${KEY}: statement Extra allows principal "arn:…:iam::*:root" without a fixed aws:PrincipalAccount, aws:PrincipalOrgID, kms:CallerAccount or aws:SourceAccount condition, which makes it public: name the accounts or roles, or add such a condition`]],
  ['addToResourcePolicy: * limited by org, but PutKeyPolicy', () => {
    const s = stack();
    key(s).addToResourcePolicy(allow([new iam.AnyPrincipal()], ['kms:Decrypt', 'kms:PutKeyPolicy'], ORG));
    return s;
  }, [`${KEY}: statement Extra gives kms:PutKeyPolicy to principal "*": administration must name its principals, got: a wildcard principal`]],
  ['addToResourcePolicy: * limited by org, kms:*', () => {
    const s = stack();
    key(s).addToResourcePolicy(allow([new iam.AnyPrincipal()], ['kms:*'], ORG));
    return s;
  }, [`${KEY}: statement Extra gives kms:* to principal "*": administration must name its principals, got: a wildcard principal`]],
  ['addToResourcePolicy: * limited by a wildcard account', () => {
    const s = stack();
    key(s).addToResourcePolicy(allow([new iam.AnyPrincipal()], ['kms:Decrypt'], { StringEquals: { 'aws:PrincipalAccount': '1111*' } }));
    return s;
  }, [
    `${KEY}: statement Extra allows principal "*" without a fixed aws:PrincipalAccount, aws:PrincipalOrgID, kms:CallerAccount or aws:SourceAccount condition, which makes it public: name the accounts or roles, or add such a condition`,
    `${KEY}: statement Extra has a wildcard or policy variable in an Allow condition (Security Hub KMS.5 reports it as public access): use fixed values, got: aws:PrincipalAccount: 1111*`,
  ]],
  ['addToResourcePolicy: * limited by StringLike org', () => {
    const s = stack();
    key(s).addToResourcePolicy(allow([new iam.AnyPrincipal()], ['kms:Decrypt'], { StringLike: { 'aws:PrincipalOrgID': 'o-a1b2c3d4e5' } }));
    return s;
  }, [`${KEY}: statement Extra allows principal "*" without a fixed aws:PrincipalAccount, aws:PrincipalOrgID, kms:CallerAccount or aws:SourceAccount condition, which makes it public: name the accounts or roles, or add such a condition`]],
  ['addToResourcePolicy: a wildcard encryption-context condition', () => {
    const s = stack();
    key(s).addToResourcePolicy(allow([new iam.AccountPrincipal(VENDOR)], ['kms:Decrypt'], { StringLike: { 'kms:EncryptionContext:tenant': 'acme-*' } }));
    return s;
  }, [`${KEY}: statement Extra has a wildcard or policy variable in an Allow condition (Security Hub KMS.5 reports it as public access): use fixed values, got: kms:EncryptionContext:tenant: acme-*`]],
  ['addToResourcePolicy: a service and an account sharing a wildcard condition', () => {
    const s = stack();
    const principals = [new iam.ServicePrincipal('logs.amazonaws.com'), new iam.AccountPrincipal(VENDOR)];
    key(s).addToResourcePolicy(allow(principals, ['kms:Decrypt'], { ArnLike: { 'kms:EncryptionContext:aws:logs:arn': 'arn:aws:logs:*' } }));
    return s;
  }, [`${KEY}: statement Extra has a wildcard or policy variable in an Allow condition (Security Hub KMS.5 reports it as public access): use fixed values, got: kms:EncryptionContext:aws:logs:arn: arn:aws:logs:*`]],
  ['addToResourcePolicy: NotAction to * limited to the account (PutKeyPolicy for everyone in it)', () => {
    const s = stack();
    key(s).key.addToResourcePolicy(new iam.PolicyStatement({
      sid: 'Extra', principals: [new iam.AnyPrincipal()], notActions: ['kms:Encrypt'], resources: ['*'], conditions: { StringEquals: { 'aws:PrincipalAccount': OWNER } },
    }));
    return s;
  }, [`${KEY}: statement Extra is an Allow with NotAction, which gives every action not listed (administration included): name the actions in Action instead`]],
  ['addToResourcePolicy: NotPrincipal on an Allow', () => {
    const s = stack();
    key(s).addToResourcePolicy(new iam.PolicyStatement({ sid: 'Extra', notPrincipals: [new iam.AccountPrincipal(VENDOR)], actions: ['kms:Decrypt'], resources: ['*'] }));
    return s;
  }, [`${KEY}: statement Extra is an Allow with NotPrincipal, which lets in every principal not listed: name the principals in Principal instead`]],
  ['addPropertyOverride: the key policy\'s first principal set to *', () => {
    const s = stack();
    (key(s).key.node.defaultChild as kms.CfnKey).addPropertyOverride('KeyPolicy.Statement.0.Principal', '*');
    return s;
  }, [
    `${KEY}: statement CmekAccountRoot allows principal "*" without a fixed aws:PrincipalAccount, aws:PrincipalOrgID, kms:CallerAccount or aws:SourceAccount condition, which makes it public: name the accounts or roles, or add such a condition`,
    `${KEY}: statement CmekAccountRoot gives kms:* to principal "*": administration must name its principals, got: a wildcard principal`,
  ]],
  ['addToResourcePolicy: a policy variable in a condition', () => {
    const s = stack();
    key(s).addToResourcePolicy(allow([new iam.AccountPrincipal(VENDOR)], ['kms:Decrypt'], { StringEquals: { 'kms:EncryptionContext:user': '${aws:username}' } }));
    return s;
  }, [`${KEY}: statement Extra has a wildcard or policy variable in an Allow condition (Security Hub KMS.5 reports it as public access): use fixed values, got: kms:EncryptionContext:user: \${aws:username}`]],
  ['addToResourcePolicy: a second CmekAccountRoot', () => {
    const s = stack();
    key(s).addToResourcePolicy(allow([new iam.AccountPrincipal(VENDOR)], ['kms:Decrypt'], undefined, 'CmekAccountRoot'));
    return s;
  }, [`${KEY}: statement id CmekAccountRoot appears 2 times: each statement needs its own Sid (give grantees distinct names)`]],
  ['admins: AccountPrincipal("*") (a wildcard behind a token)', () => {
    const s = stack();
    key(s, { admins: [new iam.AccountPrincipal('*')] });
    return s;
  }, [
    `${KEY}: statement CmekKeyAdministration allows principal "arn:…:iam::*:root" without a fixed aws:PrincipalAccount, aws:PrincipalOrgID, kms:CallerAccount or aws:SourceAccount condition, which makes it public: name the accounts or roles, or add such a condition`,
    `${KEY}: statement CmekKeyAdministration gives kms:Create*, kms:Describe*, kms:Enable*, kms:List*, kms:Put*, kms:Update*, kms:Revoke*, kms:Disable*, kms:Get*, kms:Delete*, kms:TagResource, kms:UntagResource, kms:ScheduleKeyDeletion, kms:CancelKeyDeletion, kms:RotateKeyOnDemand to principal "arn:…:iam::*:root": administration must name its principals, got: a wildcard principal`,
  ]],
  ['guarded key, DESTROY by prop', () => {
    const s = stack();
    key(s, { removalPolicy: RemovalPolicy.DESTROY });
    return s;
  }, ['`removalPolicy: DESTROY` with the deletion guard on and no `deletionGuard.exemptPrincipalArns` would leave a stack that can never be destroyed (set by a prop, applyRemovalPolicy, an aspect or RemovalPolicies): add the CloudFormation execution role (or a break-glass role) to `exemptPrincipalArns`, or set `deletionGuard.enabled: false`']],
  ['guarded key, DESTROY by addOverride of the DeletionPolicy', () => {
    const s = stack();
    (key(s).key.node.defaultChild as kms.CfnKey).addOverride('DeletionPolicy', 'Delete');
    return s;
  }, ['`removalPolicy: DESTROY` with the deletion guard on and no `deletionGuard.exemptPrincipalArns` would leave a stack that can never be destroyed (set by a prop, applyRemovalPolicy, an aspect or RemovalPolicies): add the CloudFormation execution role (or a break-glass role) to `exemptPrincipalArns`, or set `deletionGuard.enabled: false`']],
  ['guarded key, DESTROY by applyRemovalPolicy', () => {
    const s = stack();
    key(s).applyRemovalPolicy(RemovalPolicy.DESTROY);
    return s;
  }, ['`removalPolicy: DESTROY` with the deletion guard on and no `deletionGuard.exemptPrincipalArns` would leave a stack that can never be destroyed (set by a prop, applyRemovalPolicy, an aspect or RemovalPolicies): add the CloudFormation execution role (or a break-glass role) to `exemptPrincipalArns`, or set `deletionGuard.enabled: false`']],
  ['guarded key, DESTROY by RemovalPolicies.of(stack)', () => {
    const s = stack();
    key(s);
    RemovalPolicies.of(s).destroy();
    return s;
  }, ['`removalPolicy: DESTROY` with the deletion guard on and no `deletionGuard.exemptPrincipalArns` would leave a stack that can never be destroyed (set by a prop, applyRemovalPolicy, an aspect or RemovalPolicies): add the CloudFormation execution role (or a break-glass role) to `exemptPrincipalArns`, or set `deletionGuard.enabled: false`']],
  ['guarded key, DESTROY by a hand-written aspect', () => {
    const s = stack();
    key(s);
    Aspects.of(s).add(new DeleteEverything());
    return s;
  }, ['`removalPolicy: DESTROY` with the deletion guard on and no `deletionGuard.exemptPrincipalArns` would leave a stack that can never be destroyed (set by a prop, applyRemovalPolicy, an aspect or RemovalPolicies): add the CloudFormation execution role (or a break-glass role) to `exemptPrincipalArns`, or set `deletionGuard.enabled: false`']],
  ['bucket: Allow * to read through the bucket', () => {
    const s = stack();
    new CmekBucket(s, 'B', { keyAlias: 'cmek/b' }).bucket.addToResourcePolicy(new iam.PolicyStatement({
      sid: 'Public', principals: [new iam.AnyPrincipal()], actions: ['s3:GetObject'], resources: ['*'],
    }));
    return s;
  }, ['bucket policy of S/B: statement Public allows principal "*" without a fixed aws:PrincipalAccount, aws:PrincipalOrgID, kms:CallerAccount or aws:SourceAccount condition, which makes it public: name the accounts or roles, or add such a condition']],
  ['bucket: * limited by account, PutBucketPolicy', () => {
    const s = stack();
    new CmekBucket(s, 'B', { keyAlias: 'cmek/b' }).bucket.addToResourcePolicy(new iam.PolicyStatement({
      sid: 'Admin', principals: [new iam.AnyPrincipal()], actions: ['s3:PutBucketPolicy'], resources: ['*'], conditions: { StringEquals: { 'aws:PrincipalAccount': VENDOR } },
    }));
    return s;
  }, ['bucket policy of S/B: statement Admin gives s3:PutBucketPolicy to principal "*": administration must name its principals, got: a wildcard principal']],
  ['organization guard: an OU id without its second part and a 13-digit account', () => {
    const s = stack();
    new CmekOrganizationGuard(s, 'G', { targetIds: ['ou-ab12', '1234567890123', 'r-ab12'] });
    return s;
  }, [
    '`targetIds` must hold root ids (r-xxxx), organizational unit ids (ou-xxxx-xxxxxxxx) or 12-digit account ids, got: "ou-ab12"',
    '`targetIds` must hold root ids (r-xxxx), organizational unit ids (ou-xxxx-xxxxxxxx) or 12-digit account ids, got: "1234567890123"',
  ]],
  ['organization guard: a wildcard role name', () => {
    const s = stack();
    new CmekOrganizationGuard(s, 'G', { targetIds: ['r-ab12'], exemptPrincipalArns: ['arn:aws:iam::*:role/*'] });
    return s;
  }, ['`exemptPrincipalArns` must hold IAM role or user ARNs with a concrete name, such as arn:aws:iam::111122223333:role/KeyBreakGlass or arn:aws:iam::*:role/KeyBreakGlass (the account may be *, the name may not hold wildcards; no account roots), got: "arn:aws:iam::*:role/*"']],
  ['organization guard: 50 concrete exemptions', () => {
    const s = stack();
    const exemptPrincipalArns = Array.from({ length: 50 }, (_, i) => `arn:aws:iam::${100000000000 + i}:role/KeyBreakGlass`);
    new CmekOrganizationGuard(s, 'G', { targetIds: ['r-ab12'], exemptPrincipalArns });
    return s;
  }, ['the deletion guard\'s resource control policy would be 5425 characters, over the Organizations limit of 5120: 46 of these 50 `exemptPrincipalArns` would fit, got: 50 (one arn:aws:iam::*:role/<name> pattern stands for that role in every account)']],
];

describe('bad inputs', () => {
  test('GIVEN the table WHEN counted THEN it holds at least 60 inputs', () => {
    expect(atCall.length + atSynth.length + accepted.length).toBeGreaterThanOrEqual(60);
  });

  test.each(atCall)('GIVEN %s WHEN written THEN it is refused with one exact line', (_name, build, message) => {
    expectOneLineRefusal(build, message);
  });

  test.each(atSynth)('GIVEN %s WHEN synthesized THEN synthesis fails with exactly these lines', (_name, build, lines) => {
    expect(synthErrors(build())).toEqual(lines);
  });
});

/** Edge inputs that are right: each gives exactly this template (or warning). */
const accepted: Array<[string, () => void]> = [
  ['a wildcard principal limited to an organization, use only', () => {
    const s = stack();
    key(s).addToResourcePolicy(allow([new iam.AnyPrincipal()], ['kms:Decrypt'], ORG));
    expect(synthErrors(s)).toEqual([]);
    expect(statements(s).find((x) => x.Sid === 'Extra')).toEqual({
      Sid: 'Extra', Effect: 'Allow', Principal: { AWS: '*' }, Action: 'kms:Decrypt', Resource: '*', Condition: ORG,
    });
  }],
  ['CmekGrantee.principal(* limited to an account)', () => {
    const s = stack();
    key(s, { grantees: [CmekGrantee.principal(new iam.AnyPrincipal().withConditions({ StringEquals: { 'aws:PrincipalAccount': VENDOR } }), { name: 'vendor' })] });
    expect(synthErrors(s)).toEqual([]);
    expect(statements(s).find((x) => x.Sid === 'CmekUsageVendor').Condition).toEqual({ StringEquals: { 'aws:PrincipalAccount': VENDOR } });
  }],
  ['a service principal narrowed by a wildcard encryption-context ARN (as AWS documents for CloudWatch Logs)', () => {
    const s = stack();
    const logs = { ArnLike: { 'kms:EncryptionContext:aws:logs:arn': `arn:aws:logs:eu-west-1:${OWNER}:log-group:*` } };
    key(s).addToResourcePolicy(allow([new iam.ServicePrincipal('logs.eu-west-1.amazonaws.com')], ['kms:Decrypt'], logs));
    expect(synthErrors(s)).toEqual([]);
    expect(statements(s).find((x) => x.Sid === 'Extra').Condition).toEqual(logs);
  }],
  ['CmekGrantee.principal(a role imported in another stack): the role itself, not the importing stack\'s account', () => {
    const s = stack();
    const other = new Stack(s.node.scope as App, 'Importer', { env: { account: '444455556666', region: 'eu-west-1' } });
    const role = iam.Role.fromRoleArn(other, 'Vendor', `arn:aws:iam::${VENDOR}:role/vendor-reader`);
    key(s, { grantees: [CmekGrantee.principal(role, { name: 'vendor' })] });
    expect(synthErrors(s)).toEqual([]);
    expect(statements(s).find((x) => x.Sid === 'CmekUsageVendor').Principal).toEqual({ AWS: `arn:aws:iam::${VENDOR}:role/vendor-reader` });
  }],
  ['Deny statements to *', () => {
    const s = stack();
    key(s).addToResourcePolicy(new iam.PolicyStatement({ sid: 'DenyAll', effect: iam.Effect.DENY, principals: [new iam.AnyPrincipal()], actions: ['kms:*'], resources: ['*'] }));
    expect(synthErrors(s)).toEqual([]);
  }],
  ['a token account id with a name: the Sid is the name, whatever the construction order', () => {
    const sids = (order: 'first' | 'second') => {
      const s = stack();
      if (order === 'second') Lazy.string({ produce: () => 'x' });
      key(s, { grantees: [CmekGrantee.account(Lazy.string({ produce: () => VENDOR }), { name: 'partner' })] });
      return statements(s).map((x) => x.Sid);
    };
    expect(sids('first')).toEqual(sids('second'));
    expect(sids('first')).toContain('CmekUsagePartner');
  }],
  ['DESTROY with a break-glass exemption', () => {
    const s = stack();
    key(s, { removalPolicy: RemovalPolicy.DESTROY, deletionGuard: { exemptPrincipalArns: [`arn:aws:iam::${OWNER}:role/BreakGlass`] } });
    expect(synthErrors(s)).toEqual([]);
    Template.fromStack(s).hasResource('AWS::KMS::Key', { DeletionPolicy: 'Delete' });
  }],
  ['a 7-day window: no minimum-window statement (KMS allows no shorter)', () => {
    const s = stack();
    key(s, { pendingWindow: Duration.days(7) });
    expect(statements(s).map((x) => x.Sid)).toEqual(['CmekAccountRoot', 'CmekDeletionGuard', 'CmekDeletionGuardUsageUnknown']);
  }],
  ['the policy lock names the deploying role and the policy admins', () => {
    const s = stack();
    key(s, { deletionGuard: { lockKeyPolicy: true, policyAdminArns: [`arn:aws:iam::${OWNER}:role/KeyPolicyAdmin`] } });
    expect(statements(s).find((x) => x.Sid === 'CmekKeyPolicyLock')).toEqual({
      Sid: 'CmekKeyPolicyLock',
      Effect: 'Deny',
      Principal: { AWS: '*' },
      Action: 'kms:PutKeyPolicy',
      Resource: '*',
      Condition: {
        ArnNotLike: {
          'aws:PrincipalArn': [
            { 'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, `:iam::${OWNER}:role/cdk-hnb659fds-cfn-exec-role-${OWNER}-eu-west-1`]] },
            `arn:aws:iam::${OWNER}:role/KeyPolicyAdmin`,
          ],
        },
      },
    });
  }],
  ['an env-agnostic stack without the root: the execution role from pseudo parameters', () => {
    const s = new Stack(new App(), 'Agnostic');
    new CmekKey(s, 'K', { alias: 'cmek/k', allowAccountRootAccess: false, admins: [new iam.ArnPrincipal('arn:aws:iam::999999999999:role/Admin')] });
    const [deployer] = statements(s).filter((x) => x.Sid === 'CmekDeploymentRole');
    expect(deployer.Principal).toEqual({
      AWS: { 'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, ':iam::', { Ref: 'AWS::AccountId' }, ':role/cdk-hnb659fds-cfn-exec-role-', { Ref: 'AWS::AccountId' }, '-', { Ref: 'AWS::Region' }]] },
    });
  }],
  ['CmekBucket with kms.Key.fromKeyArn: bucket-side grant and a warning naming the statement', () => {
    const s = stack();
    const b = new CmekBucket(s, 'B', { encryptionKey: kms.Key.fromKeyArn(s, 'Imported', IMPORTED_ARN) });
    b.grantCrossAccountRead(CmekGrantee.account(VENDOR, { name: 'acme' }));
    expect(synthErrors(s)).toEqual([]);
    expect(statements(s, 'AWS::S3::BucketPolicy').map((x) => x.Sid)).toContain('AcmeS3Read');
    expect(Template.fromStack(s).findResources('AWS::KMS::Key')).toEqual({});
    const text = JSON.stringify(Annotations.fromStack(s).findWarning('/S/B', Match.stringLikeRegexp('imported')));
    expect(text).toContain('the key of S/B is imported, so AcmeS3Read is granted on the bucket side only: the key');
    expect(text).toContain('CmekUsageAcmeS3Read');
    expect(text).toContain(`key ${IMPORTED_ARN}`);
  }],
  ['CmekBucket with CmekKey.fromCustomerKeyArn and grantReadWrite: no crash', () => {
    const s = stack();
    const b = new CmekBucket(s, 'B', { encryptionKey: CmekKey.fromCustomerKeyArn(s, 'Imported', IMPORTED_ARN) });
    b.grantCrossAccountReadWrite(CmekGrantee.role(`arn:aws:iam::${VENDOR}:role/Writer`));
    expect(synthErrors(s)).toEqual([]);
    expect(JSON.stringify(Annotations.fromStack(s).findWarning('/S/B', Match.stringLikeRegexp('imported')))).toContain('WriterS3ReadWrite is granted on the bucket side only');
  }],
  ['a fleet passes rotationDisabledReason and deploymentRoleArn on to each tenant key', () => {
    const s = stack();
    const deployer = `arn:aws:iam::${OWNER}:role/PipelineDeploy`;
    const fleet = new CmekKeyFleet(s, 'F', {
      keyDefaults: { allowAccountRootAccess: false, admins: [new iam.ArnPrincipal(`arn:aws:iam::${OWNER}:role/Admin`)], deploymentRoleArn: deployer },
      tenants: [{ id: 'a', enableKeyRotation: false, rotationDisabledReason: 'rotated by re-keying' }],
    });
    const tenantStack = Stack.of(fleet.keyFor('a'));
    expect(statements(tenantStack).find((x) => x.Sid === 'CmekDeploymentRole').Principal).toEqual({ AWS: deployer });
    Template.fromStack(tenantStack).hasResourceProperties('AWS::KMS::Key', { EnableKeyRotation: false });
  }],
  ['two keys in one stack with the same grantee names', () => {
    const s = stack();
    new CmekKey(s, 'A', { alias: 'cmek/a', grantees: [CmekGrantee.account(VENDOR, { name: 'acme' })] });
    new CmekKey(s, 'B', { alias: 'cmek/b', grantees: [CmekGrantee.account(VENDOR, { name: 'acme' })] });
    expect(synthErrors(s)).toEqual([]);
  }],
  ['organization guard: one break-glass role name for every account, as an SCP', () => {
    const s = stack();
    new CmekOrganizationGuard(s, 'G', { targetIds: ['r-ab12'], policyType: CmekOrganizationPolicyType.SERVICE_CONTROL_POLICY, exemptPrincipalArns: ['arn:aws:iam::*:role/KeyBreakGlass'] });
    expect(synthErrors(s)).toEqual([]);
    const [policy] = Object.values(Template.fromStack(s).findResources('AWS::Organizations::Policy'));
    expect(policy.Properties.Content.Statement[0].Condition.ArnNotLike).toEqual({ 'aws:PrincipalArn': ['arn:aws:iam::*:role/KeyBreakGlass'] });
    expect(policy.Properties.Content.Statement.map((x: any) => x.Principal)).toEqual([undefined, undefined, undefined]);
  }],
  ['envelope: one key in two buckets, two keys in one bucket', () => {
    const s = stack();
    const one = new CmekBucket(s, 'B1', { keyAlias: 'cmek/b1' }).bucket;
    const two = new CmekBucket(s, 'B2', { keyAlias: 'cmek/b2' }).bucket;
    envelopeObject(s, 'A', one, 'same');
    envelopeObject(s, 'B', two, 'same');
    envelopeObject(s, 'C', one, 'other');
    expect(synthErrors(s)).toEqual([]);
    const keys = Object.values(Template.fromStack(s).findResources('Custom::CmekEnvelopeObject')).map((r) => r.Properties.ObjectKey);
    expect(keys).toEqual(['same', 'same', 'other']);
  }],
  ['envelope: one key of a bucket named by a region token, in two regions', () => {
    const app = new App();
    const stacks = ['eu-west-1', 'eu-central-1'].map((region) => new Stack(app, region, { env: { account: OWNER, region } }));
    for (const s of stacks) envelopeObject(s, 'O', s3.Bucket.fromBucketName(s, 'Data', `data-${Aws.REGION}`), 'seed.bin');
    expect(synthErrors(stacks[0])).toEqual([]);
    for (const s of stacks) {
      Template.fromStack(s).hasResourceProperties('Custom::CmekEnvelopeObject', {
        Bucket: { 'Fn::Join': ['', ['data-', { Ref: 'AWS::Region' }]] },
        ObjectKey: 'seed.bin',
      });
    }
  }],
];

describe('edge inputs that are right', () => {
  test.each(accepted)('GIVEN %s THEN the template is exactly right', (_name, check) => {
    check();
  });
});

// ------------------------------------------------------------------ monitoring: keys and alarm names a monitor cannot use

const KEY_ID = '1234abcd-12ab-34cd-56ef-1234567890ab';
const OTHER_REGION_ARN = `arn:aws:kms:us-east-1:${OWNER}:key/${KEY_ID}`;
const ALIAS_ARN = `arn:aws:kms:eu-west-1:${OWNER}:alias/cmek/k`;

/** A deletion monitor in `s` reading an existing trail's log group, narrowed to the keys `keys` makes. */
function deletionMonitor(s: Stack, keys: (s: Stack) => kms.IKey[], props: { alarmNamePrefix?: string; id?: string } = {}): KeyDeletionMonitor {
  const logGroup = LogGroup.fromLogGroupName(s, `Trail${props.id ?? 'M'}`, 'org-trail');
  return new KeyDeletionMonitor(s, props.id ?? 'M', { cloudTrailLogGroup: logGroup, keys: keys(s), alarmNamePrefix: props.alarmNamePrefix });
}

const monitoringAtCall: Array<[string, () => unknown, string]> = [
  ['deletion monitor: a key of another Region', () => deletionMonitor(stack(), (s) => [kms.Key.fromKeyArn(s, 'Other', OTHER_REGION_ARN)]),
    `\`keys\` must be in this stack's Region (eu-west-1): EventBridge sees only its own Region's CloudTrail events, got: ${OTHER_REGION_ARN} in us-east-1`],
  ['deletion monitor: a key of another account', () => deletionMonitor(stack(), (s) => [kms.Key.fromKeyArn(s, 'Vendor', IMPORTED_ARN)]),
    `\`keys\` must be in this stack's account (${OWNER}): EventBridge sees only its own account's CloudTrail events, got: ${IMPORTED_ARN} in account ${VENDOR}`],
  ['deletion monitor: a CmekKey of a stack in another Region', () => {
    const app = new App();
    const there = new CmekKey(new Stack(app, 'P', { env: { account: OWNER, region: 'eu-central-1' } }), 'K', { alias: 'cmek/k' });
    return deletionMonitor(new Stack(app, 'S', { env: ENV }), () => [there]);
  }, '`keys` must be in this stack\'s Region (eu-west-1): EventBridge sees only its own Region\'s CloudTrail events, got: alias/cmek/k in eu-central-1'],
  ['deletion monitor: an alias ARN as a key', () => deletionMonitor(stack(), (s) => [kms.Key.fromKeyArn(s, 'Alias', ALIAS_ARN)]),
    `\`keys\` must be keys, not aliases: the notice matches the key ARN in CloudTrail events, so an alias never matches, got: ${ALIAS_ARN}`],
  ['deletion monitor: an alias (kms.Alias.fromAliasName, a tokenized ARN)', () => deletionMonitor(stack(), (s) => [kms.Alias.fromAliasName(s, 'Alias', 'alias/cmek/k')]),
    '`keys` must be keys, not aliases: the notice matches the key ARN in CloudTrail events, so an alias never matches, got: alias/cmek/k'],
  ['deletion monitor: a kms.Alias made in the stack', () => deletionMonitor(stack(), (s) => [new kms.Alias(s, 'Alias', { aliasName: 'alias/cmek/a', targetKey: key(s) })]),
    '`keys` must be keys, not aliases: the notice matches the key ARN in CloudTrail events, so an alias never matches, got: alias/cmek/a'],
  ['deletion monitor: an alias added to a CmekKey', () => deletionMonitor(stack(), (s) => [key(s).key.addAlias('alias/cmek/b')]),
    '`keys` must be keys, not aliases: the notice matches the key ARN in CloudTrail events, so an alias never matches, got: alias/cmek/b'],
  ['deletion monitor: alarmNamePrefix of 224 characters', () => deletionMonitor(stack(), () => [], { alarmNamePrefix: 'p'.repeat(224) }),
    '`alarmNamePrefix` must be at most 223 characters (CloudWatch alarm names are at most 255, and `-KeyPolicyChangeOrCancelDeletion` is added), got: 224 characters'],
  ['auditor: alarmNamePrefix of 236 characters', () => new KeyUsageAuditor(stack(), 'A', { alarmNamePrefix: 'p'.repeat(236) }),
    '`alarmNamePrefix` must be at most 235 characters (CloudWatch alarm names are at most 255, and `-KeyUsageAuditErrors` is added), got: 236 characters'],
  ['deletion monitor: cancelDeletionOnUse without keys', () => new KeyDeletionMonitor(stack(), 'M', { cancelDeletionOnUse: true }),
    '`cancelDeletionOnUse` needs `keys`: name the keys whose deletion it may cancel (kms:CancelKeyDeletion is granted on exactly those), got: no keys'],
  ['deletion monitor: cancelDeletionOnUse with an empty keys list', () => deletionMonitorCancelling(stack(), 0),
    '`cancelDeletionOnUse` needs `keys`: name the keys whose deletion it may cancel (kms:CancelKeyDeletion is granted on exactly those), got: no keys'],
  ['deletion monitor: cancelDeletionOnUse with 41 keys', () => deletionMonitorCancelling(stack(), 41),
    '`keys` must be at most 40 keys with `cancelDeletionOnUse` (their ARNs travel in the function\'s 4 KB environment), got: 41 keys'],
  ['deletion monitor: reEnableOnCancel without cancelDeletionOnUse', () => new KeyDeletionMonitor(stack(), 'M', { keys: [], reEnableOnCancel: true }),
    '`reEnableOnCancel` needs `cancelDeletionOnUse: true` (only a cancelled key is enabled again), got: reEnableOnCancel without cancelDeletionOnUse'],
  ['deletion monitor: a third cancelling monitor on one log group (a log group allows 2 subscription filters)', () => {
    const s = stack();
    for (const id of ['M1', 'M2', 'M3']) cancellingOn(s, id, LogGroup.fromLogGroupName(s, `Trail${id}`, 'org-trail'));
  }, '`cloudTrailLogGroup` must have room for the `cancelDeletionOnUse` subscription (CloudWatch Logs allows 2 subscription filters per log group), ' +
    'got: org-trail with 2 already (S/M1/CancelDeletionOnUse/Subscription/Resource, S/M2/CancelDeletionOnUse/Subscription/Resource)'],
  ['deletion monitor: a second cancelling monitor on a created log group that already has a subscription filter', () => {
    const s = stack();
    const group = new LogGroup(s, 'Trail');
    new SubscriptionFilter(s, 'Export', { logGroup: group, destination: new LambdaDestination(lambda.Function.fromFunctionArn(s, 'F', `arn:aws:lambda:eu-west-1:${OWNER}:function:f`)), filterPattern: FilterPattern.allEvents() });
    cancellingOn(s, 'M1', group);
    cancellingOn(s, 'M2', group);
  }, '`cloudTrailLogGroup` must have room for the `cancelDeletionOnUse` subscription (CloudWatch Logs allows 2 subscription filters per log group), ' +
    'got: S/Trail with 2 already (S/Export/Resource, S/M1/CancelDeletionOnUse/Subscription/Resource)'],
  ['deletion monitor: a log group of another account', () => {
    const s = stack();
    return cancellingOn(s, 'M', LogGroup.fromLogGroupArn(s, 'Trail', `arn:aws:logs:eu-west-1:${VENDOR}:log-group:org-trail:*`));
  }, `\`cloudTrailLogGroup\` must be in this stack's account (${OWNER}): its filters are created beside it, got: arn:aws:logs:eu-west-1:${VENDOR}:log-group:org-trail:* in account ${VENDOR}`],
  ['deletion monitor: a log group of another Region', () => {
    const s = stack();
    return cancellingOn(s, 'M', LogGroup.fromLogGroupArn(s, 'Trail', `arn:aws:logs:us-east-1:${OWNER}:log-group:org-trail:*`));
  }, `\`cloudTrailLogGroup\` must be in this stack's Region (eu-west-1): its filters are created beside it, got: arn:aws:logs:us-east-1:${OWNER}:log-group:org-trail:* in us-east-1`],
  ['deletion monitor in a stack without an environment: keys of two Regions', () => {
    const s = new Stack(new App(), 'S');
    return new KeyDeletionMonitor(s, 'M', { keys: [kms.Key.fromKeyArn(s, 'Here', `arn:aws:kms:eu-west-1:${OWNER}:key/${KEY_ID}`), kms.Key.fromKeyArn(s, 'Other', OTHER_REGION_ARN)], cancelDeletionOnUse: true });
  }, `\`keys\` must all be in this stack's Region: EventBridge sees only its own Region's CloudTrail events, got: arn:aws:kms:eu-west-1:${OWNER}:key/${KEY_ID} in eu-west-1 and ${OTHER_REGION_ARN} in us-east-1`],
];

/** A monitor in `s` that cancels on use of one imported key of its own account and Region, reading `logGroup`. */
function cancellingOn(s: Stack, id: string, logGroup: ILogGroup): KeyDeletionMonitor {
  const keys = [kms.Key.fromKeyArn(s, `${id}Key`, `arn:aws:kms:eu-west-1:${OWNER}:key/${KEY_ID}`)];
  return new KeyDeletionMonitor(s, id, { cloudTrailLogGroup: logGroup, keys, cancelDeletionOnUse: true });
}

/** A cancelling deletion monitor in `s` over `count` imported keys of its own account and Region. */
function deletionMonitorCancelling(s: Stack, count: number): KeyDeletionMonitor {
  const keys = Array.from({ length: count }, (_, i) =>
    kms.Key.fromKeyArn(s, `K${i}`, `arn:aws:kms:eu-west-1:${OWNER}:key/${KEY_ID.slice(0, -4)}${String(i).padStart(4, '0')}`));
  return new KeyDeletionMonitor(s, 'M', { cloudTrailLogGroup: LogGroup.fromLogGroupName(s, 'Trail', 'org-trail'), keys, cancelDeletionOnUse: true });
}

const LONG_ID = 'DeletionMonitorOfTheDataPlatform';
const monitoringAtSynth: Array<[string, () => Stack, string[]]> = [
  ['two deletion monitors share a 200-character prefix: the construct path added makes the names too long', () => {
    const s = stack();
    deletionMonitor(s, () => [], { alarmNamePrefix: 'p'.repeat(200), id: LONG_ID });
    deletionMonitor(s, () => [], { alarmNamePrefix: 'p'.repeat(200), id: `${LONG_ID}2` });
    return s;
  }, [LONG_ID, `${LONG_ID}2`].map((id) => {
    const name = `${'p'.repeat(200)}-${id}-KeyPolicyChangeOrCancelDeletion`;
    return `alarm name ${JSON.stringify(name)} is ${name.length} characters, over CloudWatch's 255: its construct path was added to tell it from a monitor with the same prefix; give each a shorter \`alarmNamePrefix\` of its own`;
  })],
];

const monitoringAccepted: Array<[string, () => void]> = [
  ['deletion monitor: keys of its own account and Region, by CmekKey and by ARN', () => {
    const s = stack();
    const own = key(s);
    const imported = `arn:aws:kms:eu-west-1:${OWNER}:key/${KEY_ID}`;
    deletionMonitor(s, (x) => [own, kms.Key.fromKeyArn(x, 'Imported', imported)]);
    expect(synthErrors(s)).toEqual([]);
    Template.fromStack(s).hasResourceProperties('AWS::Events::Rule', {
      EventPattern: { detail: { resources: { ARN: [{ 'Fn::GetAtt': [Match.anyValue(), 'Arn'] }, imported] } } },
    });
  }],
  ['deletion monitor in a stack without an environment: a key ARN of any Region passes (nothing to compare with)', () => {
    const s = new Stack(new App(), 'S');
    deletionMonitor(s, (x) => [kms.Key.fromKeyArn(x, 'Other', OTHER_REGION_ARN)]);
    expect(synthErrors(s)).toEqual([]);
  }],
  ['alarm-name prefixes at the limit: the longest alarm names are exactly 255 characters', () => {
    const s = stack();
    deletionMonitor(s, () => [], { alarmNamePrefix: 'm'.repeat(223) });
    new KeyUsageAuditor(s, 'A', { alarmNamePrefix: 'a'.repeat(235) });
    expect(synthErrors(s)).toEqual([]);
    const names = Object.values(Template.fromStack(s).findResources('AWS::CloudWatch::Alarm')).map((a) => a.Properties.AlarmName as string);
    expect(names).toContain(`${'m'.repeat(223)}-KeyPolicyChangeOrCancelDeletion`);
    expect(names).toContain(`${'a'.repeat(235)}-KeyUsageAuditErrors`);
    expect(Math.max(...names.map((n) => n.length))).toBe(255);
  }],
  ['deletion monitor: cancelDeletionOnUse with 40 keys, the most the function\'s environment holds', () => {
    const s = stack();
    deletionMonitorCancelling(s, 40);
    expect(synthErrors(s)).toEqual([]);
    const env = Template.fromStack(s).findResources('AWS::Lambda::Function');
    expect(Object.values(env)[0].Properties.Environment.Variables.KEY_ARNS.split(',')).toHaveLength(40);
  }],
  ['deletion monitor: two cancelling monitors on one log group, the most it allows', () => {
    const s = stack();
    const group = LogGroup.fromLogGroupName(s, 'Trail', 'org-trail');
    cancellingOn(s, 'M1', group);
    cancellingOn(s, 'M2', group);
    expect(Object.keys(Template.fromStack(s).findResources('AWS::Logs::SubscriptionFilter'))).toHaveLength(2);
  }],
  ['deletion monitor: cancelling monitors on log groups of the same name in two stacks', () => {
    const app = new App();
    for (const region of ['eu-west-1', 'eu-central-1']) {
      const s = new Stack(app, `S-${region}`, { env: { account: OWNER, region } });
      for (const id of ['M1', 'M2']) {
        new KeyDeletionMonitor(s, id, { cloudTrailLogGroup: LogGroup.fromLogGroupName(s, `Trail${id}`, 'org-trail'), keys: [kms.Key.fromKeyArn(s, `${id}Key`, `arn:aws:kms:${region}:${OWNER}:key/${KEY_ID}`)], cancelDeletionOnUse: true });
      }
    }
  }],
];

describeInputs('monitoring inputs', { atCall: monitoringAtCall, atSynth: monitoringAtSynth, accepted: monitoringAccepted });

const GRANT_VENDOR = `arn:aws:iam::${VENDOR}:role/VendorApp`;
const PRINCIPAL_RULE = 'must be the ARN of an IAM role, IAM user or account root (no wildcards, STS sessions or service principals), got:';
function grant(s: Stack, props: Partial<CmekGrantProps> = {}): CmekGrant {
  return new CmekGrant(s, 'G', { key: key(s), granteePrincipal: GRANT_VENDOR, ...props });
}
const nineLetters = Object.fromEntries('abcdefghi'.split('').map((c) => [c, c]));

const grantAtCall: Array<[string, () => unknown, string]> = [
  ['grant: an action outside the CMEK set', () => grant(stack(), { operations: ['kms:PutKeyPolicy' as CmekAction] }),
    '`operations` must hold only kms:Encrypt, kms:Decrypt, kms:ReEncrypt*, kms:GenerateDataKey*, kms:DescribeKey, got: "kms:PutKeyPolicy"'],
  ['grant: no operations', () => grant(stack(), { operations: [] }),
    '`operations` must hold at least one of kms:Encrypt, kms:Decrypt, kms:ReEncrypt*, kms:GenerateDataKey*, kms:DescribeKey, got: none'],
  ['grant: both constraint kinds', () => grant(stack(), { encryptionContextEquals: { a: '1' }, encryptionContextSubset: { a: '1' } }),
    '`encryptionContextEquals` and `encryptionContextSubset` are exclusive (a KMS grant takes one constraint), got: both'],
  ['grant: nine context pairs', () => grant(stack(), { encryptionContextEquals: nineLetters }),
    '`encryptionContextEquals` must hold at most 8 pairs (KMS grant constraint limit), got: 9'],
  ['grant: a context of 385 characters', () => grant(stack(), { encryptionContextSubset: { k: 'v'.repeat(384) } }),
    '`encryptionContextSubset` must total at most 384 characters of keys and values (KMS grant constraint limit), got: 385'],
  ['grant: an empty context', () => grant(stack(), { encryptionContextSubset: {} }),
    '`encryptionContextSubset` must hold 1 to 8 pairs, got: none'],
  ['grant: an empty context key', () => grant(stack(), { encryptionContextEquals: { '': 'v' } }),
    '`encryptionContextEquals` keys must be non-empty, got: ""'],
  ['grant: an empty context value', () => grant(stack(), { encryptionContextEquals: { tenant: '' } }),
    '`encryptionContextEquals` value of "tenant" must be a non-empty string, got: ""'],
  ['grant: a wildcard grantee', () => grant(stack(), { granteePrincipal: '*' }), `\`granteePrincipal\` ${PRINCIPAL_RULE} "*"`],
  ['grant: a grantee with a wildcard in the role name', () => grant(stack(), { granteePrincipal: `arn:aws:iam::${VENDOR}:role/app-*` }),
    `\`granteePrincipal\` ${PRINCIPAL_RULE} "arn:aws:iam::${VENDOR}:role/app-*"`],
  ['grant: an STS session grantee', () => grant(stack(), { granteePrincipal: `arn:aws:sts::${VENDOR}:assumed-role/VendorApp/session` }),
    `\`granteePrincipal\` ${PRINCIPAL_RULE} "arn:aws:sts::${VENDOR}:assumed-role/VendorApp/session"`],
  ['grant: a service principal grantee', () => grant(stack(), { granteePrincipal: 'logs.amazonaws.com' }),
    `\`granteePrincipal\` ${PRINCIPAL_RULE} "logs.amazonaws.com"`],
  ['grant: a wildcard retiring principal', () => grant(stack(), { retiringPrincipal: `arn:aws:iam::${VENDOR}:*` }),
    `\`retiringPrincipal\` ${PRINCIPAL_RULE} "arn:aws:iam::${VENDOR}:*"`],
  ['grant: a retiring principal while the handler retires', () => grant(stack(), { revokeOnDelete: false, retiringPrincipal: GRANT_VENDOR }),
    `\`retiringPrincipal\` must be left out when \`revokeOnDelete\` is false (the grant handler retires the grant, so it is the retiring principal), got: "${GRANT_VENDOR}"`],
  ['grant: a name with a space', () => grant(stack(), { name: 'vendor grant' }),
    '`name` must be 1 to 256 characters of a-z A-Z 0-9 : / _ -, got: "vendor grant"'],
  ['grant: a name of 257 characters', () => grant(stack(), { name: 'n'.repeat(257) }),
    `\`name\` must be 1 to 256 characters of a-z A-Z 0-9 : / _ -, got: "${'n'.repeat(257)}"`],
  ['grant: a key of another stack', () => {
    const app = new App();
    const other = new Stack(app, 'Keys', { env: ENV });
    return new CmekGrant(new Stack(app, 'Grants', { env: ENV }), 'G', { key: key(other), granteePrincipal: GRANT_VENDOR });
  }, '`key` must be a CmekKey of this grant\'s stack (Grants), got: one of Keys'],
];

const grantAccepted: Array<[string, () => void]> = [
  ['grant: a context of exactly 8 pairs and 384 characters, and a 256-character name', () => {
    const s = stack();
    const pairs = Object.fromEntries('abcdefg'.split('').map((c) => [c, c]));
    grant(s, { encryptionContextEquals: { ...pairs, h: 'v'.repeat(384 - 15) }, name: 'n'.repeat(256) });
    expect(synthErrors(s)).toEqual([]);
  }],
  ['grant: tokens as grantee and context value are left to deploy time', () => {
    const s = stack();
    const role = new iam.Role(s, 'R', { assumedBy: new iam.AccountRootPrincipal() });
    grant(s, { granteePrincipal: role.roleArn, encryptionContextSubset: { role: role.roleName } });
    expect(synthErrors(s)).toEqual([]);
  }],
  ['grant: an account root, a user with a path and a GovCloud role are grantees', () => {
    const s = stack();
    const k = key(s);
    for (const [i, arn] of [`arn:aws:iam::${VENDOR}:root`, `arn:aws:iam::${VENDOR}:user/team/alice`, `arn:aws-us-gov:iam::${VENDOR}:role/app`].entries()) {
      new CmekGrant(s, `G${i}`, { key: k, granteePrincipal: arn });
    }
    expect(synthErrors(s)).toEqual([]);
  }],
];

describeInputs('grant inputs', { atCall: grantAtCall, accepted: grantAccepted });

// KeyUsageAuditorStackSet: targets, code buckets, rollout and the auditor every account gets.
const STACK_SET_TARGETS: KeyUsageAuditorStackSetProps = {
  organizationalUnitIds: ['ou-ab12-cdef3456'],
  regions: ['eu-west-1'],
  codeBucketPrefix: 'acme-code',
};
function stackSet(props: Partial<KeyUsageAuditorStackSetProps> = {}, s: Stack = stack()): KeyUsageAuditorStackSet {
  return new KeyUsageAuditorStackSet(s, 'Auditors', { ...STACK_SET_TARGETS, ...props });
}
const OU_RULE = '`organizationalUnitIds` must be organizational unit ids (ou-…) or the root id (r-…), got:';
const PREFIX_RULE = '`codeBucketPrefix` must be lowercase letters, digits and hyphens, starting with a letter or digit, got:';
const stackSetAtCall: Array<[string, () => unknown, string]> = [
  ['stack set: no organizational units', () => stackSet({ organizationalUnitIds: [] }), '`organizationalUnitIds` must list at least one value, got: []'],
  ['stack set: an account id as a unit', () => stackSet({ organizationalUnitIds: [OWNER] }), `${OU_RULE} "${OWNER}"`],
  ['stack set: a unit id with a short suffix', () => stackSet({ organizationalUnitIds: ['ou-ab12-cdef'] }), `${OU_RULE} "ou-ab12-cdef"`],
  ['stack set: a unit listed twice', () => stackSet({ organizationalUnitIds: ['r-ab12', 'r-ab12'] }), '`organizationalUnitIds` must not list a value twice, got: "r-ab12" twice'],
  ['stack set: no Regions', () => stackSet({ regions: [] }), '`regions` must list at least one value, got: []'],
  ['stack set: a Region in capitals', () => stackSet({ regions: ['EU-WEST-1'] }), '`regions` must be Region names such as eu-west-1, got: "EU-WEST-1"'],
  ['stack set: an availability zone as a Region', () => stackSet({ regions: ['eu-west-1a'] }), '`regions` must be Region names such as eu-west-1, got: "eu-west-1a"'],
  ['stack set: a Region listed twice', () => stackSet({ regions: ['us-east-1', 'us-east-1'] }), '`regions` must not list a value twice, got: "us-east-1" twice'],
  ['stack set: a code bucket prefix with a dot', () => stackSet({ codeBucketPrefix: 'acme.code' }), `${PREFIX_RULE} "acme.code"`],
  ['stack set: a code bucket prefix in capitals', () => stackSet({ codeBucketPrefix: 'Acme' }), `${PREFIX_RULE} "Acme"`],
  ['stack set: a code bucket prefix with no room for the Region', () => stackSet({ codeBucketPrefix: 'c'.repeat(50), regions: ['ap-southeast-2'] }),
    `\`codeBucketPrefix\` must leave room for the Region in a bucket name of at most 63 characters, got: "${'c'.repeat(50)}-ap-southeast-2" (65 characters)`],
  ['stack set: a code bucket prefix from a parameter', () => {
    const s = stack();
    return stackSet({ codeBucketPrefix: new CfnParameter(s, 'Prefix').valueAsString }, s);
  }, '`codeBucketPrefix` must be a fixed value (every Region\'s bucket name is written from it), got: a token'],
  ['stack set: no accounts at once', () => stackSet({ maxConcurrentPercentage: 0 }), '`maxConcurrentPercentage` must be an integer from 1 to 100, got: 0'],
  ['stack set: more than all accounts at once', () => stackSet({ maxConcurrentPercentage: 101 }), '`maxConcurrentPercentage` must be an integer from 1 to 100, got: 101'],
  ['stack set: a fractional tolerance', () => stackSet({ failureTolerancePercentage: 2.5 }), '`failureTolerancePercentage` must be an integer from 0 to 100, got: 2.5'],
  ['stack set: a negative tolerance', () => stackSet({ failureTolerancePercentage: -1 }), '`failureTolerancePercentage` must be an integer from 0 to 100, got: -1'],
  ['stack set: a name starting with a digit', () => stackSet({ stackSetName: '1-auditors' }),
    '`stackSetName` must be a letter, then letters, digits and hyphens, at most 128 characters, got: "1-auditors"'],
  ['stack set: a name of 129 characters', () => stackSet({ stackSetName: 'a'.repeat(129) }),
    `\`stackSetName\` must be a letter, then letters, digits and hyphens, at most 128 characters, got: "${'a'.repeat(129)}"`],
  ['stack set: retained stacks without auto-deployment', () => stackSet({ autoDeployment: false, retainStacksOnAccountRemoval: true }),
    '`retainStacksOnAccountRemoval` needs `autoDeployment`, got: retainStacksOnAccountRemoval true with autoDeployment false'],
  ['stack set: an auditor threshold of 0 days', () => stackSet({ auditor: { thresholdDays: 0 } }), '`auditor.thresholdDays` must be an integer ≥ 1, got: 0'],
  ['stack set: an auditor tag value without a tag key', () => stackSet({ auditor: { tagValue: 'acme' } }),
    '`auditor.tagValue` needs `tagKey`, got: tagValue "acme" without a tag key'],
  ['stack set: an auditor alias prefix from this stack', () => {
    const s = stack();
    return stackSet({ auditor: { aliasPrefix: new CfnParameter(s, 'Alias').valueAsString } }, s);
  }, '`auditor.aliasPrefix` must be a fixed value (the member template is rendered apart from this stack), got: a token'],
  ['stack set: a second StackSet of the same name in the stack', () => {
    const s = stack();
    stackSet({ stackSetName: 'cmek-auditors' }, s);
    return new KeyUsageAuditorStackSet(s, 'Again', { ...STACK_SET_TARGETS, stackSetName: 'cmek-auditors' });
  }, '`stackSetName` must be unique in the stack, got: "cmek-auditors", already the name of S/Auditors'],
  ...['xn--acme', 'sthree-acme', 'amzn-s3-demo-acme', 'acme-s3alias', 'acme--ol-s3'].map((prefix): [string, () => unknown, string] => [
    `stack set: the S3-reserved code bucket prefix ${prefix}`, () => stackSet({ codeBucketPrefix: prefix }),
    `\`codeBucketPrefix\` must be free of the starts (xn--, sthree-, amzn-s3-demo-) and ends (-s3alias, --ol-s3) S3 reserves, got: "${prefix}"`,
  ]),
  ['stack set: a code bucket owner that is no account id', () => stackSet({ codeBucketOwner: '12345' }),
    '`codeBucketOwner` must be a 12-digit AWS account id, got: "12345"'],
  ['stack set: no code bucket owner in an env-agnostic stack', () => stackSet({}, new Stack(new App(), 'S')),
    '`codeBucketOwner` must be given when the stack has no account (the member template needs a literal), got: none'],
];
const stackSetAccepted: Array<[string, () => void]> = [
  ['stack set: units and Regions from parameters are left to deploy time', () => {
    const s = stack();
    stackSet({ organizationalUnitIds: new CfnParameter(s, 'Units', { type: 'CommaDelimitedList' }).valueAsList, regions: [new CfnParameter(s, 'Region').valueAsString] }, s);
    expect(synthErrors(s)).toEqual([]);
  }],
  ['stack set: the root, a 63-character bucket name, every percentage at its limit and a 128-character name', () => {
    const s = stack();
    stackSet({
      organizationalUnitIds: ['r-ab12', 'ou-ab12-cdef3456'],
      codeBucketPrefix: 'c'.repeat(63 - '-ap-southeast-2'.length),
      regions: ['ap-southeast-2', 'us-gov-west-1'],
      maxConcurrentPercentage: 1,
      failureTolerancePercentage: 100,
      stackSetName: 'a'.repeat(128),
    }, s);
    expect(synthErrors(s)).toEqual([]);
  }],
  ['stack set: two StackSets of different names, and reserved words inside a prefix, in one stack', () => {
    const s = stack();
    stackSet({ codeBucketPrefix: 'acme-xn--sthree-s3alias-code' }, s);
    new KeyUsageAuditorStackSet(s, 'Again', { ...STACK_SET_TARGETS, codeBucketOwner: '111122223333' });
    expect(synthErrors(s)).toEqual([]);
  }],
];
describeInputs('stack set inputs', { atCall: stackSetAtCall, accepted: stackSetAccepted });
