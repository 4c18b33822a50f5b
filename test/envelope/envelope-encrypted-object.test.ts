// EnvelopeEncryptedObject: the template it synthesizes, least privilege, the singleton provider and synth-time validation.
import * as path from 'node:path';
import { App, RemovalPolicy, Stack, Validations } from 'aws-cdk-lib';
import { Annotations as StackAnnotations, Match, Template } from 'aws-cdk-lib/assertions';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as s3 from 'aws-cdk-lib/aws-s3';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { CmekBucket } from '../../src/bucket/cmek-bucket';
import { EnvelopeEncryptedObject, EnvelopeEncryptedObjectProps, EnvelopeFormat } from '../../src/envelope/envelope-encrypted-object';
import { EnvelopeSource } from '../../src/envelope/envelope-source';
import { nagApp } from '../support/nag';

const ACCOUNT = '999999999999';

function setup() {
  const app = nagApp();
  const stack = new Stack(app, 'Seed', { env: { account: ACCOUNT, region: 'eu-west-1' } });
  const key = new kms.Key(stack, 'Key', { enableKeyRotation: true });
  const bucket = new s3.Bucket(stack, 'Bucket', {
    encryption: s3.BucketEncryption.KMS,
    encryptionKey: key,
    enforceSSL: true,
    versioned: true,
    blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
    serverAccessLogsPrefix: 'logs/',
  });
  return { app, stack, key, bucket };
}

function object(stack: Stack, id: string, over: Partial<EnvelopeEncryptedObjectProps> & Pick<EnvelopeEncryptedObjectProps, 'bucket' | 'key'>) {
  return new EnvelopeEncryptedObject(stack, id, {
    objectKey: `seed/${id}.bin`,
    source: EnvelopeSource.randomBytes(32),
    encryptionContext: { app: 'billing' },
    ...over,
  });
}

describe('EnvelopeEncryptedObject', () => {
  test('GIVEN three objects in a stack WHEN synthesized THEN one handler function, one provider and three custom resources', () => {
    const { stack, key, bucket } = setup();
    for (const id of ['A', 'B', 'C']) object(stack, id, { key, bucket });
    const t = Template.fromStack(stack);
    t.resourceCountIs('Custom::CmekEnvelopeObject', 3);
    const fns = t.findResources('AWS::Lambda::Function');
    const handlers = Object.values(fns).filter((f: any) => f.Properties.Handler === 'envelope.lambda/index.handler');
    expect(handlers).toHaveLength(1);
    // The handler and the Provider framework's own function, one handler policy: nothing per object.
    expect(Object.keys(fns)).toHaveLength(2);
    expect(Object.keys(t.findResources('AWS::IAM::Policy', { Properties: { PolicyName: Match.stringLikeRegexp('^CdkCmekEnvelopeProviderPermissions') } }))).toHaveLength(1);
  });

  test('GIVEN an object WHEN synthesized THEN the custom resource carries bucket, key, format, context and source, and depends on its policy', () => {
    const { stack, key, bucket } = setup();
    object(stack, 'A', { key, bucket, format: EnvelopeFormat.V2, removalPolicy: RemovalPolicy.RETAIN, contentType: 'application/octet-stream' });
    const t = Template.fromStack(stack);
    const res = Object.values(t.findResources('Custom::CmekEnvelopeObject'))[0] as any;
    expect(res.Properties).toMatchObject({
      ObjectKey: 'seed/A.bin',
      Format: 'V2',
      EncryptionContext: { app: 'billing' },
      Source: { type: 'random', length: '32' },
      ContentType: 'application/octet-stream',
      Retain: 'true',
    });
    expect(res.Properties.KeyArn).toEqual({ 'Fn::GetAtt': [expect.stringMatching(/^Key/), 'Arn'] });
    expect(res.DependsOn).toEqual(expect.arrayContaining([expect.stringMatching(/^CdkCmekEnvelopeProviderPermissions/)]));
  });

  test('GIVEN an object WHEN synthesized THEN the handler may use the key only with the exact encryption context, on that object key only', () => {
    const { stack, key, bucket } = setup();
    object(stack, 'A', { key, bucket });
    const t = Template.fromStack(stack);
    t.hasResourceProperties('AWS::IAM::Policy', {
      PolicyName: Match.stringLikeRegexp('^CdkCmekEnvelopeProviderPermissions'),
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({
            Action: Match.arrayWith(['s3:PutObject', 's3:DeleteObjectVersion']),
            Resource: { 'Fn::Join': ['', [{ 'Fn::GetAtt': [Match.stringLikeRegexp('^Bucket'), 'Arn'] }, '/seed/A.bin']] },
          }),
          Match.objectLike({
            Action: ['kms:GenerateDataKey', 'kms:ReEncryptTo'],
            Condition: {
              'StringEquals': { 'kms:EncryptionContext:app': 'billing', 'kms:EncryptionContext:aws:x-amz-cek-alg': '115' },
              'ForAllValues:StringEquals': { 'kms:EncryptionContextKeys': ['app', 'aws:x-amz-cek-alg'] },
            },
          }),
          Match.objectLike({
            Action: ['kms:GenerateDataKey', 'kms:Decrypt'],
            Condition: { StringEquals: { 'kms:ViaService': 's3.eu-west-1.amazonaws.com' } },
          }),
        ]),
      },
    });
    // The handler role has no managed policies (no account-wide log permissions).
    const roles = t.findResources('AWS::IAM::Role', { Properties: { Description: 'cdk-cmek EnvelopeEncryptedObject handler' } });
    expect(Object.values(roles)[0]).not.toHaveProperty('Properties.ManagedPolicyArns');
  });

  test('GIVEN a secret source WHEN synthesized THEN only GetSecretValue on that secret, and the secret value is not in the template', () => {
    const { stack, key, bucket } = setup();
    const secret = secretsmanager.Secret.fromSecretNameV2(stack, 'S', 'db/password');
    object(stack, 'A', { key, bucket, source: EnvelopeSource.fromSecret(secret, { jsonField: 'password' }) });
    const t = Template.fromStack(stack);
    const res = Object.values(t.findResources('Custom::CmekEnvelopeObject'))[0] as any;
    expect(res.Properties.Source).toMatchObject({ type: 'secret', field: 'password' });
    t.hasResourceProperties('AWS::IAM::Policy', {
      PolicyDocument: { Statement: Match.arrayWith([Match.objectLike({ Action: 'secretsmanager:GetSecretValue' })]) },
    });
  });

  test('GIVEN an asset and an SSM source WHEN synthesized THEN the asset location and the parameter ARN are used', () => {
    const { stack, key, bucket } = setup();
    object(stack, 'A', { key, bucket, source: EnvelopeSource.fromAsset(path.join(__dirname, 'format.test.ts')) });
    object(stack, 'B', { key, bucket, source: EnvelopeSource.fromSsmSecureString('/app/token') });
    const t = Template.fromStack(stack);
    const sources = Object.values(t.findResources('Custom::CmekEnvelopeObject')).map((r: any) => r.Properties.Source.type);
    expect(sources.sort()).toEqual(['asset', 'ssm']);
    t.hasResourceProperties('AWS::IAM::Policy', {
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({
            Action: 'ssm:GetParameter',
            Resource: { 'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, ':ssm:eu-west-1:999999999999:parameter/app/token']] },
          }),
        ]),
      },
    });
  });

  test('GIVEN inline text WHEN synthesized THEN a warning says it lands in the template', () => {
    const { stack, key, bucket } = setup();
    object(stack, 'A', { key, bucket, source: EnvelopeSource.fromInlineText('not secret') });
    StackAnnotations.fromStack(stack).hasWarning('/Seed/A', Match.stringLikeRegexp('puts the plaintext into the CloudFormation template'));
  });

  test.each([
    ['an empty objectKey', { objectKey: '' }, '`objectKey` must be 1 to 700 bytes of UTF-8, not starting with / and without control characters, got: ""'],
    ['an objectKey starting with /', { objectKey: '/abs' }, 'got: "/abs"'],
    ['a 701-byte objectKey', { objectKey: 'x'.repeat(701) }, '`objectKey` must be 1 to 700 bytes'],
    ['an aws: context key', { encryptionContext: { 'aws:foo': 'x' } }, '`encryptionContext` key "aws:foo" is reserved'],
    ['the reserved cipher key in capitals', { encryptionContext: { 'AWS:x-amz-cek-alg': 'x' } }, 'is reserved'],
    ['a non-ASCII context value', { encryptionContext: { app: 'é' } }, '`encryptionContext` value of "app" must be 1 to 256 printable ASCII characters, got: "é"'],
    ['an empty context key', { encryptionContext: { '': 'x' } }, '`encryptionContext` keys must be 1 to 128 printable ASCII characters, got: ""'],
    ['a context too large for 2 KB of metadata', { encryptionContext: Object.fromEntries(Array.from({ length: 10 }, (_, i) => [`key${i}`, 'v'.repeat(150)])) }, 'over S3\'s 2048-byte user-metadata limit'],
  ] as const)('GIVEN %s WHEN constructing THEN one clear error', (_name, over, message) => {
    const { stack, key, bucket } = setup();
    expect(() => object(stack, 'A', { key, bucket, ...over })).toThrow(message);
  });

  test('GIVEN a random length out of range WHEN building the source THEN one clear error', () => {
    expect(() => EnvelopeSource.randomBytes(0)).toThrow('`randomBytes` length must be an integer from 1 to 65536, got: 0');
    expect(() => EnvelopeSource.randomBytes(1.5)).toThrow('got: 1.5');
  });

  test('GIVEN a stack with objects WHEN cdk-nag runs THEN no unacknowledged findings', () => {
    const { app, stack, key, bucket } = setup();
    object(stack, 'A', { key, bucket });
    object(stack, 'B', { key, bucket, source: EnvelopeSource.fromSsmSecureString('/p') });
    expect(() => app.synth()).not.toThrow();
  });

  test.each([true, false])('GIVEN useCdkManagedLogGroup %s WHEN synthesized THEN every log group of the provider carries a reasoned checkov skip for its KMS encryption', (managed) => {
    const app = new App({ context: { '@aws-cdk/aws-lambda:useCdkManagedLogGroup': managed } });
    const stack = new Stack(app, 'Seed', { env: { account: ACCOUNT, region: 'eu-west-1' } });
    const key = new kms.Key(stack, 'Key');
    const bucket = new s3.Bucket(stack, 'Bucket', { encryptionKey: key });
    object(stack, 'A', { key, bucket });
    const logGroups = Object.values(Template.fromStack(stack).findResources('AWS::Logs::LogGroup')) as any[];
    // The handler's own log group always; the framework function's too when aws-cdk-lib manages Lambda log groups.
    expect(logGroups).toHaveLength(managed ? 2 : 1);
    for (const g of logGroups) {
      expect(g.Metadata?.checkov?.skip).toEqual([{ id: 'CKV_AWS_158', comment: expect.stringContaining('CloudWatch Logs encrypts the log at rest') }]);
    }
  });

  test('GIVEN a CmekBucket and its CmekKey WHEN objects are seeded into it THEN it synthesizes cdk-nag clean with the key bound by ARN', () => {
    const app = nagApp();
    const stack = new Stack(app, 'Cmek', { env: { account: ACCOUNT, region: 'eu-west-1' } });
    const logs = new s3.Bucket(stack, 'Logs', { enforceSSL: true, blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL });
    Validations.of(logs).acknowledge({ id: 'AwsSolutions-S1', reason: 'the access-log bucket does not log to itself' });
    const data = new CmekBucket(stack, 'Data', { keyAlias: 'cmek/data', serverAccessLogsBucket: logs });
    for (const id of ['Token', 'Config']) {
      new EnvelopeEncryptedObject(stack, id, { bucket: data.bucket, key: data.key, objectKey: `seed/${id}`, source: EnvelopeSource.randomBytes(32) });
    }
    expect(() => app.synth()).not.toThrow();
    const t = Template.fromStack(stack);
    const keyId = Object.keys(t.findResources('AWS::KMS::Key'))[0];
    for (const r of Object.values(t.findResources('Custom::CmekEnvelopeObject')) as any[]) {
      expect(r.Properties.KeyArn).toEqual({ 'Fn::GetAtt': [keyId, 'Arn'] });
    }
  });
});
