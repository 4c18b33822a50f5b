// CmekBucket as an s3.IBucket: aws-cdk-lib's grant contract, one bucket policy, and the access-logs bucket.
import { App, Lazy, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { CmekAccessLogsBucket, CmekBucket, CmekGrantee, CmekKey } from '../../src';
import { resolveCfn } from '../support/cfn';
import { decide } from '../support/simulate';

jest.setTimeout(60_000);

const OWNER = '999999999999';
const VENDOR = '111122223333';
const ENV = { account: OWNER, region: 'eu-west-1' };
const KEY_ARN = `arn:aws:kms:eu-west-1:${OWNER}:key/1234abcd-12ab-34cd-56ef-1234567890ab`;
const BUCKET_ARN = 'arn:aws:s3:::cmek-data';

function stackWithBucket(context: Record<string, unknown> = {}) {
  const app = new App({ context });
  const stack = new Stack(app, 'Data', { env: ENV });
  const bucket = new CmekBucket(stack, 'Data', { keyAlias: 'cmek/data', bucketName: 'cmek-data' });
  return { app, stack, bucket };
}

function values(template: Template): Record<string, string> {
  const out: Record<string, string> = {};
  for (const id of Object.keys(template.findResources('AWS::S3::Bucket'))) {
    out[id] = 'cmek-data';
    out[`${id}.Arn`] = BUCKET_ARN;
  }
  for (const id of Object.keys(template.findResources('AWS::KMS::Key'))) out[`${id}.Arn`] = KEY_ARN;
  for (const [id, r] of Object.entries(template.findResources('AWS::IAM::Role'))) out[`${id}.Arn`] = `arn:aws:iam::${OWNER}:role/${(r as any).Properties?.RoleName ?? id}`;
  return out;
}

describe('CmekBucket as s3.IBucket', () => {
  test('GIVEN a role of this account WHEN grantRead(role) THEN an iam.Grant, and the role may read and decrypt through its identity policy, nothing more', async () => {
    const { stack, bucket } = stackWithBucket();
    const reader = new iam.Role(stack, 'Reader', { roleName: 'Reader', assumedBy: new iam.AccountRootPrincipal() });
    const asIBucket: s3.IBucket = bucket;
    const grant = asIBucket.grantRead(reader);
    expect(grant).toBeInstanceOf(iam.Grant);
    expect(grant.success).toBe(true);
    const template = Template.fromStack(stack);
    const v = values(template);
    const [policy] = Object.values(template.findResources('AWS::IAM::Policy')) as any[];
    const identity = resolveCfn(policy.Properties.PolicyDocument, { account: OWNER, values: v });
    const [key] = Object.values(template.findResources('AWS::KMS::Key')) as any[];
    const keyPolicy = resolveCfn(key.Properties.KeyPolicy, { account: OWNER, values: v });
    const actions = identity.Statement.flatMap((s: any) => [s.Action].flat());
    expect(actions).toEqual(expect.arrayContaining(['s3:GetObject*', 'kms:Decrypt']));
    expect(actions).not.toContain('s3:PutObject');
    // The key policy's account-root statement lets the identity policy decide, as for any kms.Key.
    const decrypt = (principal: string) => decide({ resourcePolicy: keyPolicy, resource: KEY_ARN, principal, action: 'kms:Decrypt', identityActions: [] });
    expect(await decrypt(`arn:aws:iam::${OWNER}:role/Reader`)).toBe('ImplicitlyDenied');
    const withIdentity = await decide({
      resourcePolicy: keyPolicy,
      resource: KEY_ARN,
      principal: `arn:aws:iam::${OWNER}:role/Reader`,
      action: 'kms:Decrypt',
      identityActions: identity.Statement.filter((s: any) => [s.Action].flat().includes('kms:Decrypt')).flatMap((s: any) => [s.Action].flat()),
    });
    expect(withIdentity).toBe('Allowed');
  });

  test('GIVEN a CmekBucket WHEN passed where aws-cdk-lib takes an IBucket THEN it is accepted and names the same bucket', () => {
    const { stack, bucket } = stackWithBucket();
    const fn = new iam.Role(stack, 'Writer', { assumedBy: new iam.AccountRootPrincipal() });
    bucket.grantReadWrite(fn);
    expect(stack.resolve(bucket.bucketName)).toEqual(stack.resolve(bucket.bucket.bucketName));
    expect(stack.resolve(bucket.arnForObjects('a/*'))).toEqual(stack.resolve(bucket.bucket.arnForObjects('a/*')));
    expect(bucket.encryptionKey).toBe(bucket.key);
    // Statements added through the IBucket land in the one bucket policy.
    bucket.addToResourcePolicy(new iam.PolicyStatement({ sid: 'Extra', principals: [new iam.AccountPrincipal(VENDOR)], actions: ['s3:GetObject'], resources: [bucket.arnForObjects('*')] }));
    const template = Template.fromStack(stack);
    template.resourceCountIs('AWS::S3::BucketPolicy', 1);
    expect(JSON.stringify(template.findResources('AWS::S3::BucketPolicy'))).toContain('"Sid":"Extra"');
  });

  test('GIVEN a grantee with a VPC endpoint WHEN grantCrossAccountRead THEN the bucket statement keeps the endpoint condition', async () => {
    const { stack, bucket } = stackWithBucket();
    bucket.grantCrossAccountRead(CmekGrantee.account(VENDOR, { name: 'acme', sourceVpce: ['vpce-0a1b2c3d4e5f67890'] }));
    const template = Template.fromStack(stack);
    const [bp] = Object.values(template.findResources('AWS::S3::BucketPolicy')) as any[];
    const bucketPolicy = resolveCfn(bp.Properties.PolicyDocument, { account: OWNER, values: values(template) });
    const read = (vpce?: string) => decide({
      resourcePolicy: bucketPolicy,
      resource: `${BUCKET_ARN}/a.csv`,
      resourceAccount: OWNER,
      principal: `arn:aws:iam::${VENDOR}:role/App`,
      action: 's3:GetObject',
      context: { 'aws:SecureTransport': 'true', 's3:TlsVersion': '1.3', ...(vpce ? { 'aws:SourceVpce': vpce } : {}) },
      identityActions: ['s3:*'],
    });
    expect(await read('vpce-0a1b2c3d4e5f67890')).toBe('Allowed');
    expect(await read('vpce-0fffffffffffffff0')).not.toBe('Allowed');
    expect(await read()).not.toBe('Allowed');
  });

  test('GIVEN a second BucketPolicy for the bucket WHEN synthesized THEN refused with one line naming both constructs', () => {
    const { app, stack, bucket } = stackWithBucket();
    new s3.BucketPolicy(stack, 'Rogue', { bucket: bucket.bucket }).document.addStatements(new iam.PolicyStatement({
      principals: [new iam.AccountPrincipal(VENDOR)], actions: ['s3:GetObject'], resources: [bucket.arnForObjects('*')],
    }));
    expect(() => app.synth()).toThrow('bucket policy Data/Rogue/Resource replaces the policy of Data/Data (S3 keeps one policy per bucket): add its statements with addToResourcePolicy on the CmekBucket instead');
  });

  test('GIVEN a raw CfnBucketPolicy naming the bucket by its literal name WHEN synthesized THEN refused too', () => {
    const { app, stack } = stackWithBucket();
    new s3.CfnBucketPolicy(stack, 'Raw', { bucket: 'cmek-data', policyDocument: { Statement: [] } });
    expect(() => app.synth()).toThrow(/bucket policy Data\/Raw replaces the policy of Data\/Data/);
  });

  test('GIVEN a Lazy principal that produces * WHEN synthesized THEN the final bucket-policy check sees it', () => {
    const { app, bucket } = stackWithBucket();
    bucket.addToResourcePolicy(new iam.PolicyStatement({
      principals: [new iam.ArnPrincipal(Lazy.string({ produce: () => '*' }))], actions: ['s3:GetObject'], resources: [bucket.arnForObjects('*')],
    }));
    expect(() => app.synth()).toThrow(/bucket policy of Data\/Data/);
  });

  test('GIVEN the policy property WHEN assigned THEN refused: there is one policy per bucket', () => {
    const { stack, bucket } = stackWithBucket();
    expect(() => { bucket.policy = new s3.BucketPolicy(stack, 'P', { bucket: new s3.Bucket(stack, 'Other') }); }).toThrow(/`policy` of Data\/Data is the bucket's own/);
  });
});

describe('CmekAccessLogsBucket', () => {
  test('GIVEN the log-delivery flag WHEN a CmekBucket logs to it THEN SSE-S3, TLS 1.2, private, ACLs off, RETAIN, and delivery by bucket policy from that bucket only', () => {
    const app = new App({ context: { '@aws-cdk/aws-s3:serverAccessLogsUseBucketPolicy': true } });
    const stack = new Stack(app, 'Logs', { env: ENV });
    const logs = new CmekAccessLogsBucket(stack, 'AccessLogs');
    new CmekBucket(stack, 'Data', { encryptionKey: new CmekKey(stack, 'Key', { alias: 'cmek/data' }), serverAccessLogsBucket: logs, serverAccessLogsPrefix: 'data/' });
    const template = Template.fromStack(stack);
    template.hasResource('AWS::S3::Bucket', {
      Properties: {
        BucketEncryption: { ServerSideEncryptionConfiguration: [{ ServerSideEncryptionByDefault: { SSEAlgorithm: 'AES256' } }] },
        OwnershipControls: { Rules: [{ ObjectOwnership: 'BucketOwnerEnforced' }] },
        PublicAccessBlockConfiguration: { BlockPublicAcls: true, BlockPublicPolicy: true, IgnorePublicAcls: true, RestrictPublicBuckets: true },
        VersioningConfiguration: { Status: 'Enabled' },
      },
      DeletionPolicy: 'Retain',
    });
    const text = JSON.stringify(template.findResources('AWS::S3::BucketPolicy'));
    expect(text).toContain('logging.s3.amazonaws.com');
    expect(text).toContain('"s3:TlsVersion":1.2');
    expect(text).toContain('"aws:SourceArn"');
  });

  test('GIVEN no log-delivery flag WHEN constructed THEN refused with one line naming the flag', () => {
    const stack = new Stack(new App(), 'Logs', { env: ENV });
    expect(() => new CmekAccessLogsBucket(stack, 'AccessLogs')).toThrow(
      'Logs/AccessLogs needs the feature flag @aws-cdk/aws-s3:serverAccessLogsUseBucketPolicy (log delivery through the bucket policy; ACLs are off): set it to true in cdk.json\'s context, got: not set',
    );
  });
});
