// CmekBucket's app-wide checks: one bucket policy per bucket, the one the construct writes and checks.
import { Stack, Token } from 'aws-cdk-lib';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { IConstruct } from 'constructs';

/** The CmekBuckets of each stack, by the token or literal name their policies refer to them with. */
const BUCKETS = new WeakMap<Stack, Map<string, { owner: IConstruct; bucket: s3.Bucket }>>();

/**
 * Registers `bucket` (owned by `owner`) so a second `AWS::S3::BucketPolicy` for it is refused at synth: S3 keeps one
 * policy per bucket, so another one would replace the locked-down policy, unchecked, on the next deployment.
 */
export function claimBucketPolicy(owner: IConstruct, bucket: s3.Bucket): void {
  const stack = Stack.of(owner);
  let buckets = BUCKETS.get(stack);
  if (buckets === undefined) {
    const registry = new Map<string, { owner: IConstruct; bucket: s3.Bucket }>();
    buckets = registry;
    BUCKETS.set(stack, registry);
    // One pass over the stack for all of its buckets, whatever their number.
    stack.node.addValidation({ validate: () => foreignPolicies(stack, registry) });
  }
  buckets.set(bucket.bucketName, { owner, bucket });
  const literal = (bucket.node.defaultChild as s3.CfnBucket).bucketName;
  if (literal !== undefined && !Token.isUnresolved(literal)) buckets.set(literal, { owner, bucket });
}

function foreignPolicies(stack: Stack, buckets: Map<string, { owner: IConstruct; bucket: s3.Bucket }>): string[] {
  const problems: string[] = [];
  for (const c of stack.node.findAll()) {
    if (!(c instanceof s3.CfnBucketPolicy) || Stack.of(c) !== stack) continue;
    const target = buckets.get(c.bucket);
    if (target === undefined || target.bucket.policy?.node.defaultChild === c) continue;
    problems.push(
      `bucket policy ${c.node.path} replaces the policy of ${target.owner.node.path} (S3 keeps one policy per bucket): add its statements with addToResourcePolicy on the CmekBucket instead`,
    );
  }
  return problems;
}
