// Grantee options proved by simulation: grants made by AWS services only, a service's source account, extra statements.
import { App, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import * as iam from 'aws-cdk-lib/aws-iam';
import { CmekGrantee, CmekKey, CmekKeyProps } from '../../src';
import { resolveCfn } from '../support/cfn';
import { decide } from '../support/simulate';

jest.setTimeout(60_000);

const OWNER = '999999999999';
const VENDOR = '111122223333';
const VENDOR_ROLE = `arn:aws:iam::${VENDOR}:role/App`;
const KEY_ARN = `arn:aws:kms:eu-west-1:${OWNER}:key/1234abcd-12ab-34cd-56ef-1234567890ab`;

function policyOf(props: Partial<CmekKeyProps>): any {
  const stack = new Stack(new App(), 'S', { env: { account: OWNER, region: 'eu-west-1' } });
  new CmekKey(stack, 'K', { alias: 'cmek/k', ...props });
  const [key] = Object.values(Template.fromStack(stack).findResources('AWS::KMS::Key')) as any[];
  return resolveCfn(key.Properties.KeyPolicy, { account: OWNER, values: {} });
}

describe('forAwsResources', () => {
  const policy = () => policyOf({ grantees: [CmekGrantee.account(VENDOR, { name: 'acme', forAwsResources: true, viaServices: ['ec2.eu-west-1.amazonaws.com'] })] });
  const createGrant = (context: Record<string, string | string[]>) =>
    decide({ resourcePolicy: policy(), resource: KEY_ARN, principal: VENDOR_ROLE, action: 'kms:CreateGrant', context });

  test('GIVEN a grant EBS makes for a volume WHEN simulated THEN allowed', async () => {
    expect(await createGrant({ 'kms:GrantIsForAWSResource': 'true', 'kms:ViaService': 'ec2.eu-west-1.amazonaws.com' })).toBe('Allowed');
  });

  test('GIVEN a grant the vendor makes directly WHEN simulated THEN denied', async () => {
    expect(await createGrant({ 'kms:GrantIsForAWSResource': 'false', 'kms:ViaService': 'ec2.eu-west-1.amazonaws.com' })).not.toBe('Allowed');
    expect(await createGrant({})).not.toBe('Allowed');
  });

  test('GIVEN a grant through another service WHEN simulated THEN denied: viaServices holds here too', async () => {
    expect(await createGrant({ 'kms:GrantIsForAWSResource': 'true', 'kms:ViaService': 'rds.eu-west-1.amazonaws.com' })).not.toBe('Allowed');
  });

  test('GIVEN the option off (the default) WHEN simulated THEN even an AWS-resource grant is denied', async () => {
    const without = policyOf({ grantees: [CmekGrantee.account(VENDOR, { name: 'acme' })] });
    expect(await decide({ resourcePolicy: without, resource: KEY_ARN, principal: VENDOR_ROLE, action: 'kms:CreateGrant', context: { 'kms:GrantIsForAWSResource': 'true' } })).not.toBe('Allowed');
  });

  test('GIVEN an organization grantee WHEN asked for it THEN refused with one line', () => {
    expect(() => CmekGrantee.organization('o-a1b2c3d4e5', { forAwsResources: true })).toThrow(
      '`forAwsResources` is not for an organization grantee (AWS services could then make grants for every principal of it), got: true for OrganizationA1b2c3d4e5',
    );
  });
});

describe('sourceAccount', () => {
  test('GIVEN a service principal with a source account WHEN simulated THEN only calls for that account\'s resources are allowed', async () => {
    const policy = policyOf({ grantees: [CmekGrantee.servicePrincipal('logs.eu-west-1.amazonaws.com', { sourceAccount: OWNER })] });
    const call = (account?: string) => decide({
      resourcePolicy: policy,
      resource: KEY_ARN,
      principal: 'logs.eu-west-1.amazonaws.com',
      action: 'kms:GenerateDataKey',
      context: account ? { 'aws:SourceAccount': account } : {},
      identityActions: [],
    });
    expect(await call(OWNER)).toBe('Allowed');
    expect(await call(VENDOR)).not.toBe('Allowed');
  });

  test('GIVEN a source account on a non-service grantee WHEN written THEN refused with one line', () => {
    expect(() => CmekGrantee.account(VENDOR, { sourceAccount: OWNER })).toThrow(
      `\`sourceAccount\` applies only to CmekGrantee.servicePrincipal() (aws:SourceAccount is set by AWS services), got: "${OWNER}" for account grantee Account${VENDOR}`,
    );
  });
});

describe('additionalStatements', () => {
  test('GIVEN an extra statement WHEN simulated THEN it takes effect like any other', async () => {
    const policy = policyOf({
      additionalStatements: [new iam.PolicyStatement({ sid: 'AuditorDescribe', principals: [new iam.ArnPrincipal(VENDOR_ROLE)], actions: ['kms:DescribeKey'], resources: ['*'] })],
    });
    const call = (action: string) => decide({ resourcePolicy: policy, resource: KEY_ARN, principal: VENDOR_ROLE, action });
    expect(await call('kms:DescribeKey')).toBe('Allowed');
    expect(await call('kms:Decrypt')).not.toBe('Allowed');
  });

  test.each([
    ['no Sid', new iam.PolicyStatement({ principals: [new iam.AccountPrincipal(VENDOR)], actions: ['kms:DescribeKey'], resources: ['*'] }),
      '`additionalStatements` entries each need a literal `sid` (tools and people find statements by it), got: a statement without one'],
    ['a Cmek Sid', new iam.PolicyStatement({ sid: 'CmekUsageX', principals: [new iam.AccountPrincipal(VENDOR)], actions: ['kms:DescribeKey'], resources: ['*'] }),
      '`additionalStatements` sids must not start with Cmek, which the library\'s own statements use, got: "CmekUsageX"'],
  ])('GIVEN %s WHEN written THEN refused with one line', (_name, statement, message) => {
    expect(() => policyOf({ additionalStatements: [statement] })).toThrow(message);
  });

  test('GIVEN two statements with one Sid WHEN written THEN refused with one line', () => {
    const s = () => new iam.PolicyStatement({ sid: 'Extra', principals: [new iam.AccountPrincipal(VENDOR)], actions: ['kms:DescribeKey'], resources: ['*'] });
    expect(() => policyOf({ additionalStatements: [s(), s()] })).toThrow('`additionalStatements` sids must be unique in the key policy, got: "Extra" twice');
  });

  test('GIVEN a public extra statement WHEN synthesized THEN the final-policy check refuses it as it refuses the library\'s', () => {
    expect(() => policyOf({
      additionalStatements: [new iam.PolicyStatement({ sid: 'Open', principals: [new iam.AnyPrincipal()], actions: ['kms:Decrypt'], resources: ['*'] })],
    })).toThrow(/statement Open allows principal "\*"/);
  });
});
