// Custom-resource handler of EnvelopeEncryptedObject: writes, re-keys and deletes envelope-encrypted S3 objects.
import { existsSync } from 'node:fs';
import * as path from 'node:path';
import { PassThrough, Readable } from 'node:stream';
import type { KMSClient } from '@aws-sdk/client-kms';
import type { S3Client } from '@aws-sdk/client-s3';
import type { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import type { SSMClient } from '@aws-sdk/client-ssm';
import type { CloudFormationCustomResourceEvent } from 'aws-lambda';
import type * as Sdk from './envelope-sdk.lambda';
import type * as Format from './format';
import {
  ATTRIBUTES,
  EnvelopeProperties,
  EnvelopePropertiesError,
  parseEnvelopeProperties,
  parsePhysicalId,
  physicalId,
  REQUEST_MARKER_KEY,
  SourceSpec,
  WrittenObject,
} from './protocol';

/** The SDK clients the handler uses; created on first use (a cold start pays only for what it needs). */
export interface Clients {
  kms: KMSClient;
  s3: S3Client;
  secrets: SecretsManagerClient;
  ssm: SSMClient;
}

/** Throttling and transient errors get this many attempts before the deployment fails. */
const MAX_ATTEMPTS = 8;
const PART_SIZE = 8 * 1024 * 1024;

let clients: Partial<Clients> = {};
let sdkModule: Promise<typeof Sdk> | undefined;
let formatModule: typeof Format | undefined;

/** AES-GCM can encrypt at most this much under one key (format.ts GCM_MAX_CONTENT_BYTES, without loading it). */
const GCM_MAX_CONTENT_BYTES = 2 ** 36 - 32;

/**
 * The format module and node:crypto behind it, on first use: loading node:crypto costs a cold start more than
 * the rest of this file, and a Delete never needs it.
 */
function format(): typeof Format {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  return (formatModule ??= require('./format') as typeof Format);
}

function nodeCrypto(): typeof import('node:crypto') {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  return require('node:crypto');
}

/**
 * The SDK, loaded on first use from its own bundle beside this one: V8 parses a bundle whole, so keeping
 * the SDK out of this file is what keeps a cold `require` of the handler in the single-digit milliseconds.
 * Unbundled (tests), it is the TypeScript module.
 */
function sdk(): Promise<typeof Sdk> {
  const bundled = path.join(__dirname, '..', 'envelope-sdk.lambda', 'index.js');
  const target = existsSync(bundled) ? bundled : './envelope-sdk.lambda';
  // A runtime path esbuild must not follow: the SDK stays a separate file.
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  return (sdkModule ??= Promise.resolve().then(() => require(target) as typeof Sdk));
}

/** Replaces the clients (tests against local emulators). */
export function useClients(c: Partial<Clients>): void {
  clients = { ...c };
}

async function kms(): Promise<KMSClient> {
  const { KMSClient: C } = await sdk();
  return (clients.kms ??= new C({ maxAttempts: MAX_ATTEMPTS }));
}
async function s3(): Promise<S3Client> {
  const { S3Client: C } = await sdk();
  return (clients.s3 ??= new C({ maxAttempts: MAX_ATTEMPTS }));
}
async function secrets(): Promise<SecretsManagerClient> {
  const { SecretsManagerClient: C } = await sdk();
  return (clients.secrets ??= new C({ maxAttempts: MAX_ATTEMPTS }));
}
async function ssm(): Promise<SSMClient> {
  const { SSMClient: C } = await sdk();
  return (clients.ssm ??= new C({ maxAttempts: MAX_ATTEMPTS }));
}

/** The handler's answer to the Provider framework. */
export interface HandlerResponse {
  readonly PhysicalResourceId: string;
  readonly Data?: Record<string, string>;
}

/** Log lines carry names and ids only: never source bytes, data keys or wrapped keys. */
function log(message: string, fields: Record<string, string | undefined> = {}): void {
  console.log(JSON.stringify({ message, ...fields }));
}

export async function handler(event: CloudFormationCustomResourceEvent): Promise<HandlerResponse> {
  // `{}` when absent, so the log line and the failure sentence never throw before the properties are checked.
  const props = (event.ResourceProperties ?? {}) as unknown as EnvelopeProperties;
  log(`${event.RequestType} started`, { logicalId: event.LogicalResourceId, bucket: props.Bucket, objectKey: props.ObjectKey });
  try {
    // Create and Update are checked whole before any call. Delete is not: it reads only the physical id and
    // Retain, and must succeed whatever properties a failed Create or Update left behind.
    if (event.RequestType !== 'Delete') parseEnvelopeProperties(event.ResourceProperties);
    switch (event.RequestType) {
      case 'Create':
        return await write(props, requestMarker(event));
      case 'Update': {
        const old = event.OldResourceProperties as unknown as EnvelopeProperties;
        const written = parsePhysicalId(event.PhysicalResourceId);
        // Only the removal policy changed: the object stays as it is.
        if (written && sameObject(old, props, false)) return answer(written, props.KeyArn);
        if (written && sameObject(old, props, true)) return await rekey(written, old, props, requestMarker(event));
        return await write(props, requestMarker(event));
      }
      case 'Delete':
        await remove(event.PhysicalResourceId, props);
        return { PhysicalResourceId: event.PhysicalResourceId };
    }
  } catch (e) {
    const err = new Error(describeFailure(e, props));
    // The Provider framework puts the stack into the CloudFormation reason: keep it to the one sentence.
    err.stack = err.message;
    log(`${event.RequestType} failed`, { reason: err.message });
    throw err;
  }
}

function requestMarker(event: CloudFormationCustomResourceEvent): string {
  return nodeCrypto().createHash('sha256').update(`${event.StackId}\n${event.LogicalResourceId}\n${event.RequestId}`).digest('hex').slice(0, 32);
}

/**
 * Whether two property sets describe the same plaintext, context, format and place, the removal policy aside;
 * with `keyChanged`, whether they differ in the key only (a re-key).
 */
function sameObject(old: EnvelopeProperties, next: EnvelopeProperties, keyChanged: boolean): boolean {
  if ((old.KeyArn !== next.KeyArn) !== keyChanged) return false;
  const strip = (p: EnvelopeProperties) => canonical({ ...p, KeyArn: undefined, ServiceToken: undefined, Retain: undefined });
  return strip(old) === strip(next);
}

function canonical(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(canonical).join(',')}]`;
  if (v && typeof v === 'object') {
    const o = v as Record<string, unknown>;
    return `{${Object.keys(o).filter((k) => o[k] !== undefined).sort().map((k) => `${JSON.stringify(k)}:${canonical(o[k])}`).join(',')}}`;
  }
  return JSON.stringify(v);
}

/** A plaintext source opened for reading; `wipe` zeroes what was held in memory. */
interface OpenSource {
  readonly stream: Readable;
  readonly length?: number;
  wipe(): void;
}

class SourceError extends Error {}
class TooLargeError extends Error {}

async function openSource(spec: SourceSpec): Promise<OpenSource> {
  const fromBuffer = (b: Buffer): OpenSource => ({ stream: Readable.from([b]), length: b.length, wipe: () => b.fill(0) });
  switch (spec.type) {
    case 'inline':
      return fromBuffer(Buffer.from(spec.text ?? '', 'utf8'));
    case 'random':
      return fromBuffer(nodeCrypto().randomBytes(Number(spec.length)));
    case 'secret': {
      const { GetSecretValueCommand } = await sdk();
      const out = await (await secrets()).send(new GetSecretValueCommand({ SecretId: spec.id }));
      if (out.SecretBinary) return fromBuffer(Buffer.from(out.SecretBinary));
      if (out.SecretString === undefined) throw new SourceError(`secret ${spec.id} has no value`);
      if (!spec.field) return fromBuffer(Buffer.from(out.SecretString, 'utf8'));
      let parsed: Record<string, unknown>;
      try {
        parsed = JSON.parse(out.SecretString);
      } catch {
        throw new SourceError(`secret ${spec.id} is not JSON, so it has no field ${spec.field}`);
      }
      const value = parsed[spec.field];
      if (typeof value !== 'string') throw new SourceError(`secret ${spec.id} has no string field ${spec.field}`);
      return fromBuffer(Buffer.from(value, 'utf8'));
    }
    case 'ssm': {
      const { GetParameterCommand } = await sdk();
      const out = await (await ssm()).send(new GetParameterCommand({ Name: spec.id, WithDecryption: true }));
      return fromBuffer(Buffer.from(out.Parameter?.Value ?? '', 'utf8'));
    }
    case 'asset': {
      const { GetObjectCommand } = await sdk();
      const out = await (await s3()).send(new GetObjectCommand({ Bucket: spec.bucket, Key: spec.key }));
      return { stream: out.Body as Readable, length: out.ContentLength, wipe: () => undefined };
    }
  }
  throw new SourceError(`unknown source type ${JSON.stringify((spec as SourceSpec).type)}`);
}

/**
 * Lambda shows every function two cores but allots CPU by memory: one full vCPU at 1,769 MB, more above. Below
 * that, hashing on a second thread only adds its overhead. Outside Lambda (tests), Node's count decides.
 */
function lambdaHasSecondCore(): boolean | undefined {
  const mb = Number(process.env.AWS_LAMBDA_FUNCTION_MEMORY_SIZE);
  return Number.isFinite(mb) && mb > 0 ? mb > 1769 : undefined;
}

/** Encrypts the source into a new object version. Retries of the same request find the version they wrote. */
async function write(props: EnvelopeProperties, marker: string): Promise<HandlerResponse> {
  const client = await s3();
  const previous = await findRetried(client, props, marker);
  if (previous) return answer(previous, props.KeyArn);

  const { createEncryption, kmsEncryptionContext } = format();
  const context = kmsEncryptionContext(props.Format, props.EncryptionContext ?? {});
  const source = await openSource(props.Source);
  try {
    if (source.length !== undefined && source.length > GCM_MAX_CONTENT_BYTES) {
      throw new TooLargeError(`source is ${source.length} bytes, more than AES-GCM allows under one key (${GCM_MAX_CONTENT_BYTES} bytes)`);
    }
    const { GenerateDataKeyCommand } = await sdk();
    const dk = await (await kms()).send(new GenerateDataKeyCommand({ KeyId: props.KeyArn, KeySpec: 'AES_256', EncryptionContext: context }));
    const plaintextKey = Buffer.from(dk.Plaintext!);
    dk.Plaintext?.fill(0);
    let encryption;
    try {
      encryption = createEncryption(props.Format, plaintextKey, { expectedBytes: source.length, secondCore: lambdaHasSecondCore() });
    } finally {
      plaintextKey.fill(0);
    }
    const metadata = { ...encryption.metadata(dk.CiphertextBlob!, context, source.length), [REQUEST_MARKER_KEY]: marker };
    const body = new PassThrough({ highWaterMark: PART_SIZE });
    let counted = 0;
    const limit = new PassThrough();
    limit.on('data', (c: Buffer) => {
      counted += c.length;
      if (counted > GCM_MAX_CONTENT_BYTES) limit.destroy(new TooLargeError(`source is larger than AES-GCM allows under one key (${GCM_MAX_CONTENT_BYTES} bytes)`));
    });
    source.stream.on('error', (e) => body.destroy(e));
    limit.on('error', (e) => body.destroy(e));
    encryption.stream.on('error', (e) => body.destroy(e));
    source.stream.pipe(limit).pipe(encryption.stream).pipe(body);

    const { Upload } = await sdk();
    const upload = new Upload({
      client,
      queueSize: 2,
      partSize: PART_SIZE,
      leavePartsOnError: false,
      params: { Bucket: props.Bucket, Key: props.ObjectKey, Body: body, Metadata: metadata, ContentType: props.ContentType },
    });
    const done = await upload.done();
    const written: WrittenObject = {
      bucket: props.Bucket,
      key: props.ObjectKey,
      versionId: done.VersionId ?? 'null',
      etag: done.ETag ?? '',
      sha256: encryption.ciphertextSha256(),
      marker,
    };
    log('object written', { bucket: written.bucket, objectKey: written.key, versionId: written.versionId, format: props.Format });
    return answer(written, props.KeyArn);
  } finally {
    source.wipe();
  }
}

/** A retried request whose first attempt already wrote the object: the current version carries its marker. */
async function findRetried(client: S3Client, props: EnvelopeProperties, marker: string): Promise<WrittenObject | undefined> {
  const { HeadObjectCommand, GetObjectCommand } = await sdk();
  let head;
  try {
    head = await client.send(new HeadObjectCommand({ Bucket: props.Bucket, Key: props.ObjectKey }));
  } catch (e) {
    if (isNotFound(e)) return undefined;
    throw e;
  }
  if (head.Metadata?.[REQUEST_MARKER_KEY] !== marker) return undefined;
  // The checksum attribute is of the stored bytes: read them back once (only on a retry).
  const obj = await client.send(new GetObjectCommand({ Bucket: props.Bucket, Key: props.ObjectKey, VersionId: head.VersionId }));
  const hash = nodeCrypto().createHash('sha256');
  for await (const chunk of obj.Body as Readable) hash.update(chunk);
  log('retry found the object written by the first attempt', { versionId: head.VersionId });
  return { bucket: props.Bucket, key: props.ObjectKey, versionId: head.VersionId ?? 'null', etag: head.ETag ?? '', sha256: hash.digest('hex'), marker };
}

/**
 * Re-key: the wrapped data key moves to the new KMS key with `ReEncrypt` (KMS never reveals it here), and a
 * metadata-only `CopyObject` writes a new version whose body bytes S3 copies unchanged.
 */
async function rekey(written: WrittenObject, old: EnvelopeProperties, props: EnvelopeProperties, marker: string): Promise<HandlerResponse> {
  const client = await s3();
  const { HeadObjectCommand, CopyObjectCommand } = await sdk();
  const current = await client.send(new HeadObjectCommand({ Bucket: written.bucket, Key: written.key }));
  if (current.Metadata?.[REQUEST_MARKER_KEY] === marker) {
    log('retry found the object re-keyed by the first attempt', { versionId: current.VersionId });
    return answer({ ...written, versionId: current.VersionId ?? 'null', etag: current.ETag ?? written.etag, marker }, props.KeyArn);
  }
  const head = await client.send(new HeadObjectCommand({ Bucket: written.bucket, Key: written.key, VersionId: written.versionId === 'null' ? undefined : written.versionId }));
  const metadata = head.Metadata ?? {};
  const envelope = format().parseMetadata(metadata);
  const { ReEncryptCommand } = await sdk();
  const re = await (await kms()).send(new ReEncryptCommand({
    CiphertextBlob: envelope.wrappedKey,
    SourceKeyId: old.KeyArn,
    SourceEncryptionContext: envelope.context,
    DestinationKeyId: props.KeyArn,
    DestinationEncryptionContext: envelope.context,
  }));
  const wrappedKeyField = envelope.format === 'V3' ? 'x-amz-3' : 'x-amz-key-v2';
  const next = { ...metadata, [wrappedKeyField]: Buffer.from(re.CiphertextBlob!).toString('base64'), [REQUEST_MARKER_KEY]: marker };
  const versionQuery = written.versionId === 'null' ? '' : `?versionId=${encodeURIComponent(written.versionId)}`;
  const copied = await client.send(new CopyObjectCommand({
    Bucket: written.bucket,
    Key: written.key,
    CopySource: `${written.bucket}/${encodeURIComponent(written.key)}${versionQuery}`,
    MetadataDirective: 'REPLACE',
    Metadata: next,
    ContentType: head.ContentType,
  }));
  const result: WrittenObject = {
    ...written,
    versionId: copied.VersionId ?? 'null',
    etag: copied.CopyObjectResult?.ETag ?? written.etag,
    marker,
  };
  log('object re-keyed', { bucket: result.bucket, objectKey: result.key, versionId: result.versionId, keyArn: props.KeyArn });
  return answer(result, props.KeyArn);
}

/** Deletes the one version this resource wrote, unless retained; objects it did not write are left alone. */
async function remove(id: string, props: EnvelopeProperties): Promise<void> {
  const written = parsePhysicalId(id);
  if (!written) {
    log('nothing to delete: the physical id names no object this resource wrote');
    return;
  }
  if (props.Retain === 'true') {
    log('object retained', { bucket: written.bucket, objectKey: written.key, versionId: written.versionId });
    return;
  }
  const client = await s3();
  const { DeleteObjectCommand, HeadObjectCommand } = await sdk();
  try {
    if (written.versionId === 'null') {
      // Unversioned bucket: the key may have been overwritten (or re-keyed, same bytes) since: delete only
      // while the object is still the one this write put there.
      const head = await client.send(new HeadObjectCommand({ Bucket: written.bucket, Key: written.key }));
      if (head.ETag !== written.etag || head.Metadata?.[REQUEST_MARKER_KEY] !== written.marker) {
        log('object changed since this resource wrote it: left in place', { objectKey: written.key });
        return;
      }
      await client.send(new DeleteObjectCommand({ Bucket: written.bucket, Key: written.key }));
    } else {
      await client.send(new DeleteObjectCommand({ Bucket: written.bucket, Key: written.key, VersionId: written.versionId }));
    }
    log('object deleted', { bucket: written.bucket, objectKey: written.key, versionId: written.versionId });
  } catch (e) {
    if (isNotFound(e)) return;
    throw e;
  }
}

function answer(o: WrittenObject, keyArn: string): HandlerResponse {
  return {
    PhysicalResourceId: physicalId(o),
    Data: {
      [ATTRIBUTES.objectKey]: o.key,
      [ATTRIBUTES.versionId]: o.versionId,
      [ATTRIBUTES.etag]: o.etag,
      [ATTRIBUTES.keyArn]: keyArn,
      [ATTRIBUTES.ciphertextSha256]: o.sha256,
    },
  };
}

function errorName(e: unknown): string {
  const err = e as { name?: string; Code?: string; code?: string };
  return err?.name ?? err?.Code ?? err?.code ?? '';
}

function isNotFound(e: unknown): boolean {
  const status = (e as { $metadata?: { httpStatusCode?: number } })?.$metadata?.httpStatusCode;
  return ['NotFound', 'NoSuchKey', 'NoSuchVersion'].includes(errorName(e)) || status === 404;
}

/** One readable sentence for CloudFormation, naming what failed and what to do. Never includes secret material. */
export function describeFailure(e: unknown, props: EnvelopeProperties): string {
  const name = errorName(e);
  const message = String((e as Error)?.message ?? e).split('\n')[0];
  const key = props.KeyArn;
  const where = `s3://${props.Bucket}/${props.ObjectKey}`;
  if (e instanceof EnvelopePropertiesError) return e.message;
  if (e instanceof TooLargeError) return `object too large: ${e.message}`;
  if (e instanceof SourceError) return `source missing: ${e.message}`;
  if ((e as Error)?.name === 'EnvelopeFormatError') return `${where} is not a readable envelope: ${message}`;
  if (name === 'KMSInvalidStateException' && /pending deletion/i.test(message)) {
    return `KMS key ${key} is pending deletion: cancel the deletion (kms:CancelKeyDeletion) or use another key`;
  }
  if (name === 'KMSInvalidStateException' && /pending import/i.test(message)) {
    return `KMS key ${key} is pending import of its key material`;
  }
  if (name === 'DisabledException') return `KMS key ${key} is disabled: enable it (kms:EnableKey) or use another key`;
  if (name === 'KMSInvalidStateException') return `KMS key ${key} is not usable in its current state: ${message}`;
  if (name === 'NotFoundException') return `KMS key ${key} does not exist`;
  if (name === 'InvalidCiphertextException' || name === 'IncorrectKeyException') {
    return `the wrapped data key of ${where} does not decrypt under ${key} with its encryption context`;
  }
  if (name === 'AccessDeniedException' || name === 'AccessDenied') {
    return `access denied: ${message.replace(/\s+/g, ' ').slice(0, 300)}`;
  }
  if (/Throttl|TooManyRequests|SlowDown|RequestLimitExceeded/.test(name)) {
    return `throttled after ${MAX_ATTEMPTS} attempts (${name}): deploy again later or raise the quota`;
  }
  if (name === 'ResourceNotFoundException' && props.Source?.type === 'secret') return `source missing: secret ${props.Source.id} does not exist`;
  if (name === 'ParameterNotFound') return `source missing: SSM parameter ${props.Source.id} does not exist`;
  if ((name === 'NoSuchKey' || name === 'NotFound') && props.Source?.type === 'asset') {
    return `source missing: asset s3://${props.Source.bucket}/${props.Source.key} does not exist`;
  }
  if (name === 'NoSuchBucket') return `bucket ${props.Bucket} does not exist`;
  if (name === 'EntityTooLarge') return `object too large for S3: ${message}`;
  return `${name || 'Error'}: ${message}`.slice(0, 500);
}
