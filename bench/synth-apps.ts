// The two apps the synth benchmark compares: N CmekKeys + CmekBuckets, and the same resources in plain aws-cdk-lib.
import { App, Duration, RemovalPolicy, Stack } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { Construct } from 'constructs';
import { CmekAction, CmekBucket, CmekGrantee, CmekKey } from '../src';

export type AppKind = 'cmek' | 'plain';

export const OWNER = '111111111111';
export const REGION = 'eu-west-1';
const VENDOR = '222222222222';
const READER_ROLE = 'arn:aws:iam::333333333333:role/VendorReader';
const ANALYTICS = '444444444444';

/**
 * An app with one stack of `n` keys (two grantees each, one decrypt-only with an encryption context, plus the
 * deletion guard) and `n` buckets (each under its own key, with one cross-account reader).
 *
 * The resource limit is lifted for both kinds alike: aws-cdk-lib refuses more than 500 resources per stack.
 */
export function buildApp(kind: AppKind, n: number, outdir: string): App {
  const app = new App({ outdir, context: { '@aws-cdk/core:stackResourceLimit': 0 } });
  const stack = new Stack(app, 'Bench', { env: { account: OWNER, region: REGION } });
  for (let i = 0; i < n; i++) {
    if (kind === 'cmek') addCmekPair(stack, i);
    else addPlainPair(stack, i);
  }
  return app;
}

function addCmekPair(stack: Stack, i: number): void {
  const key = new CmekKey(stack, `Key${i}`, {
    alias: `bench/key-${i}`,
    grantees: [
      CmekGrantee.account(VENDOR),
      CmekGrantee.role(READER_ROLE, {
        actions: [CmekAction.DECRYPT, CmekAction.DESCRIBE_KEY],
        encryptionContext: { tenant: `tenant-${i}` },
      }),
    ],
  });
  const bucket = new CmekBucket(stack, `Bucket${i}`, { encryptionKey: key });
  bucket.grantCrossAccountRead(CmekGrantee.account(ANALYTICS));
}

/** The five CMEK usage actions, as a key policy lists them. */
export const PLAIN_USAGE_ACTIONS = ['kms:Encrypt', 'kms:Decrypt', 'kms:ReEncrypt*', 'kms:GenerateDataKey*', 'kms:DescribeKey'];

/** The account-root statement and the deletion guard (365 days, fail closed, a 30-day minimum window, optional exempt principals) written by hand. */
export function plainRootAndGuard(owner: string, exemptPrincipalArns?: string[]): iam.PolicyStatement[] {
  return [
    new iam.PolicyStatement({
      sid: 'CmekAccountRoot',
      principals: [new iam.AccountPrincipal(owner)],
      actions: ['kms:*'],
      resources: ['*'],
    }),
    new iam.PolicyStatement({
      sid: 'CmekDeletionGuard',
      effect: iam.Effect.DENY,
      principals: [new iam.AnyPrincipal()],
      actions: ['kms:ScheduleKeyDeletion', 'kms:DisableKey'],
      resources: ['*'],
      conditions: {
        NumericLessThanEquals: { 'kms:TrailingDaysWithoutKeyUsage': '365' },
        ...(exemptPrincipalArns ? { ArnNotLike: { 'aws:PrincipalArn': exemptPrincipalArns } } : {}),
      },
    }),
    new iam.PolicyStatement({
      sid: 'CmekDeletionGuardUsageUnknown',
      effect: iam.Effect.DENY,
      principals: [new iam.AnyPrincipal()],
      actions: ['kms:ScheduleKeyDeletion', 'kms:DisableKey'],
      resources: ['*'],
      conditions: {
        Null: { 'kms:TrailingDaysWithoutKeyUsage': 'true' },
        ...(exemptPrincipalArns ? { ArnNotLike: { 'aws:PrincipalArn': exemptPrincipalArns } } : {}),
      },
    }),
    new iam.PolicyStatement({
      sid: 'CmekMinimumPendingWindow',
      effect: iam.Effect.DENY,
      principals: [new iam.AnyPrincipal()],
      actions: ['kms:ScheduleKeyDeletion'],
      resources: ['*'],
      conditions: { NumericLessThan: { 'kms:ScheduleKeyDeletionPendingWindowInDays': '30' } },
    }),
  ];
}

/** A `kms.Key` and its alias with the settings a CmekKey has by default, and the given key policy. */
export function plainKey(scope: Construct, aliasName: string, description: string, policy: iam.PolicyDocument): kms.Key {
  const key = new kms.Key(scope, 'Key', {
    description,
    keySpec: kms.KeySpec.SYMMETRIC_DEFAULT,
    keyUsage: kms.KeyUsage.ENCRYPT_DECRYPT,
    enableKeyRotation: true,
    rotationPeriod: Duration.days(365),
    pendingWindow: Duration.days(30),
    removalPolicy: RemovalPolicy.RETAIN,
    policy,
  });
  key.addAlias(aliasName);
  return key;
}

/** The same statements as `addCmekPair` renders, written out by hand, in the same construct paths. */
function addPlainPair(stack: Stack, i: number): void {
  const policy = new iam.PolicyDocument({
    statements: [
      ...plainRootAndGuard(OWNER),
      new iam.PolicyStatement({
        sid: `CmekUsageAccount${VENDOR}`,
        principals: [new iam.AccountPrincipal(VENDOR)],
        actions: PLAIN_USAGE_ACTIONS,
        resources: ['*'],
      }),
      new iam.PolicyStatement({
        sid: 'CmekUsageVendorReader',
        principals: [new iam.ArnPrincipal(READER_ROLE)],
        actions: ['kms:Decrypt'],
        resources: ['*'],
        conditions: { StringEquals: { 'kms:EncryptionContext:tenant': `tenant-${i}` } },
      }),
      new iam.PolicyStatement({
        sid: 'CmekUsageVendorReaderDescribe',
        principals: [new iam.ArnPrincipal(READER_ROLE)],
        actions: ['kms:DescribeKey'],
        resources: ['*'],
      }),
    ],
  });
  const key = plainKey(new Construct(stack, `Key${i}`), `alias/bench/key-${i}`, `Customer-managed key alias/bench/key-${i}`, policy);

  const bucket = new s3.Bucket(new Construct(stack, `Bucket${i}`), 'Bucket', {
    encryption: s3.BucketEncryption.KMS,
    encryptionKey: key,
    bucketKeyEnabled: true,
    enforceSSL: true,
    minimumTLSVersion: 1.2,
    blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
    objectOwnership: s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
    versioned: true,
    removalPolicy: RemovalPolicy.RETAIN,
  });
  const objects = bucket.arnForObjects('*');
  bucket.addToResourcePolicy(new iam.PolicyStatement({
    sid: 'DenyOtherEncryption',
    effect: iam.Effect.DENY,
    principals: [new iam.AnyPrincipal()],
    actions: ['s3:PutObject'],
    resources: [objects],
    conditions: {
      Null: { 's3:x-amz-server-side-encryption': 'false' },
      StringNotEquals: { 's3:x-amz-server-side-encryption': 'aws:kms' },
    },
  }));
  bucket.addToResourcePolicy(new iam.PolicyStatement({
    sid: 'DenyOtherKmsKey',
    effect: iam.Effect.DENY,
    principals: [new iam.AnyPrincipal()],
    actions: ['s3:PutObject'],
    resources: [objects],
    conditions: {
      Null: { 's3:x-amz-server-side-encryption-aws-kms-key-id': 'false' },
      StringNotEquals: { 's3:x-amz-server-side-encryption-aws-kms-key-id': key.keyArn },
    },
  }));
  bucket.addToResourcePolicy(new iam.PolicyStatement({
    sid: `Account${ANALYTICS}S3Read`,
    principals: [new iam.AccountPrincipal(ANALYTICS)],
    actions: ['s3:GetObject*', 's3:GetBucket*', 's3:List*'],
    resources: [bucket.bucketArn, objects],
  }));
  key.addToResourcePolicy(new iam.PolicyStatement({
    sid: `CmekUsageAccount${ANALYTICS}S3Read`,
    principals: [new iam.AccountPrincipal(ANALYTICS)],
    actions: ['kms:Decrypt'],
    resources: ['*'],
    conditions: { StringEquals: { 'kms:ViaService': [`s3.${REGION}.amazonaws.com`] } },
  }));
}
