// CmekBucket: an S3 bucket encrypted with a CMEK key and locked down, with grants that cover both bucket and key.
import { Annotations, RemovalPolicy, Stack, Token } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { Construct } from 'constructs';
import { claimBucketPolicy } from './bucket-checks';
import { CmekKey } from '../key/cmek-key';
import { bindGrantee, CmekGrantee } from '../key/grantee';
import { bucketPolicyStatement, identityStatement, keyPolicyStatements } from '../key/grantee-statements';
import { BUCKET_READ_ACTIONS, BUCKET_WRITE_ACTIONS, CmekAction, SSE_KMS_READ_ACTIONS, SSE_KMS_WRITE_ACTIONS } from '../private/actions';
import { withPath } from '../private/errors';
import { policyProblems } from '../private/policy-check';
import { ResolvedOnce } from '../private/resolved-once';

/**
 * Properties of a `CmekBucket`.
 */
export interface CmekBucketProps {
  /**
   * The key that encrypts the bucket (SSE-KMS, with an S3 Bucket Key): a `CmekKey`, or a key imported by
   * ARN, whose owner then adds the key-policy statements grants need (each grant warns with the statement).
   *
   * @default - a new `CmekKey` with alias `keyAlias` and default settings
   */
  readonly encryptionKey?: kms.IKey;

  /**
   * The alias of the key created when `encryptionKey` is not given.
   *
   * @default - required when `encryptionKey` is not given
   */
  readonly keyAlias?: string;

  /**
   * The bucket's physical name.
   *
   * @default - a name CloudFormation generates
   */
  readonly bucketName?: string;

  /**
   * Whether object versioning is on: an overwritten or deleted object stays recoverable.
   *
   * @default true
   */
  readonly versioned?: boolean;

  /**
   * The bucket that receives server access logs. S3 delivers access logs only to a bucket encrypted with
   * SSE-S3, so this is usually a separate, central log bucket.
   *
   * @default - no server access logs
   */
  readonly serverAccessLogsBucket?: s3.IBucket;

  /**
   * The prefix of server access log objects.
   *
   * @default - no prefix
   */
  readonly serverAccessLogsPrefix?: string;

  /**
   * Lifecycle rules for the bucket's objects.
   *
   * @default - none
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
 * An S3 bucket encrypted with a CMEK key, locked down by default: SSE-KMS under the key with an S3 Bucket
 * Key, TLS 1.2 or newer only, all public access blocked, versioning, ACLs off (`BucketOwnerEnforced`), and
 * a bucket policy that refuses uploads asking for another encryption or another key.
 *
 * It is an `s3.IBucket`: `grantRead`, `grantReadWrite` and the other grants keep aws-cdk-lib's contract
 * (`IGrantable` → `iam.Grant`, on the bucket and its key). `grantCrossAccountRead` and
 * `grantCrossAccountReadWrite` take a `CmekGrantee` and write both sides another account's reader needs: the
 * bucket policy and a key-policy statement limited to use through S3 — and, when `bucketName` is given, to
 * this bucket's encryption context.
 */
export class CmekBucket extends s3.BucketBase {
  /** The underlying bucket. */
  public readonly bucket: s3.Bucket;

  /** The key that encrypts the bucket. */
  public readonly key: kms.IKey;

  /** The key that encrypts the bucket (the same as `key`), as `s3.IBucket` names it. */
  public readonly encryptionKey?: kms.IKey;

  /** The key that encrypts the bucket when it is a `CmekKey` of this app, whose policy grants then extend. */
  public readonly cmekKey?: CmekKey;

  public readonly isWebsite?: boolean = false;
  public replicationRoleArn?: string;
  public disallowPublicAccess?: boolean = true;
  /** The bucket's own policy is the inner bucket's: statements go there, so there is one policy per bucket. */
  protected autoCreatePolicy = false;

  private readonly bucketNameProp?: string;

  constructor(scope: Construct, id: string, props: CmekBucketProps = {}) {
    super(scope, id, { physicalName: props.bucketName });
    try {
      this.bucketNameProp = props.bucketName;
      this.key = this.resolveKey(props);
      this.encryptionKey = this.key;
      this.cmekKey = this.key instanceof CmekKey ? this.key : undefined;
      this.bucket = new s3.Bucket(this, 'Bucket', {
        bucketName: props.bucketName,
        encryption: s3.BucketEncryption.KMS,
        encryptionKey: this.key,
        bucketKeyEnabled: true,
        enforceSSL: true,
        minimumTLSVersion: 1.2,
        blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
        objectOwnership: s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
        versioned: props.versioned ?? true,
        serverAccessLogsBucket: props.serverAccessLogsBucket,
        serverAccessLogsPrefix: props.serverAccessLogsPrefix,
        lifecycleRules: props.lifecycleRules,
        removalPolicy: props.removalPolicy ?? RemovalPolicy.RETAIN,
      });
      this.denyOtherEncryption();
      claimBucketPolicy(this, this.bucket);
      // denyOtherEncryption created the policy; the check resolves it as the template will hold it (a Lazy principal
      // is checked for what it produces), and the template reuses that resolution.
      const cfnPolicy = this.bucket.policy!.node.defaultChild as s3.CfnBucketPolicy;
      const resolvedPolicy = ResolvedOnce.of(cfnPolicy.policyDocument, `the bucket policy of ${this.node.path}`);
      cfnPolicy.policyDocument = resolvedPolicy;
      this.node.addValidation({
        validate: () => {
          const resolved = resolvedPolicy.checkAndKeep(() => Stack.of(this).resolve(resolvedPolicy));
          return policyProblems(resolved, `bucket policy of ${this.node.path}`, 'bucket');
        },
      });
    } catch (e) {
      throw withPath(this.node.path, e);
    }
  }

  // The inner bucket's attributes, read when asked: each one builds its own tokens, and most apps read two of them.
  public get bucketName(): string {
    return this.bucket.bucketName;
  }

  public get bucketArn(): string {
    return this.bucket.bucketArn;
  }

  public get bucketDomainName(): string {
    return this.bucket.bucketDomainName;
  }

  public get bucketWebsiteUrl(): string {
    return this.bucket.bucketWebsiteUrl;
  }

  public get bucketWebsiteDomainName(): string {
    return this.bucket.bucketWebsiteDomainName;
  }

  public get bucketRegionalDomainName(): string {
    return this.bucket.bucketRegionalDomainName;
  }

  public get bucketDualStackDomainName(): string {
    return this.bucket.bucketDualStackDomainName;
  }

  /** The bucket policy (the underlying bucket's): every statement added through this bucket lands in it. */
  public get policy(): s3.BucketPolicy | undefined {
    return this.bucket.policy;
  }

  public set policy(_policy: s3.BucketPolicy | undefined) {
    throw new Error(`\`policy\` of ${this.node.path} is the bucket's own: add statements with addToResourcePolicy instead of replacing it`);
  }

  /** Adds a statement to the bucket policy; the final-policy check at synth reads it like every other. */
  public addToResourcePolicy(permission: iam.PolicyStatement): iam.AddToResourcePolicyResult {
    return this.bucket.addToResourcePolicy(permission);
  }

  public addEventNotification(event: s3.EventType, dest: s3.IBucketNotificationDestination, ...filters: s3.NotificationKeyFilter[]): void {
    this.bucket.addEventNotification(event, dest, ...filters);
  }

  public enableEventBridgeNotification(): void {
    this.bucket.enableEventBridgeNotification();
  }

  /**
   * Lets a grantee in another account read objects: bucket-policy read access, and `kms:Decrypt` through S3
   * for this bucket in the key policy.
   */
  public grantCrossAccountRead(grantee: CmekGrantee): void {
    this.grantBoth(grantee, 'S3Read', BUCKET_READ_ACTIONS, SSE_KMS_READ_ACTIONS);
  }

  /**
   * Lets a grantee in another account read and write objects: bucket-policy read/write access, and the key
   * use S3 needs for SSE-KMS (Encrypt, Decrypt, GenerateDataKey*) through S3 for this bucket.
   */
  public grantCrossAccountReadWrite(grantee: CmekGrantee): void {
    this.grantBoth(grantee, 'S3ReadWrite', [...BUCKET_READ_ACTIONS, ...BUCKET_WRITE_ACTIONS], SSE_KMS_WRITE_ACTIONS);
  }

  private grantBoth(grantee: CmekGrantee, suffix: string, bucketActions: readonly string[], keyActions: readonly CmekAction[]): void {
    const resources = [this.bucket.bucketArn, this.bucket.arnForObjects('*')];
    const bound = bindGrantee(grantee, this);
    this.bucket.addToResourcePolicy(bucketPolicyStatement(bound, `${grantee.name}${suffix}`, bucketActions, resources));
    const identity = identityStatement(bound, 'bucket', resources, bucketActions);
    if (identity) bound.identityPrincipal?.addToPrincipalPolicy(identity);
    // With an S3 Bucket Key, S3 calls KMS with the bucket ARN as encryption context. The key policy can
    // name that ARN only when the bucket name is fixed: a generated name would make key and bucket
    // depend on each other.
    const name = this.bucketNameProp;
    const encryptionContext = name !== undefined && !Token.isUnresolved(name)
      ? { 'aws:s3:arn': `arn:${Stack.of(this).partition}:s3:::${name}` }
      : undefined;
    const keyGrantee = grantee.withOptions({
      name: `${grantee.name}${suffix}`,
      actions: [...keyActions],
      viaServices: [`s3.${Stack.of(this).region}.amazonaws.com`],
      encryptionContext,
      requireEncryptionContextKeys: undefined,
    });
    if (this.cmekKey) {
      this.cmekKey.addGrantee(keyGrantee);
      return;
    }
    // A key this app does not own: its policy is its owner's to change, so say exactly what to add.
    const statements = keyPolicyStatements(bindGrantee(keyGrantee, this))
      .map((s) => JSON.stringify(readable(Stack.of(this).resolve(s.toStatementJson()))));
    Annotations.of(this).addWarningV2(
      'cdk-cmek:imported-key-grant',
      `the key of ${this.node.path} is imported, so ${grantee.name}${suffix} is granted on the bucket side only: the key's owner must add this key-policy statement (key ${this.key.keyArn}): ${statements.join(', ')}`,
    );
  }

  private resolveKey(props: CmekBucketProps): kms.IKey {
    if (props.encryptionKey && props.keyAlias !== undefined) {
      throw new Error(`\`keyAlias\` applies only to a key the bucket creates: give \`encryptionKey\` or \`keyAlias\`, not both, got: ${JSON.stringify(props.keyAlias)} with an encryptionKey`);
    }
    if (props.encryptionKey) return props.encryptionKey;
    if (props.keyAlias === undefined) {
      throw new Error('`keyAlias` is required when `encryptionKey` is not given, got: neither');
    }
    return new CmekKey(this, 'Key', { alias: props.keyAlias });
  }

  /**
   * Refuses uploads that ask for another encryption type or another key; uploads that ask for none get the
   * default. `Null: false` limits each denial to requests that carry the header: a negated operator alone
   * (with or without `IfExists`) also matches a request without it.
   */
  private denyOtherEncryption(): void {
    const objects = this.bucket.arnForObjects('*');
    this.denyUploadsNaming(objects, 'DenyOtherEncryption', 's3:x-amz-server-side-encryption', 'aws:kms');
    this.denyUploadsNaming(objects, 'DenyOtherKmsKey', 's3:x-amz-server-side-encryption-aws-kms-key-id', this.key.keyArn);
  }

  /** Denies uploads to `objects` whose `header` names anything but `allowed`; uploads without the header are left alone. */
  private denyUploadsNaming(objects: string, sid: string, header: string, allowed: string): void {
    this.bucket.addToResourcePolicy(new iam.PolicyStatement({
      sid,
      effect: iam.Effect.DENY,
      principals: [new iam.AnyPrincipal()],
      actions: ['s3:PutObject'],
      resources: [objects],
      conditions: { Null: { [header]: 'false' }, StringNotEquals: { [header]: allowed } },
    }));
  }

}

/** A resolved value as text a person can copy: joins joined, references written `${Name}` as in `Fn::Sub`. */
function readable(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(readable);
  if (v === null || typeof v !== 'object') return v;
  const o = v as Record<string, unknown>;
  if (typeof o.Ref === 'string') return `\${${o.Ref}}`;
  const join = o['Fn::Join'];
  if (Array.isArray(join) && Array.isArray(join[1])) return (join[1] as unknown[]).map((p) => String(readable(p))).join(String(join[0]));
  return Object.fromEntries(Object.entries(o).map(([k, x]) => [k, readable(x)]));
}
