// CmekBucket: secure defaults, the deny-other-encryption policy and grants that cover bucket and key.
import { RemovalPolicy, Stack, Validations } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { CmekBucket, CmekBucketProps, CmekGrantee, CmekKey } from '../../src';
import { resolveCfn } from '../support/cfn';
import { nagApp } from '../support/nag';
import { decide } from '../support/simulate';

const OWNER = '999999999999';
const VENDOR = '111122223333';
const VENDOR_ROLE = `arn:aws:iam::${VENDOR}:role/VendorApp`;
const KEY_ARN = `arn:aws:kms:eu-west-1:${OWNER}:key/1234abcd-12ab-34cd-56ef-1234567890ab`;
const BUCKET_ARN = 'arn:aws:s3:::cmek-data';

function build(props: (stack: Stack) => CmekBucketProps = () => ({ keyAlias: 'cmek/data' })) {
  const app = nagApp();
  const stack = new Stack(app, 'Data', { env: { account: OWNER, region: 'eu-west-1' } });
  const logs = new s3.Bucket(stack, 'AccessLogs', {
    encryption: s3.BucketEncryption.S3_MANAGED,
    enforceSSL: true,
    blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
  });
  s3Ack(logs);
  const bucket = new CmekBucket(stack, 'Data', { serverAccessLogsBucket: logs, ...props(stack) });
  return { stack, bucket, template: Template.fromStack(stack) };
}

function s3Ack(logs: s3.Bucket) {
  Validations.of(logs).acknowledge({ id: 'AwsSolutions-S1', reason: 'the access-log bucket does not log to itself' });
}

/** Concrete values for the bucket's and key's intrinsics, as one deployment would have them. */
function values(template: Template): Record<string, string> {
  const out: Record<string, string> = {};
  for (const id of Object.keys(template.findResources('AWS::S3::Bucket'))) {
    out[id] = id.startsWith('Data') ? 'cmek-data' : 'access-logs';
    out[`${id}.Arn`] = id.startsWith('Data') ? BUCKET_ARN : 'arn:aws:s3:::access-logs';
  }
  for (const id of Object.keys(template.findResources('AWS::KMS::Key'))) out[`${id}.Arn`] = KEY_ARN;
  return out;
}

function policies(template: Template) {
  const v = values(template);
  const [key] = Object.values(template.findResources('AWS::KMS::Key'));
  const bucketPolicies = Object.values(template.findResources('AWS::S3::BucketPolicy'))
    .filter((p: any) => JSON.stringify(p.Properties.Bucket).includes('DataBucket'));
  return {
    keyPolicy: resolveCfn(key.Properties.KeyPolicy, { account: OWNER, values: v }),
    bucketPolicy: resolveCfn(bucketPolicies[0].Properties.PolicyDocument, { account: OWNER, values: v }),
  };
}

describe('CmekBucket', () => {
  test('GIVEN a key alias WHEN synthesized THEN the bucket is SSE-KMS with a bucket key, versioned, owner-enforced, private and RETAIN', () => {
    const { template } = build();
    template.hasResource('AWS::S3::Bucket', {
      Properties: {
        BucketEncryption: {
          ServerSideEncryptionConfiguration: [{
            BucketKeyEnabled: true,
            ServerSideEncryptionByDefault: { SSEAlgorithm: 'aws:kms', KMSMasterKeyID: { 'Fn::GetAtt': [Match.stringLikeRegexp('^DataKey'), 'Arn'] } },
          }],
        },
        VersioningConfiguration: { Status: 'Enabled' },
        OwnershipControls: { Rules: [{ ObjectOwnership: 'BucketOwnerEnforced' }] },
        PublicAccessBlockConfiguration: { BlockPublicAcls: true, BlockPublicPolicy: true, IgnorePublicAcls: true, RestrictPublicBuckets: true },
        LoggingConfiguration: { DestinationBucketName: { Ref: Match.stringLikeRegexp('^AccessLogs') } },
      },
      DeletionPolicy: 'Retain',
    });
    template.resourceCountIs('AWS::KMS::Key', 1);
    template.hasResourceProperties('AWS::KMS::Alias', { AliasName: 'alias/cmek/data' });
  });

  test('GIVEN the bucket policy WHEN synthesized THEN it denies plain HTTP, TLS below 1.2, and uploads with another encryption or key', () => {
    const { template } = build();
    const { bucketPolicy } = policies(template);
    const sids = bucketPolicy.Statement.map((s: any) => s.Sid ?? JSON.stringify(s.Condition));
    expect(sids).toEqual(expect.arrayContaining(['DenyOtherEncryption', 'DenyOtherKmsKey']));
    expect(JSON.stringify(bucketPolicy)).toContain('"aws:SecureTransport":"false"');
    expect(JSON.stringify(bucketPolicy)).toContain('"s3:TlsVersion":1.2');
  });

  test.each([
    ['no encryption header (bucket default applies)', {}, 'Allowed'],
    ['SSE-KMS with the bucket key', { 's3:x-amz-server-side-encryption': 'aws:kms', 's3:x-amz-server-side-encryption-aws-kms-key-id': KEY_ARN }, 'Allowed'],
    ['SSE-S3', { 's3:x-amz-server-side-encryption': 'AES256' }, 'ExplicitlyDenied'],
    ['SSE-KMS with another key', { 's3:x-amz-server-side-encryption': 'aws:kms', 's3:x-amz-server-side-encryption-aws-kms-key-id': KEY_ARN.replace('1234abcd', 'ffffffff') }, 'ExplicitlyDenied'],
  ])('GIVEN an upload by a same-account writer with %s WHEN simulated THEN %s', async (_name, extra, expected) => {
    const { bucketPolicy } = policies(build().template);
    const writer = `arn:aws:iam::${OWNER}:role/Writer`;
    const result = await decide({
      resourcePolicy: bucketPolicy,
      resource: `${BUCKET_ARN}/reports/q1.csv`,
      resourceAccount: OWNER,
      principal: writer,
      action: 's3:PutObject',
      context: { 'aws:SecureTransport': 'true', 's3:TlsVersion': '1.3', ...extra },
      identityActions: ['s3:PutObject'],
    });
    expect(result).toBe(expected);
  });

  test('GIVEN grantRead to a vendor account WHEN synthesized THEN both the bucket policy and the key policy carry it', () => {
    const { template } = build((stack) => ({ encryptionKey: new CmekKey(stack, 'DataKey', { alias: 'cmek/data' }) }));
    const app = nagApp();
    const stack = new Stack(app, 'Granted', { env: { account: OWNER, region: 'eu-west-1' } });
    const bucket = new CmekBucket(stack, 'Data', { keyAlias: 'cmek/data', bucketName: 'cmek-data' });
    s3AckBucket(bucket);
    bucket.grantCrossAccountRead(CmekGrantee.account(VENDOR, { name: 'acme' }));
    const granted = Template.fromStack(stack);
    expect(JSON.stringify(template.toJSON())).not.toContain('AcmeS3Read');
    const { bucketPolicy, keyPolicy } = policies(granted);
    expect(bucketPolicy.Statement.find((s: any) => s.Sid === 'AcmeS3Read')).toMatchObject({
      Effect: 'Allow',
      Principal: { AWS: `arn:aws:iam::${VENDOR}:root` },
      Action: ['s3:GetObject*', 's3:GetBucket*', 's3:List*'],
    });
    expect(keyPolicy.Statement.find((s: any) => s.Sid === 'CmekUsageAcmeS3Read')).toMatchObject({
      Action: 'kms:Decrypt',
      Condition: { StringEquals: { 'kms:ViaService': ['s3.eu-west-1.amazonaws.com'], 'kms:EncryptionContext:aws:s3:arn': BUCKET_ARN } },
    });
  });

  test('GIVEN grantRead to a vendor WHEN S3 decrypts for it, and when it calls KMS directly THEN only the S3 path is allowed', async () => {
    const app = nagApp();
    const stack = new Stack(app, 'Granted', { env: { account: OWNER, region: 'eu-west-1' } });
    const bucket = new CmekBucket(stack, 'Data', { keyAlias: 'cmek/data', bucketName: 'cmek-data' });
    bucket.grantCrossAccountRead(CmekGrantee.account(VENDOR, { name: 'acme' }));
    s3AckBucket(bucket);
    const { keyPolicy, bucketPolicy } = policies(Template.fromStack(stack));
    const viaS3 = { 'kms:ViaService': 's3.eu-west-1.amazonaws.com', 'kms:EncryptionContext:aws:s3:arn': BUCKET_ARN, 'kms:EncryptionContextKeys': ['aws:s3:arn'] };
    const kmsCall = (action: string, context: Record<string, string | string[]>) =>
      decide({ resourcePolicy: keyPolicy, resource: KEY_ARN, principal: VENDOR_ROLE, action, context });
    expect(await kmsCall('kms:Decrypt', viaS3)).toBe('Allowed');
    expect(await kmsCall('kms:Decrypt', {})).toBe('ImplicitlyDenied');
    expect(await kmsCall('kms:Decrypt', { ...viaS3, 'kms:EncryptionContext:aws:s3:arn': 'arn:aws:s3:::other' })).toBe('ImplicitlyDenied');
    expect(await kmsCall('kms:GenerateDataKey', viaS3)).toBe('ImplicitlyDenied');
    const s3Call = (action: string) => decide({
      resourcePolicy: bucketPolicy,
      resource: `${BUCKET_ARN}/a.csv`,
      resourceAccount: OWNER,
      principal: VENDOR_ROLE,
      action,
      context: { 'aws:SecureTransport': 'true', 's3:TlsVersion': '1.3' },
      identityActions: ['s3:*'],
    });
    expect(await s3Call('s3:GetObject')).toBe('Allowed');
    expect(await s3Call('s3:PutObject')).not.toBe('Allowed');
  });

  test('GIVEN grantReadWrite WHEN synthesized THEN the key statement allows what SSE-KMS writes need, through S3 only', () => {
    const app = nagApp();
    const stack = new Stack(app, 'Rw', { env: { account: OWNER, region: 'eu-west-1' } });
    const bucket = new CmekBucket(stack, 'Data', { keyAlias: 'cmek/data' });
    bucket.grantCrossAccountReadWrite(CmekGrantee.role(VENDOR_ROLE));
    s3AckBucket(bucket);
    const { keyPolicy, bucketPolicy } = policies(Template.fromStack(stack));
    const statement = keyPolicy.Statement.find((s: any) => s.Sid === 'CmekUsageVendorAppS3ReadWrite');
    expect(statement.Action).toEqual(['kms:Encrypt', 'kms:Decrypt', 'kms:GenerateDataKey*']);
    // A generated bucket name cannot appear in the key policy (key and bucket would depend on each other).
    expect(statement.Condition).toEqual({ StringEquals: { 'kms:ViaService': ['s3.eu-west-1.amazonaws.com'] } });
    expect(bucketPolicy.Statement.find((s: any) => s.Sid === 'VendorAppS3ReadWrite').Action).toEqual(expect.arrayContaining(['s3:PutObject', 's3:GetObject*']));
  });

  test('GIVEN versioned false and DESTROY WHEN synthesized THEN the explicit opt-outs reach the template', () => {
    const app = nagApp();
    const stack = new Stack(app, 'OptOut');
    const bucket = new CmekBucket(stack, 'Data', {
      encryptionKey: new CmekKey(stack, 'Key', { alias: 'cmek/tmp', deletionGuard: { enabled: false } }),
      versioned: false,
      removalPolicy: RemovalPolicy.DESTROY,
      bucketName: 'cmek-scratch',
    });
    s3AckBucket(bucket);
    Template.fromStack(stack).hasResource('AWS::S3::Bucket', {
      Properties: { BucketName: 'cmek-scratch', VersioningConfiguration: Match.absent() },
      DeletionPolicy: 'Delete',
    });
  });

  test.each([
    ['neither key nor alias', {}, /`keyAlias` is required when `encryptionKey` is not given/],
    ['both key and alias', 'both', /`keyAlias` applies only to a key the bucket creates/],
    ['an invalid alias', { keyAlias: 'alias/aws/s3' }, /`alias` must not start with alias\/aws\//],
  ])('GIVEN %s WHEN constructed THEN a clear error', (_name, props, message) => {
    const stack = new Stack(nagApp(), 'Bad');
    const p = props === 'both' ? { keyAlias: 'x', encryptionKey: new CmekKey(stack, 'K', { alias: 'k' }) } : props;
    expect(() => new CmekBucket(stack, 'B', p as CmekBucketProps)).toThrow(message);
  });
});

function s3AckBucket(bucket: CmekBucket) {
  Validations.of(bucket.bucket).acknowledge({ id: 'AwsSolutions-S1', reason: 'this test is about grants; access logging is covered elsewhere' });
}
