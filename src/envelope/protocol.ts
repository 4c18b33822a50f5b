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

/** A malformed resource property: the one line CloudFormation shows as the reason. */
export class EnvelopePropertiesError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'EnvelopePropertiesError';
  }
}

/** The formats the handler writes; anything else is refused, never defaulted. */
export const FORMATS: readonly FormatVersion[] = ['V3', 'V2'];
/** Source kinds the handler reads. */
export const SOURCE_TYPES: readonly SourceSpec['type'][] = ['asset', 'secret', 'ssm', 'inline', 'random'];
/** Object keys longer than this would not fit the physical id CloudFormation keeps (1 KB). */
export const OBJECT_KEY_MAX_BYTES = 700;
/** The largest random source: a key or token, not bulk data. */
export const RANDOM_SOURCE_MAX_BYTES = 65536;
/** Encryption-context pairs: printable ASCII, as S3 stores user metadata without re-encoding it. */
export const CONTEXT_KEY_MAX_CHARS = 128;
export const CONTEXT_VALUE_MAX_CHARS = 256;

const BUCKET_NAME = /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/;
const PRINTABLE_ASCII = /^[\x20-\x7e]+$/;
const CONTROL_CHARS = /[\x00-\x1f\x7f]/;
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;
const KMS_KEY_REF = new RegExp(
  '^(?:arn:aws[a-z-]*:kms:[a-z0-9-]+:\\d{12}:(?:key/[a-zA-Z0-9-]+|alias/[a-zA-Z0-9/_-]+)' +
  '|alias/[a-zA-Z0-9/_-]+' +
  '|[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}|mrk-[0-9a-f]{32})$',
);
const SSM_NAME = /^[a-zA-Z0-9_.\-/]{1,2048}$/;

/** A received value for an error line: quoted, shortened, and `nothing` when absent. */
function shown(value: unknown): string {
  if (value === undefined) return 'nothing';
  const s = typeof value === 'string' ? JSON.stringify(value) : typeof value === 'object' ? JSON.stringify(value) ?? String(value) : String(value);
  return s.length > 120 ? `${s.slice(0, 120)}…` : s;
}

function fail(field: string, allowed: string, value: unknown): never {
  throw new EnvelopePropertiesError(`\`${field}\` must be ${allowed}, got: ${shown(value)}`);
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function bucketName(field: string, v: unknown): string {
  if (typeof v !== 'string' || !BUCKET_NAME.test(v) || v.includes('..') || /^\d+\.\d+\.\d+\.\d+$/.test(v)) {
    fail(field, 'an S3 bucket name (3 to 63 lowercase letters, digits, single dots and hyphens, not an IP address)', v);
  }
  return v;
}

function optionalString(field: string, v: unknown, allowed: string, ok: (s: string) => boolean): void {
  if (v !== undefined && (typeof v !== 'string' || !ok(v))) fail(field, allowed, v);
}

function parseSource(v: unknown): SourceSpec {
  if (!isRecord(v)) fail('Source', `an object with a \`type\` (${SOURCE_TYPES.join(', ')})`, v);
  const type = v.type;
  if (typeof type !== 'string' || !(SOURCE_TYPES as readonly string[]).includes(type)) fail('Source.type', `one of ${SOURCE_TYPES.join(', ')}`, type);
  switch (type as SourceSpec['type']) {
    case 'asset':
      bucketName('Source.bucket', v.bucket);
      if (typeof v.key !== 'string' || v.key === '' || Buffer.byteLength(v.key) > 1024) fail('Source.key', 'an S3 object key of 1 to 1024 bytes', v.key);
      break;
    case 'secret':
      if (typeof v.id !== 'string' || v.id.trim() === '' || v.id.length > 2048) fail('Source.id', 'a secret name or ARN', v.id);
      optionalString('Source.field', v.field, 'a non-empty JSON field name', (s) => s !== '');
      break;
    case 'ssm':
      if (typeof v.id !== 'string' || !SSM_NAME.test(v.id)) fail('Source.id', 'an SSM parameter name (letters, digits, _ . - /)', v.id);
      break;
    case 'inline':
      if (typeof v.text !== 'string' || LONE_SURROGATE.test(v.text)) fail('Source.text', 'a string of well-formed text', typeof v.text === 'string' ? '<malformed UTF-16>' : v.text);
      break;
    case 'random': {
      const n = typeof v.length === 'string' && /^\d{1,6}$/.test(v.length) ? Number(v.length) : NaN;
      if (!(n >= 1 && n <= RANDOM_SOURCE_MAX_BYTES)) fail('Source.length', `a whole number of bytes from 1 to ${RANDOM_SOURCE_MAX_BYTES}`, v.length);
      break;
    }
  }
  return v as unknown as SourceSpec;
}

function parseContext(v: unknown, format: FormatVersion): void {
  if (v === undefined) return;
  if (!isRecord(v)) fail('EncryptionContext', 'an object of string pairs', v);
  for (const [k, value] of Object.entries(v)) {
    if (k.toLowerCase().startsWith('aws:') || k === 'kms_cmk_id') {
      throw new EnvelopePropertiesError(`\`EncryptionContext\` key ${shown(k)} is reserved (aws: prefix, kms_cmk_id): choose another key`);
    }
    if (!PRINTABLE_ASCII.test(k) || k.length > CONTEXT_KEY_MAX_CHARS) {
      throw new EnvelopePropertiesError(`\`EncryptionContext\` keys must be 1 to ${CONTEXT_KEY_MAX_CHARS} printable ASCII characters, got: ${shown(k)}`);
    }
    if (typeof value !== 'string' || !PRINTABLE_ASCII.test(value) || value.length > CONTEXT_VALUE_MAX_CHARS) {
      fail(`EncryptionContext.${k}`, `a string of 1 to ${CONTEXT_VALUE_MAX_CHARS} printable ASCII characters`, value);
    }
  }
  // The format module (and node:crypto) only now: a Delete never needs it.
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const f = require('./format') as typeof import('./format');
  const bytes = f.metadataBytes(f.encodeMetadata({
    format,
    wrappedKey: Buffer.alloc((f.WRAPPED_KEY_BASE64_MAX_CHARS / 4) * 3),
    context: { ...(v as Record<string, string>), [f.RESERVED_CONTEXT_KEY]: f.CEK_ALG_CONTEXT_VALUE[format] },
    nonce: Buffer.alloc(format === 'V3' ? f.SUITE_COMMIT_KEY.messageIdBytes : f.SUITE_GCM_NO_KDF.ivBytes),
    commitment: Buffer.alloc(f.SUITE_COMMIT_KEY.commitmentBytes),
    plaintextLength: 2 ** 36,
  })) + REQUEST_MARKER_BYTES;
  if (bytes > f.S3_USER_METADATA_MAX_BYTES) {
    throw new EnvelopePropertiesError(
      `\`EncryptionContext\` makes the object metadata up to ${bytes} bytes, over S3's ${f.S3_USER_METADATA_MAX_BYTES}-byte user-metadata limit: use fewer or shorter pairs`,
    );
  }
}

/**
 * Checks the properties of a Create or Update before anything is read or written: each malformed field fails
 * the request with one line naming the field, what is allowed and the value got. Values are kept as given,
 * so an unchanged resource compares equal to its previous properties.
 */
export function parseEnvelopeProperties(raw: unknown): EnvelopeProperties {
  if (!isRecord(raw)) fail('ResourceProperties', 'an object', raw);
  bucketName('Bucket', raw.Bucket);
  const key = raw.ObjectKey;
  if (typeof key !== 'string' || key === '' || Buffer.byteLength(key) > OBJECT_KEY_MAX_BYTES || key.startsWith('/') || CONTROL_CHARS.test(key) || LONE_SURROGATE.test(key)) {
    fail('ObjectKey', `1 to ${OBJECT_KEY_MAX_BYTES} bytes of UTF-8, not starting with / and without control characters`, key);
  }
  if (typeof raw.KeyArn !== 'string' || !KMS_KEY_REF.test(raw.KeyArn)) fail('KeyArn', 'a KMS key ARN, key id, alias name or alias ARN', raw.KeyArn);
  // An AWS managed key cannot be shared with another account: not a customer-managed key.
  if (/(^|:)alias\/aws\//i.test(raw.KeyArn)) fail('KeyArn', 'a customer-managed key, not an AWS managed alias/aws/ key', raw.KeyArn);
  if (typeof raw.Format !== 'string' || !(FORMATS as readonly string[]).includes(raw.Format)) fail('Format', 'exactly "V3" or "V2"', raw.Format);
  parseContext(raw.EncryptionContext, raw.Format as FormatVersion);
  parseSource(raw.Source);
  optionalString('ContentType', raw.ContentType, 'a media type of 1 to 256 printable ASCII characters', (s) => PRINTABLE_ASCII.test(s) && s.length <= 256);
  optionalString('Retain', raw.Retain, 'exactly "true" or "false"', (s) => s === 'true' || s === 'false');
  return raw as unknown as EnvelopeProperties;
}
