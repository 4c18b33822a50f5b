// The example platform stack: a CMEK key and an encrypted bucket handed to a vendor, as a platform team writes it.
import { Stack, StackProps, Validations } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { Construct } from 'constructs';
import { CmekAction, CmekBucket, CmekGrantee, CmekKey } from '../src';

/** The vendor's AWS account: it processes our data with our key. */
const VENDOR_ACCOUNT = '111122223333';

/** The platform account's key, its encrypted data bucket, and the vendor's access to both. */
export class CmekPlatformStack extends Stack {
  public readonly key: CmekKey;
  public readonly data: CmekBucket;

  constructor(scope: Construct, id: string, props?: StackProps) {
    super(scope, id, props);

    // Break-glass: the only principal that can delete or disable the key while it is in use.
    const breakGlass = new iam.Role(this, 'KeyBreakGlass', {
      roleName: 'cmek-key-break-glass',
      assumedBy: new iam.AccountRootPrincipal().withConditions({ Bool: { 'aws:MultiFactorAuthPresent': 'true' } }),
      description: 'Assumed with MFA to schedule deletion of, or disable, a CMEK key still in use',
    });

    this.key = new CmekKey(this, 'VendorKey', {
      alias: 'cmek/acme-analytics',
      description: 'Acme Analytics processes the platform data lake with this key',
      grantees: [
        // The vendor encrypts and decrypts only through S3 in this region.
        CmekGrantee.account(VENDOR_ACCOUNT, { name: 'acme', viaServices: [`s3.${this.region}.amazonaws.com`] }),
        // The vendor's audit role may only read.
        CmekGrantee.role(`arn:aws:iam::${VENDOR_ACCOUNT}:role/acme-audit`, { actions: [CmekAction.DECRYPT, CmekAction.DESCRIBE_KEY] }),
      ],
      deletionGuard: {
        minDaysUnused: 365,
        exemptPrincipalArns: [breakGlass.roleArn],
      },
    });

    // S3 delivers server access logs only to an SSE-S3 bucket.
    const accessLogs = new s3.Bucket(this, 'AccessLogs', {
      encryption: s3.BucketEncryption.S3_MANAGED,
      enforceSSL: true,
      blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
      objectOwnership: s3.ObjectOwnership.BUCKET_OWNER_PREFERRED,
      versioned: true,
    });
    Validations.of(accessLogs).acknowledge({
      id: 'AwsSolutions::AwsSolutions-S1',
      reason: 'This is the server-access-log bucket; logging it into itself would loop',
    });

    this.data = new CmekBucket(this, 'DataLake', {
      encryptionKey: this.key,
      serverAccessLogsBucket: accessLogs,
      serverAccessLogsPrefix: 'data-lake/',
    });
    this.data.grantRead(CmekGrantee.account(VENDOR_ACCOUNT, { name: 'acme' }));
  }
}
