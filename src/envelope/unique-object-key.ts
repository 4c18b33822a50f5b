// One EnvelopeEncryptedObject per bucket and object key in an app: two would overwrite, and delete, each other's object.
import { Token } from 'aws-cdk-lib';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { IConstruct } from 'constructs';

interface Claim {
  readonly bucket: s3.IBucket;
  readonly bucketName: string;
  readonly objectKey: string;
  readonly path: string;
}

/** The objects placed so far, per app (the root of the construct tree). */
const claims = new WeakMap<IConstruct, Claim[]>();

/**
 * Refuses a second object at the same bucket and key in one app. Two places are the same only when the keys are
 * the same literal and the bucket is the same construct or has the same concrete name (an imported bucket). A
 * token is never compared by its text: one token (a pseudo parameter such as the region) may name a different
 * key or bucket in each stack.
 */
export function claimObjectKey(scope: IConstruct, bucket: s3.IBucket, objectKey: string): void {
  if (Token.isUnresolved(objectKey)) return;
  const root = scope.node.root;
  const placed = claims.get(root) ?? [];
  const bucketName = bucket.bucketName;
  const sameBucket = (c: Claim) => c.bucket === bucket || (!Token.isUnresolved(bucketName) && c.bucketName === bucketName);
  const other = placed.find((c) => c.objectKey === objectKey && sameBucket(c));
  if (other) {
    const name = Token.isUnresolved(bucketName) ? 'the same bucket' : `bucket ${JSON.stringify(bucketName)}`;
    throw new Error(
      `\`objectKey\` must be unique per bucket: ${scope.node.path} and ${other.path} both write ${JSON.stringify(objectKey)} ` +
        `to ${name}, so each would overwrite the other's object and delete it on removal: give each a distinct \`objectKey\``,
    );
  }
  placed.push({ bucket, bucketName, objectKey, path: scope.node.path });
  claims.set(root, placed);
}
