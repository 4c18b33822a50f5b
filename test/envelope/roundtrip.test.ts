// Real round trips against moto_server (KMS + S3): the handler writes, `cdk-cmek decrypt` reads, tampering fails.
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, promises as fs } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { CreateKeyCommand, KMSClient } from '@aws-sdk/client-kms';
import {
  CopyObjectCommand,
  CreateBucketCommand,
  GetObjectCommand,
  HeadObjectCommand,
  PutBucketVersioningCommand,
  PutObjectCommand,
  S3Client,
} from '@aws-sdk/client-s3';
import type { CloudFormationCustomResourceEvent } from 'aws-lambda';
import { Command } from 'commander';
import { bufferSink } from './support';
import { decryptObject, registerDecryptCommand } from '../../src/cli/decrypt';
import { EnvelopeProperties, parsePhysicalId } from '../../src/envelope/contract';
import { FormatVersion } from '../../src/envelope/format';
import { handler, useClients } from '../../src/envelope/runtime/envelope.lambda';
import { Emulator, LOCAL_AWS, startMoto } from '../support/moto';

jest.setTimeout(300_000);

let moto: Emulator;
let s3: S3Client;
let kms: KMSClient;
let keyA: string;
let keyB: string;
let tmp: string;
const BUCKET = 'envelope-data';
const ASSETS = 'envelope-assets';
const UNVERSIONED = 'envelope-unversioned';

beforeAll(async () => {
  moto = await startMoto();
  s3 = new S3Client({ ...LOCAL_AWS, endpoint: moto.endpoint, forcePathStyle: true });
  kms = new KMSClient({ ...LOCAL_AWS, endpoint: moto.endpoint });
  useClients({ s3, kms });
  for (const b of [BUCKET, ASSETS, UNVERSIONED]) {
    await s3.send(new CreateBucketCommand({ Bucket: b, CreateBucketConfiguration: { LocationConstraint: 'eu-west-1' } }));
  }
  await s3.send(new PutBucketVersioningCommand({ Bucket: BUCKET, VersioningConfiguration: { Status: 'Enabled' } }));
  keyA = (await kms.send(new CreateKeyCommand({}))).KeyMetadata!.Arn!;
  keyB = (await kms.send(new CreateKeyCommand({}))).KeyMetadata!.Arn!;
  tmp = await fs.mkdtemp(path.join(os.tmpdir(), 'envelope-rt-'));
  jest.spyOn(console, 'log').mockImplementation(() => undefined);
});

afterAll(async () => {
  await moto?.stop();
  if (tmp) await fs.rm(tmp, { recursive: true, force: true });
});

let n = 0;
function event(type: 'Create' | 'Update' | 'Delete', p: EnvelopeProperties, extra: Record<string, unknown> = {}): CloudFormationCustomResourceEvent {
  return {
    RequestType: type,
    ServiceToken: 'x',
    ResponseURL: 'https://example.com',
    StackId: 'arn:aws:cloudformation:eu-west-1:123456789012:stack/s/1',
    RequestId: `req-${++n}`,
    LogicalResourceId: 'Seed',
    ResourceType: 'Custom::CmekEnvelopeObject',
    ResourceProperties: { ServiceToken: 'x', ...p } as any,
    ...extra,
  } as CloudFormationCustomResourceEvent;
}

async function putAsset(body: Buffer): Promise<string> {
  const key = `asset-${++n}`;
  await s3.send(new PutObjectCommand({ Bucket: ASSETS, Key: key, Body: body }));
  return key;
}

function props(objectKey: string, assetKey: string, format: FormatVersion, over: Partial<EnvelopeProperties> = {}): EnvelopeProperties {
  return {
    Bucket: BUCKET,
    ObjectKey: objectKey,
    KeyArn: keyA,
    Format: format,
    EncryptionContext: { app: 'billing' },
    Source: { type: 'asset', bucket: ASSETS, key: assetKey },
    ...over,
  };
}

const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');

async function decryptToFile(key: string, context: Record<string, string> = { app: 'billing' }, extra: { keyId?: string } = {}) {
  const out = path.join(tmp, `${key.replace(/\W/g, '_')}-${++n}.out`);
  const result = await decryptObject({ s3, kms, bucket: BUCKET, key, context, out, ...extra });
  return { out, result, bytes: await fs.readFile(out) };
}

/** Rewrites one object's metadata and/or body in place (as an attacker with s3:PutObject could). */
type Change = (meta: Record<string, string>, body: Buffer) => { meta: Record<string, string>; body: Buffer };

async function tamper(key: string, change: Change): Promise<void> {
  const obj = await s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: key }));
  const body = Buffer.from(await obj.Body!.transformToByteArray());
  const next = change({ ...(obj.Metadata ?? {}) }, body);
  await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: key, Body: next.body, Metadata: next.meta }));
}

describe('envelope round trips (moto)', () => {
  test.each([
    ['V3', 0],
    ['V3', 1],
    ['V3', 1024 * 1024],
    ['V2', 0],
    ['V2', 1],
    ['V2', 1024 * 1024],
  ] as const)('GIVEN a %s object of %d bytes written by the handler WHEN decrypt runs THEN the original bytes', async (format, size) => {
    const plaintext = randomBytes(size);
    const objectKey = `rt/${format}-${size}.bin`;
    const res = await handler(event('Create', props(objectKey, await putAsset(plaintext), format)));
    const { bytes, result } = await decryptToFile(objectKey);
    expect(result).toEqual({ format, plaintextLength: size, keyArn: keyA });
    expect(bytes.equals(plaintext)).toBe(true);
    const stored = await s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: objectKey }));
    expect(sha(Buffer.from(await stored.Body!.transformToByteArray()))).toBe(res.Data!.CiphertextSha256);
  });

  test('GIVEN a 100 MiB asset WHEN the handler writes it (multipart) and decrypt reads it THEN the bytes are identical', async () => {
    const plaintext = randomBytes(100 * 1024 * 1024);
    const objectKey = 'rt/V3-100MiB.bin';
    await handler(event('Create', props(objectKey, await putAsset(plaintext), 'V3')));
    const head = await s3.send(new HeadObjectCommand({ Bucket: BUCKET, Key: objectKey }));
    expect(head.ContentLength).toBe(plaintext.length + 16);
    const { out } = await decryptToFile(objectKey);
    const written = await fs.readFile(out);
    expect(sha(written)).toBe(sha(plaintext));
  });

  test.each(['V3', 'V2'] as const)('GIVEN a %s object WHEN a body byte is flipped, the context metadata changed, the body truncated or another context presented THEN each fails clearly and leaves no output file', async (format) => {
    const ctxKey = format === 'V3' ? 'x-amz-t' : 'x-amz-matdesc';
    const cases: Array<[string, Change, RegExp, Record<string, string>?]> = [
      ['flipped byte', (meta, body) => {
        body[3] = body[3] === 0 ? 1 : 0;
        return { meta, body };
      }, /authentication tag does not match/],
      ['changed context metadata', (meta, body) => ({ meta: { ...meta, [ctxKey]: JSON.stringify({ ...JSON.parse(meta[ctxKey]), app: 'payroll' }) }, body }), /encryption context does not match/],
      ['changed context metadata, matching caller', (meta, body) => ({ meta: { ...meta, [ctxKey]: JSON.stringify({ ...JSON.parse(meta[ctxKey]), app: 'payroll' }) }, body }), /KMS refused to unwrap the data key/, { app: 'payroll' }],
      ['truncated body', (meta, body) => ({ meta, body: body.subarray(0, body.length - 5) }), /authentication tag does not match|truncated/],
      ['wrong context', (meta, body) => ({ meta, body }), /encryption context does not match/, { app: 'other' }],
    ];
    for (const [name, change, error, context] of cases) {
      const objectKey = `tamper/${format}/${name.replace(/\W/g, '-')}`;
      await handler(event('Create', props(objectKey, await putAsset(randomBytes(1000)), format)));
      await tamper(objectKey, change);
      const out = path.join(tmp, `tampered-${++n}`);
      await expect(decryptObject({ s3, kms, bucket: BUCKET, key: objectKey, context: context ?? { app: 'billing' }, out })).rejects.toThrow(error);
      expect(existsSync(out)).toBe(false);
      expect((await fs.readdir(tmp)).filter((f) => f.endsWith('.tmp'))).toEqual([]);
    }
  });

  test('GIVEN a V3 object WHEN x-amz-d is flipped THEN decrypt rejects it before releasing any plaintext', async () => {
    const objectKey = 'tamper/V3/commitment';
    await handler(event('Create', props(objectKey, await putAsset(randomBytes(100)), 'V3')));
    await tamper(objectKey, (meta, body) => {
      const d = Buffer.from(meta['x-amz-d'], 'base64');
      d[10] = d[10] === 0 ? 1 : 0;
      return { meta: { ...meta, 'x-amz-d': d.toString('base64') }, body };
    });
    const stdout = bufferSink();
    await expect(decryptObject({ s3, kms, bucket: BUCKET, key: objectKey, context: { app: 'billing' }, stdout })).rejects.toThrow(/key commitment \(x-amz-d\) does not match/);
    expect(stdout.bytes()).toHaveLength(0);
  });

  test.each(['V3', 'V2'] as const)('GIVEN a %s object WHEN only the key changes THEN re-key: same body bytes, new wrapped key, decrypts under the new key only', async (format) => {
    const objectKey = `rekey/${format}.bin`;
    const plaintext = randomBytes(5000);
    const p = props(objectKey, await putAsset(plaintext), format);
    const created = await handler(event('Create', p));
    const before = parsePhysicalId(created.PhysicalResourceId)!;
    const updated = await handler(event('Update', { ...p, KeyArn: keyB }, { OldResourceProperties: p, PhysicalResourceId: created.PhysicalResourceId }));
    const after = parsePhysicalId(updated.PhysicalResourceId)!;
    expect(after.versionId).not.toBe(before.versionId);
    expect(updated.Data!.CiphertextSha256).toBe(created.Data!.CiphertextSha256);
    const v1 = await s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: objectKey, VersionId: before.versionId }));
    const v2 = await s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: objectKey, VersionId: after.versionId }));
    expect(Buffer.from(await v2.Body!.transformToByteArray()).equals(Buffer.from(await v1.Body!.transformToByteArray()))).toBe(true);
    const wrappedField = format === 'V3' ? 'x-amz-3' : 'x-amz-key-v2';
    expect(v2.Metadata![wrappedField]).not.toBe(v1.Metadata![wrappedField]);
    const { bytes } = await decryptToFile(objectKey, { app: 'billing' }, { keyId: keyB });
    expect(bytes.equals(plaintext)).toBe(true);
    // KMS answers IncorrectKeyException; moto answers AccessDeniedException for a KeyId that did not wrap the blob.
    await expect(decryptToFile(objectKey, { app: 'billing' }, { keyId: keyA })).rejects.toThrow(/KMS refused to unwrap|access denied/);
  });

  test('GIVEN an object WHEN `cdk-cmek decrypt` runs through its command line THEN the file holds the plaintext', async () => {
    const plaintext = Buffer.from('through the command line');
    const objectKey = 'cli/object.txt';
    await handler(event('Create', props(objectKey, await putAsset(plaintext), 'V3')));
    const out = path.join(tmp, 'cli.out');
    const env = { ...process.env };
    Object.assign(process.env, { AWS_ACCESS_KEY_ID: 'testing', AWS_SECRET_ACCESS_KEY: 'testing' });
    const stderr = jest.spyOn(process.stderr, 'write').mockImplementation(() => true);
    try {
      const program = new Command('cdk-cmek');
      registerDecryptCommand(program);
      await program.parseAsync(['decrypt', `s3://${BUCKET}/${objectKey}`, '--out', out, '--context', 'app=billing', '--region', 'eu-west-1', '--endpoint-url', moto.endpoint], { from: 'user' });
    } finally {
      process.env = env;
      stderr.mockRestore();
    }
    expect(process.exitCode ?? 0).toBe(0);
    expect((await fs.readFile(out)).toString()).toBe(plaintext.toString());
  });

  test('GIVEN an object copied by someone else WHEN decrypting the copy with the right context THEN it still decrypts (metadata travels with COPY)', async () => {
    const objectKey = 'copy/src.bin';
    const plaintext = randomBytes(64);
    await handler(event('Create', props(objectKey, await putAsset(plaintext), 'V3')));
    await s3.send(new CopyObjectCommand({ Bucket: BUCKET, Key: 'copy/dst.bin', CopySource: `${BUCKET}/${objectKey}` }));
    expect((await decryptToFile('copy/dst.bin')).bytes.equals(plaintext)).toBe(true);
  });

  test('GIVEN an unversioned bucket WHEN an object is re-keyed and CloudFormation deletes the old physical id THEN the re-keyed object stays; deleting the new id removes it', async () => {
    const plaintext = randomBytes(2000);
    const p = props('unversioned/obj', await putAsset(plaintext), 'V3', { Bucket: UNVERSIONED });
    const created = await handler(event('Create', p));
    const updated = await handler(event('Update', { ...p, KeyArn: keyB }, { OldResourceProperties: p, PhysicalResourceId: created.PhysicalResourceId }));
    await handler(event('Delete', { ...p, KeyArn: keyB }, { PhysicalResourceId: created.PhysicalResourceId }));
    const out = path.join(tmp, 'unversioned.out');
    await decryptObject({ s3, kms, bucket: UNVERSIONED, key: 'unversioned/obj', context: { app: 'billing' }, out, keyId: keyB });
    expect((await fs.readFile(out)).equals(plaintext)).toBe(true);
    await handler(event('Delete', { ...p, KeyArn: keyB }, { PhysicalResourceId: updated.PhysicalResourceId }));
    await expect(s3.send(new HeadObjectCommand({ Bucket: UNVERSIONED, Key: 'unversioned/obj' }))).rejects.toMatchObject({ name: 'NotFound' });
  });

  test('GIVEN a versioned object replaced by new content WHEN CloudFormation deletes the old physical id THEN only the old version goes', async () => {
    const p = props('versions/obj', await putAsset(Buffer.from('one')), 'V3');
    const first = await handler(event('Create', p));
    const next = { ...p, Source: { type: 'asset' as const, bucket: ASSETS, key: await putAsset(Buffer.from('two')) } };
    const second = await handler(event('Update', next, { OldResourceProperties: p, PhysicalResourceId: first.PhysicalResourceId }));
    await handler(event('Delete', p, { PhysicalResourceId: first.PhysicalResourceId }));
    const v1 = parsePhysicalId(first.PhysicalResourceId)!.versionId;
    const v2 = parsePhysicalId(second.PhysicalResourceId)!.versionId;
    await expect(s3.send(new HeadObjectCommand({ Bucket: BUCKET, Key: 'versions/obj', VersionId: v1 }))).rejects.toBeDefined();
    expect((await s3.send(new HeadObjectCommand({ Bucket: BUCKET, Key: 'versions/obj', VersionId: v2 }))).VersionId).toBe(v2);
    expect((await decryptToFile('versions/obj')).bytes.toString()).toBe('two');
  });
});
