// The handler's permissions, decided by a policy simulator: the exact context, the exact object, no direct Decrypt.
import { Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { EnvelopeEncryptedObject } from '../../src/envelope/envelope-encrypted-object';
import { EnvelopeSource } from '../../src/envelope/envelope-source';
import { resolveCfn } from '../support/cfn';
import { nagApp } from '../support/nag';
import { decide } from '../support/simulate';

const ACCOUNT = '999999999999';
const KEY_ARN = `arn:aws:kms:eu-west-1:${ACCOUNT}:key/1234abcd-12ab-34cd-56ef-1234567890ab`;
const SSE_KEY_ARN = `arn:aws:kms:eu-west-1:${ACCOUNT}:key/5555abcd-12ab-34cd-56ef-1234567890ab`;
const OTHER_KEY_ARN = `arn:aws:kms:eu-west-1:${ACCOUNT}:key/ffffffff-12ab-34cd-56ef-1234567890ab`;
const BUCKET_ARN = 'arn:aws:s3:::seed-data';
const ROLE = `arn:aws:iam::${ACCOUNT}:role/EnvelopeHandler`;

/**
 * The handler's policy as deployed, each statement given the handler role as principal: for one account,
 * the simulator then decides exactly what the identity policy allows (no other policy grants anything).
 */
function handlerPolicy(): unknown {
  const app = nagApp();
  const stack = new Stack(app, 'Seed', { env: { account: ACCOUNT, region: 'eu-west-1' } });
  const key = new kms.Key(stack, 'Key', { enableKeyRotation: true });
  const sseKey = new kms.Key(stack, 'SseKey', { enableKeyRotation: true });
  const bucket = new s3.Bucket(stack, 'Bucket', { encryptionKey: sseKey, enforceSSL: true, serverAccessLogsPrefix: 'logs/' });
  new EnvelopeEncryptedObject(stack, 'Seed', {
    bucket,
    key,
    objectKey: 'seed/token',
    source: EnvelopeSource.randomBytes(32),
    encryptionContext: { app: 'billing', env: 'prod' },
  });
  const t = Template.fromStack(stack);
  const values: Record<string, string> = {};
  for (const [id] of Object.entries(t.findResources('AWS::KMS::Key'))) values[`${id}.Arn`] = id.startsWith('Sse') ? SSE_KEY_ARN : KEY_ARN;
  for (const id of Object.keys(t.findResources('AWS::S3::Bucket'))) values[`${id}.Arn`] = BUCKET_ARN;
  for (const id of Object.keys(t.findResources('AWS::Logs::LogGroup'))) values[`${id}.Arn`] = `arn:aws:logs:eu-west-1:${ACCOUNT}:log-group:h:*`;
  const [policy] = Object.values(t.findResources('AWS::IAM::Policy')).filter((p: any) => p.Properties.PolicyName.startsWith('CdkCmekEnvelopeProviderPermissions')) as any[];
  const doc = resolveCfn(policy.Properties.PolicyDocument, { account: ACCOUNT, values });
  return { ...doc, Statement: doc.Statement.map((s: any) => ({ ...s, Principal: { AWS: ROLE } })) };
}

const CONTEXT = { 'app': 'billing', 'env': 'prod', 'aws:x-amz-cek-alg': '115' };
const kmsContext = (ctx: Record<string, string>): Record<string, string | string[]> => ({
  ...Object.fromEntries(Object.entries(ctx).map(([k, v]) => [`kms:EncryptionContext:${k}`, v])),
  'kms:EncryptionContextKeys': Object.keys(ctx),
});

describe('envelope handler policy (simulated)', () => {
  const policy = handlerPolicy();
  const kmsCall = (action: string, resource: string, context: Record<string, string | string[]>) =>
    decide({ resourcePolicy: policy, resource, principal: ROLE, action, context, identityActions: [] });
  const s3Call = (action: string, objectKey: string) =>
    decide({ resourcePolicy: policy, resource: `${BUCKET_ARN}/${objectKey}`, resourceAccount: ACCOUNT, principal: ROLE, action, identityActions: [] });

  test('GIVEN the exact encryption context WHEN GenerateDataKey and ReEncryptTo THEN allowed', async () => {
    expect(await kmsCall('kms:GenerateDataKey', KEY_ARN, kmsContext(CONTEXT))).toBe('Allowed');
    expect(await kmsCall('kms:ReEncryptTo', KEY_ARN, kmsContext(CONTEXT))).toBe('Allowed');
  });

  test.each([
    ['another value', { ...CONTEXT, app: 'payroll' }],
    ['an extra pair', { ...CONTEXT, extra: 'x' }],
    ['the V2 cipher pair', { ...CONTEXT, 'aws:x-amz-cek-alg': 'AES/GCM/NoPadding' }],
  ])('GIVEN %s in the context WHEN GenerateDataKey THEN denied', async (_name, ctx) => {
    expect(await kmsCall('kms:GenerateDataKey', KEY_ARN, kmsContext(ctx))).toBe('ImplicitlyDenied');
  });

  test('GIVEN another key or a direct Decrypt WHEN called THEN denied: the handler never unwraps data keys itself', async () => {
    expect(await kmsCall('kms:GenerateDataKey', OTHER_KEY_ARN, kmsContext(CONTEXT))).toBe('ImplicitlyDenied');
    expect(await kmsCall('kms:Decrypt', KEY_ARN, kmsContext(CONTEXT))).toBe('ImplicitlyDenied');
  });

  test('GIVEN the bucket SSE key WHEN used through S3, and directly THEN only through S3', async () => {
    expect(await kmsCall('kms:GenerateDataKey', SSE_KEY_ARN, { 'kms:ViaService': 's3.eu-west-1.amazonaws.com' })).toBe('Allowed');
    expect(await kmsCall('kms:Decrypt', SSE_KEY_ARN, {})).toBe('ImplicitlyDenied');
  });

  test('GIVEN the object key and another key WHEN writing and deleting THEN only the seeded object', async () => {
    expect(await s3Call('s3:PutObject', 'seed/token')).toBe('Allowed');
    expect(await s3Call('s3:DeleteObjectVersion', 'seed/token')).toBe('Allowed');
    expect(await s3Call('s3:PutObject', 'seed/other')).toBe('ImplicitlyDenied');
    expect(await s3Call('s3:DeleteObjectVersion', 'seed/token2')).toBe('ImplicitlyDenied');
  });
});
