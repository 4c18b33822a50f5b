// CmekAccessLogsBucket: the bucket S3 server access logs go to, locked down as far as log delivery allows.
import { FeatureFlags, RemovalPolicy } from 'aws-cdk-lib';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { Construct } from 'constructs';
import { acknowledgeNag, skipCheckov } from '../private/suppressions';

/** The aws-cdk-lib feature flag that delivers access logs through the bucket policy instead of an ACL. */
const LOG_DELIVERY_BY_POLICY = '@aws-cdk/aws-s3:serverAccessLogsUseBucketPolicy';

/**
 * Properties of a `CmekAccessLogsBucket`.
 */
export interface CmekAccessLogsBucketProps {
  /**
   * The bucket's physical name.
   *
   * @default - a name CloudFormation generates
   */
  readonly bucketName?: string;

  /**
   * Lifecycle rules for the log objects, for example an expiration.
   *
   * @default - logs are kept
   */
  readonly lifecycleRules?: s3.LifecycleRule[];

  /**
   * What happens to the bucket when it leaves the stack.
   *
   * @default RemovalPolicy.RETAIN
   */
  readonly removalPolicy?: RemovalPolicy;
}

/**
 * The bucket that receives a `CmekBucket`'s server access logs (`serverAccessLogsBucket`). S3 delivers access
 * logs only to a bucket encrypted with SSE-S3, so it cannot be a CMEK bucket; it is otherwise locked down:
 * TLS only, all public access blocked, ACLs off, versioned, retained. Log delivery is granted by the bucket
 * policy to `logging.s3.amazonaws.com` for each source bucket, which needs the aws-cdk-lib feature flag
 * `@aws-cdk/aws-s3:serverAccessLogsUseBucketPolicy` (set by `cdk init`).
 */
export class CmekAccessLogsBucket extends s3.Bucket {
  constructor(scope: Construct, id: string, props: CmekAccessLogsBucketProps = {}) {
    super(scope, id, {
      bucketName: props.bucketName,
      encryption: s3.BucketEncryption.S3_MANAGED,
      enforceSSL: true,
      minimumTLSVersion: 1.2,
      blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
      objectOwnership: s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
      versioned: true,
      lifecycleRules: props.lifecycleRules,
      removalPolicy: props.removalPolicy ?? RemovalPolicy.RETAIN,
    });
    if (!FeatureFlags.of(this).isEnabled(LOG_DELIVERY_BY_POLICY)) {
      // Without it, aws-cdk-lib would grant log delivery with an ACL, which a bucket with ACLs off refuses.
      throw new Error(
        `${this.node.path} needs the feature flag ${LOG_DELIVERY_BY_POLICY} (log delivery through the bucket policy; ACLs are off): set it to true in cdk.json's context, got: not set`,
      );
    }
    const noSelfLogging = 'This is the server-access-log bucket; logging it into itself would loop';
    acknowledgeNag(this, { id: 'AwsSolutions-S1', reason: noSelfLogging });
    skipCheckov(this, [{ id: 'CKV_AWS_18', reason: noSelfLogging }]);
  }
}
