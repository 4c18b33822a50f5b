// The contract between EnvelopeEncryptedObject and its handler: resource properties, physical id, attributes.
import { FormatVersion } from './format';

/** Where the plaintext comes from, as the handler receives it. */
export interface SourceSpec {
  readonly type: 'asset' | 'secret' | 'ssm' | 'inline' | 'random';
  /** asset: the asset's bucket and key. */
  readonly bucket?: string;
  readonly key?: string;
  /** secret: name or ARN; ssm: parameter name. */
  readonly id?: string;
  /** secret: which JSON field of a SecretString to use (whole string when absent). */
  readonly field?: string;
  /** inline: the (non-secret) text. */
  readonly text?: string;
  /** random: how many bytes. */
  readonly length?: string;
}

/** ResourceProperties of the custom resource (CloudFormation passes every value as a string). */
export interface EnvelopeProperties {
  readonly Bucket: string;
  readonly ObjectKey: string;
  readonly KeyArn: string;
  readonly Format: FormatVersion;
  readonly EncryptionContext?: Record<string, string>;
  readonly Source: SourceSpec;
  readonly ContentType?: string;
  /** 'true' keeps the object when the resource is deleted or replaced. */
  readonly Retain?: string;
}

/** Attributes the resource returns (`Fn::GetAtt`). */
export const ATTRIBUTES = {
  objectKey: 'ObjectKey',
  versionId: 'VersionId',
  etag: 'ETag',
  keyArn: 'KeyArn',
  ciphertextSha256: 'CiphertextSha256',
} as const;

/** Object metadata the handler adds beside the S3 Encryption Client's, for idempotent retries. */
export const REQUEST_MARKER_KEY = 'cdk-cmek-request';
/** Bytes the request marker adds to the object's user metadata. */
export const REQUEST_MARKER_BYTES = REQUEST_MARKER_KEY.length + 32;

/** What the physical id records: exactly the object version this resource wrote. */
export interface WrittenObject {
  readonly bucket: string;
  readonly key: string;
  /** `null` in an unversioned bucket. */
  readonly versionId: string;
  readonly etag: string;
  readonly sha256: string;
  /** The request marker stored in the object's metadata: tells this write apart from a later copy with the same bytes. */
  readonly marker: string;
}

/** `s3://bucket/key?versionId=…&etag=…&sha256=…&request=…` — readable, and names the one version this resource owns. */
export function physicalId(o: WrittenObject): string {
  const q = new URLSearchParams({ versionId: o.versionId, etag: o.etag, sha256: o.sha256, request: o.marker });
  return `s3://${o.bucket}/${encodeURIComponent(o.key)}?${q.toString()}`;
}

/** The object a physical id names, or undefined when the id is not one of ours (e.g. a failed create). */
export function parsePhysicalId(id: string | undefined): WrittenObject | undefined {
  const m = /^s3:\/\/([^/]+)\/([^?]+)\?(.*)$/.exec(id ?? '');
  if (!m) return undefined;
  const q = new URLSearchParams(m[3]);
  const versionId = q.get('versionId');
  const etag = q.get('etag');
  const sha256 = q.get('sha256');
  const marker = q.get('request');
  if (!versionId || etag === null || sha256 === null || marker === null) return undefined;
  return { bucket: m[1], key: decodeURIComponent(m[2]), versionId, etag, sha256, marker };
}
