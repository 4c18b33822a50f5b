// EnvelopeEncryptedObject: an S3 object written at deploy time, envelope-encrypted under a KMS key in an S3 Encryption Client format.
import * as path from 'node:path';
import { CfnDeletionPolicy, CfnResource, CustomResource, Duration, Lazy, RemovalPolicy, Stack, Token } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as s3 from 'aws-cdk-lib/aws-s3';
import * as cr from 'aws-cdk-lib/custom-resources';
import { Construct } from 'constructs';
import { ATTRIBUTES, EnvelopeProperties, REQUEST_MARKER_BYTES, sourceSpecOf } from './contract';
import { EnvelopeSource } from './envelope-source';
import {
  CEK_ALG_CONTEXT_VALUE,
  encodeMetadata,
  metadataBytes,
  RESERVED_CMK_CONTEXT_KEY,
  S3_USER_METADATA_MAX_BYTES,
  WRAPPED_KEY_BASE64_MAX_CHARS,
} from './format';
import { claimObjectKey } from './unique-object-key';
import { ENVELOPE_KEY_ACTIONS, ENVELOPE_OBJECT_ACTIONS, ENVELOPE_REKEY_FROM_ACTIONS, SSE_KMS_WRITE_THROUGH_S3_ACTIONS } from '../private/actions';
import { withPath } from '../private/errors';
import { createOwnedFunction, OwnedFunctionReasons, reasonProviderFramework } from '../private/owned-function';
import { acknowledgeNag, nagValue } from '../private/suppressions';
import { got } from '../private/validate';

/** The on-object format, as the Amazon S3 Encryption Client defines it. */
export enum EnvelopeFormat {
  /**
   * Format V3 with the key-committing suite ALG_AES_256_GCM_HKDF_SHA512_COMMIT_KEY: a ciphertext decrypts to
   * one plaintext only. Read by the S3 Encryption Client v4 (Java, Go, .NET), v3 (Ruby, PHP, C++), v3.6+ (Java).
   */
  V3 = 'V3',
  /** Format V2 with ALG_AES_256_GCM_IV12_TAG16_NO_KDF, for readers that predate V3 (S3 Encryption Client v2/v3). */
  V2 = 'V2',
}

/** Properties of an `EnvelopeEncryptedObject`. */
export interface EnvelopeEncryptedObjectProps {
  /** The bucket the object is written to (for a `CmekBucket`, its `.bucket`). */
  readonly bucket: s3.IBucket;

  /** The object key. */
  readonly objectKey: string;

  /** The KMS key that wraps the object's data key (a `CmekKey` is one). */
  readonly key: kms.IKey;

  /** The plaintext. */
  readonly source: EnvelopeSource;

  /**
   * Encryption-context pairs bound to the data key: a reader must present exactly these. Printable ASCII;
   * keys starting with `aws:` are reserved.
   *
   * @default - no pairs beyond the format's reserved `aws:x-amz-cek-alg`
   */
  readonly encryptionContext?: Record<string, string>;

  /**
   * The on-object format.
   *
   * @default EnvelopeFormat.V3
   */
  readonly format?: EnvelopeFormat;

  /**
   * The object's Content-Type.
   *
   * @default - none (S3 stores binary/octet-stream)
   */
  readonly contentType?: string;

  /**
   * What happens to the object version this resource wrote when the resource is deleted or replaced.
   *
   * `DESTROY` deletes that version only (never other versions or objects). `RETAIN`, `RETAIN_ON_UPDATE_OR_DELETE`
   * and `SNAPSHOT` leave it. A policy set later by `applyRemovalPolicy` or by an aspect (`RemovalPolicies.of()`)
   * counts too.
   *
   * @default RemovalPolicy.DESTROY
   */
  readonly removalPolicy?: RemovalPolicy;
}

/** Object keys longer than this would not fit the physical id CloudFormation keeps (1 KB). */
const OBJECT_KEY_MAX_BYTES = 700;
const PRINTABLE_ASCII = /^[\x20-\x7e]+$/;

/**
 * Writes one object at deploy time, envelope-encrypted under `key` in the Amazon S3 Encryption Client format,
 * so the official clients (and `cdk-cmek decrypt`) read it. Changing only the key re-keys the object without
 * touching its body; changing anything else writes a new version.
 */
export class EnvelopeEncryptedObject extends Construct {
  /** The object key. */
  public readonly objectKey: string;
  /** The S3 version id of the object version this resource wrote (`null` in an unversioned bucket). */
  public readonly versionId: string;
  /** The ETag of that version. */
  public readonly etag: string;
  /** The ARN of the KMS key that wraps the data key. */
  public readonly keyArn: string;
  /** SHA-256 (hex) of the stored ciphertext body. */
  public readonly ciphertextSha256: string;

  constructor(scope: Construct, id: string, props: EnvelopeEncryptedObjectProps) {
    super(scope, id);
    try {
      const format = props.format ?? EnvelopeFormat.V3;
      const context = props.encryptionContext ?? {};
      this.validateObjectKey(props.objectKey);
      this.validateEncryptionContext(context);
      this.validateMetadataSize(format, context);
      claimObjectKey(this, props.bucket, props.objectKey);

      const provider = EnvelopeProvider.of(this);
      const source = props.source.bind(this);
      const fullContext = { ...context, 'aws:x-amz-cek-alg': CEK_ALG_CONTEXT_VALUE[format] };
      provider.grant(this.statements(props, fullContext, source.statements));

      let cfn: CfnResource | undefined;
      const properties: EnvelopeProperties = {
        Bucket: props.bucket.bucketName,
        ObjectKey: props.objectKey,
        KeyArn: props.key.keyArn,
        Format: format,
        EncryptionContext: context,
        Source: sourceSpecOf(source.spec),
        ContentType: props.contentType,
        // Read once synthesis has applied every removal policy (prop, applyRemovalPolicy, aspects).
        Retain: Lazy.string({ produce: () => String(keepsData(cfn!)) }),
      };
      const resource = new CustomResource(this, 'Resource', {
        serviceToken: provider.serviceToken,
        resourceType: 'Custom::CmekEnvelopeObject',
        properties: { ...properties },
        removalPolicy: props.removalPolicy ?? RemovalPolicy.DESTROY,
      });
      cfn = resource.node.defaultChild as CfnResource;
      withoutSnapshot(cfn);
      // Permissions first, and kept until the object is gone: Delete needs them too.
      resource.node.addDependency(provider.policy);

      this.objectKey = resource.getAttString(ATTRIBUTES.objectKey);
      this.versionId = resource.getAttString(ATTRIBUTES.versionId);
      this.etag = resource.getAttString(ATTRIBUTES.etag);
      this.keyArn = resource.getAttString(ATTRIBUTES.keyArn);
      this.ciphertextSha256 = resource.getAttString(ATTRIBUTES.ciphertextSha256);
    } catch (e) {
      throw withPath(this.node.path, e);
    }
  }

  /**
   * Sets what happens to the object version this resource wrote when the resource is deleted or replaced, as
   * the `removalPolicy` prop does.
   */
  public applyRemovalPolicy(policy: RemovalPolicy): void {
    (this.node.defaultChild as CustomResource).applyRemovalPolicy(policy);
  }

  /** Least privilege: this object's key name, this key with this exact context, this source. */
  private statements(props: EnvelopeEncryptedObjectProps, context: Record<string, string>, source: iam.PolicyStatement[]): iam.PolicyStatement[] {
    const object = props.bucket.arnForObjects(props.objectKey);
    const contextConditions = {
      'StringEquals': Object.fromEntries(Object.entries(context).map(([k, v]) => [`kms:EncryptionContext:${k}`, v])),
      'ForAllValues:StringEquals': { 'kms:EncryptionContextKeys': Object.keys(context) },
    };
    const statements = [
      new iam.PolicyStatement({
        actions: [...ENVELOPE_OBJECT_ACTIONS],
        resources: [object],
      }),
      new iam.PolicyStatement({
        actions: [...ENVELOPE_KEY_ACTIONS],
        resources: [props.key.keyArn],
        conditions: contextConditions,
      }),
      // A re-key reads the wrapped data key under the previous key, whose ARN only the deployment knows.
      new iam.PolicyStatement({
        actions: [...ENVELOPE_REKEY_FROM_ACTIONS],
        resources: [Stack.of(this).formatArn({ service: 'kms', account: '*', region: '*', resource: 'key', resourceName: '*' })],
        conditions: contextConditions,
      }),
      ...source,
    ];
    if (props.bucket.encryptionKey) {
      // SSE-KMS of the bucket itself: S3 calls KMS on the handler's behalf for PutObject and CopyObject.
      statements.push(
        new iam.PolicyStatement({
          actions: [...SSE_KMS_WRITE_THROUGH_S3_ACTIONS],
          resources: [props.bucket.encryptionKey.keyArn],
          conditions: { StringEquals: { 'kms:ViaService': `s3.${Stack.of(this).region}.amazonaws.com` } },
        }),
      );
    }
    return statements;
  }

  private validateObjectKey(key: string): void {
    if (Token.isUnresolved(key)) return;
    const bytes = Buffer.byteLength(key, 'utf8');
    if (bytes === 0 || bytes > OBJECT_KEY_MAX_BYTES || key.startsWith('/') || /[\x00-\x1f\x7f]/.test(key)) {
      throw new Error(
        `\`objectKey\` must be 1 to ${OBJECT_KEY_MAX_BYTES} bytes of UTF-8, not starting with / and without control characters, got: ${got(key)}`,
      );
    }
  }

  private validateEncryptionContext(context: Record<string, string>): void {
    for (const [k, v] of Object.entries(context)) {
      if (Token.isUnresolved(k) || Token.isUnresolved(v)) continue;
      if (k.toLowerCase().startsWith('aws:') || k === RESERVED_CMK_CONTEXT_KEY) {
        throw new Error(`\`encryptionContext\` key ${got(k)} is reserved (aws: prefix, ${RESERVED_CMK_CONTEXT_KEY}): choose another key`);
      }
      if (!PRINTABLE_ASCII.test(k) || k.length > 128) {
        throw new Error(`\`encryptionContext\` keys must be 1 to 128 printable ASCII characters, got: ${got(k)}`);
      }
      if (typeof v !== 'string' || !PRINTABLE_ASCII.test(v) || v.length > 256) {
        throw new Error(`\`encryptionContext\` value of ${got(k)} must be 1 to 256 printable ASCII characters, got: ${got(v)}`);
      }
    }
  }

  /** S3 refuses user metadata over 2 KB: find that out at synth, not at deploy. */
  private validateMetadataSize(format: EnvelopeFormat, context: Record<string, string>): void {
    if (Object.entries(context).some(([k, v]) => Token.isUnresolved(k) || Token.isUnresolved(v))) return;
    const estimate = metadataBytes(encodeMetadata({
      format,
      wrappedKey: Buffer.alloc((WRAPPED_KEY_BASE64_MAX_CHARS / 4) * 3),
      context: { ...context, 'aws:x-amz-cek-alg': CEK_ALG_CONTEXT_VALUE[format] },
      nonce: Buffer.alloc(format === EnvelopeFormat.V3 ? 28 : 12),
      commitment: Buffer.alloc(28),
      plaintextLength: 2 ** 36,
    })) + REQUEST_MARKER_BYTES;
    if (estimate > S3_USER_METADATA_MAX_BYTES) {
      throw new Error(
        `\`encryptionContext\` makes the object metadata up to ${estimate} bytes, over S3's ${S3_USER_METADATA_MAX_BYTES}-byte user-metadata limit: use fewer or shorter pairs`,
      );
    }
  }
}

/**
 * Whether the object must outlive the resource: anything but a plain Delete, on stack deletion or on replacement,
 * asks to keep data (`RETAIN_ON_UPDATE_OR_DELETE` is `RetainExceptOnCreate` + `Retain`; `SNAPSHOT` has no meaning
 * for an S3 object and is taken as keep).
 */
function keepsData(cfn: CfnResource): boolean {
  const deletes = (p: CfnDeletionPolicy | undefined) => p === undefined || p === CfnDeletionPolicy.DELETE;
  return !(deletes(cfn.cfnOptions.deletionPolicy) && deletes(cfn.cfnOptions.updateReplacePolicy));
}

/**
 * CloudFormation snapshots only the resource types that support it; a custom resource does not, so `Snapshot`
 * becomes `Retain`, whichever way it was set.
 */
function withoutSnapshot(cfn: CfnResource): void {
  const retainSnapshot = (p: CfnDeletionPolicy | undefined) => (p === CfnDeletionPolicy.SNAPSHOT ? CfnDeletionPolicy.RETAIN : p);
  cfn.addOverride('DeletionPolicy', Lazy.any({ produce: () => retainSnapshot(cfn.cfnOptions.deletionPolicy) }));
  cfn.addOverride('UpdateReplacePolicy', Lazy.any({ produce: () => retainSnapshot(cfn.cfnOptions.updateReplacePolicy) }));
}

/** Why the lint findings of a deploy-time handler do not apply (the Provider framework function shares the first three). */
const HANDLER_REASONS: OwnedFunctionReasons = {
  noDeadLetterQueue: 'Invoked synchronously by CloudFormation through the Provider framework, which reports failures to the stack; a dead-letter queue would receive nothing.',
  noVpc: 'Calls only the S3, KMS, Secrets Manager and SSM public endpoints at deploy time and reaches no private resource.',
  noReservedConcurrency: 'Runs only during deployments; reserving concurrency fails to deploy in accounts at the minimum unreserved concurrency.',
  unencryptedLogs: 'The handler never logs plaintext, data keys or secrets (tested); CloudWatch Logs encrypts the log at rest.',
};

/** The one handler, policy and Provider every EnvelopeEncryptedObject of a stack shares. */
class EnvelopeProvider extends Construct {
  /** Finds the stack's provider or creates it. */
  public static of(scope: Construct): EnvelopeProvider {
    const stack = Stack.of(scope);
    const id = 'CdkCmekEnvelopeProvider';
    return (stack.node.tryFindChild(id) as EnvelopeProvider) ?? new EnvelopeProvider(stack, id);
  }

  public readonly serviceToken: string;
  public readonly policy: iam.Policy;

  private constructor(scope: Construct, id: string) {
    super(scope, id);
    const owned = createOwnedFunction(this, {
      ids: { function: 'Handler', policy: 'Permissions' },
      roleDescription: 'cdk-cmek EnvelopeEncryptedObject handler',
      description: 'cdk-cmek: writes envelope-encrypted S3 objects (S3 Encryption Client format)',
      // The asset holds the handler and, beside it, the SDK bundle it loads on first use.
      code: lambda.Code.fromAsset(path.join(__dirname, '..', '..', 'assets', 'envelope', 'runtime')),
      handler: 'envelope.lambda/index.handler',
      memorySize: 1024,
      timeout: Duration.minutes(15),
      logRetention: logs.RetentionDays.ONE_YEAR,
      logRemovalPolicy: RemovalPolicy.DESTROY,
      reasons: HANDLER_REASONS,
    });
    const fn = owned.function;
    this.policy = owned.policy;
    const provider = new cr.Provider(this, 'Provider', { onEventHandler: fn });
    this.serviceToken = provider.serviceToken;

    const partition = nagValue(Stack.of(this).partition, 'Partition');
    acknowledgeNag(this.policy, {
      id: `AwsSolutions-IAM5[Resource::arn:${partition}:kms:*:*:key/*]`,
      reason: 'kms:ReEncryptFrom must reach the previous key of a re-key, whose ARN only the deployment knows; it is bound to the exact encryption context of the objects',
    });
    reasonProviderFramework(provider, fn, HANDLER_REASONS,
      'The Provider framework logs CloudFormation requests and responses: secret sources appear by ARN or name only, inline text is in the template already; CloudWatch Logs encrypts the log at rest.');
  }

  /** Adds one object's statements to the shared policy. */
  public grant(statements: iam.PolicyStatement[]): void {
    for (const s of statements) this.policy.addStatements(s);
  }
}
