// Interop with the official Amazon S3 Encryption Client for Java (v4) on moto: each side reads what the other
// writes, a re-keyed object follows its new key, and every tampered field is refused by both readers.
/* eslint-disable no-bitwise */ // flipping bits is what tampering tests do
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, promises as fs } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { CreateKeyCommand, KMSClient } from '@aws-sdk/client-kms';
import { CreateBucketCommand, GetObjectCommand, HeadObjectCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import type { CloudFormationCustomResourceEvent } from 'aws-lambda';
import { decryptObject } from '../../src/cli/decrypt';
import { EnvelopeProperties } from '../../src/envelope/contract';
import { FormatVersion } from '../../src/envelope/format';
import { handler, useClients } from '../../src/envelope/runtime/envelope.lambda';
import { ensureCliBundle } from '../monitoring/support/bundle';
import { buildJar, JavaS3ec, OFFICIAL_CLIENT_REQUIRED, startJavaS3ec } from '../support/java-s3ec';
import { Emulator, LOCAL_AWS, startMoto } from '../support/moto';

jest.setTimeout(900_000);

const built = buildJar();
const suite = built.jar || OFFICIAL_CLIENT_REQUIRED ? describe : describe.skip;
if (!built.jar) console.warn(`official S3 Encryption Client tests ${OFFICIAL_CLIENT_REQUIRED ? 'fail' : 'skipped'}: ${built.reason}`);

const BUCKET = 'official';
const ASSETS = 'official-assets';
const CONTEXT = { tenant: 't-42', app: 'billing' };
const CONTEXT_ARGS = Object.entries(CONTEXT).map(([k, v]) => `${k}=${v}`);
/** Over the handler's 8 MiB part size: a multipart upload of two parts. */
const MULTIPART_BYTES = 9 * 1024 * 1024 + 123;

suite('the official S3 Encryption Client for Java', () => {
  let moto: Emulator;
  let s3: S3Client;
  let kms: KMSClient;
  let java: JavaS3ec;
  let keyA: string;
  let keyB: string;
  let tmp: string;
  let n = 0;

  beforeAll(async () => {
    if (!built.jar) throw new Error(`the Java client could not be built: ${built.reason}`);
    moto = await startMoto();
    s3 = new S3Client({ ...LOCAL_AWS, endpoint: moto.endpoint, forcePathStyle: true });
    kms = new KMSClient({ ...LOCAL_AWS, endpoint: moto.endpoint });
    useClients({ s3, kms });
    for (const b of [BUCKET, ASSETS]) {
      await s3.send(new CreateBucketCommand({ Bucket: b, CreateBucketConfiguration: { LocationConstraint: 'eu-west-1' } }));
    }
    keyA = (await kms.send(new CreateKeyCommand({}))).KeyMetadata!.Arn!;
    keyB = (await kms.send(new CreateKeyCommand({}))).KeyMetadata!.Arn!;
    tmp = await fs.mkdtemp(path.join(os.tmpdir(), 'envelope-official-'));
    java = startJavaS3ec(built.jar, moto.endpoint, LOCAL_AWS.region);
    jest.spyOn(console, 'log').mockImplementation(() => undefined);
  });

  afterAll(async () => {
    await java?.stop();
    await moto?.stop();
    if (tmp) await fs.rm(tmp, { recursive: true, force: true });
  });

  function props(objectKey: string, assetKey: string, format: FormatVersion, keyArn = keyA): EnvelopeProperties {
    return { Bucket: BUCKET, ObjectKey: objectKey, KeyArn: keyArn, Format: format, EncryptionContext: CONTEXT, Source: { type: 'asset', bucket: ASSETS, key: assetKey } };
  }

  function event(type: 'Create' | 'Update', p: EnvelopeProperties, extra: Record<string, unknown> = {}): CloudFormationCustomResourceEvent {
    return {
      RequestType: type,
      RequestId: `req-${++n}`,
      StackId: 'arn:aws:cloudformation:eu-west-1:123456789012:stack/s/1',
      LogicalResourceId: 'Seed',
      ResourceProperties: { ServiceToken: 'x', ...p },
      ...extra,
    } as unknown as CloudFormationCustomResourceEvent;
  }

  /** The handler writes `plaintext` as `objectKey`; resolves with the Create response. */
  async function handlerWrites(objectKey: string, plaintext: Buffer, format: FormatVersion) {
    const assetKey = `asset-${++n}`;
    await s3.send(new PutObjectCommand({ Bucket: ASSETS, Key: assetKey, Body: plaintext }));
    const p = props(objectKey, assetKey, format);
    return { p, res: await handler(event('Create', p)) };
  }

  /** The Java client reads `objectKey`: the plaintext, or its one-line refusal. */
  async function javaReads(objectKey: string, keyArn: string, policy: 'require' | 'allow', context = CONTEXT_ARGS) {
    const out = path.join(tmp, `java-${++n}`);
    const answer = await java.run(['get', BUCKET, objectKey, keyArn, policy, out, ...context]);
    return { answer, bytes: existsSync(out) ? await fs.readFile(out) : undefined };
  }

  async function javaWrites(objectKey: string, plaintext: Buffer, format: FormatVersion, mode: 'object' | 'instruction' = 'object') {
    const input = path.join(tmp, `in-${++n}`);
    await fs.writeFile(input, plaintext);
    expect(await java.run(['put', BUCKET, objectKey, keyA, format, input, mode, ...CONTEXT_ARGS])).toBe('ok');
  }

  /** The bundled `cdk-cmek` executable decrypts `objectKey` to a file. */
  function cliDecrypts(objectKey: string, context = CONTEXT_ARGS) {
    const out = path.join(tmp, `cli-${++n}`);
    const r = spawnSync(process.execPath, [
      ensureCliBundle(), 'decrypt', `s3://${BUCKET}/${objectKey}`, '--out', out,
      ...context.flatMap((c) => ['--context', c]), '--region', LOCAL_AWS.region, '--endpoint-url', moto.endpoint,
    ], { encoding: 'utf8', env: { ...process.env, AWS_ACCESS_KEY_ID: 'testing', AWS_SECRET_ACCESS_KEY: 'testing' } });
    return { status: r.status, stderr: r.stderr, out };
  }

  describe('reads what the handler writes', () => {
    test.each([
      ['V3', 1024, 'require'],
      ['V3', MULTIPART_BYTES, 'require'],
      ['V2', 1024, 'allow'],
      ['V2', MULTIPART_BYTES, 'allow'],
    ] as const)('GIVEN a %s object of %d bytes written by the handler WHEN the Java client reads it (%s commitment) THEN the same bytes', async (format, size, policy) => {
      const plaintext = randomBytes(size);
      const objectKey = `ours/${format}-${size}`;
      await handlerWrites(objectKey, plaintext, format);
      const { answer, bytes } = await javaReads(objectKey, keyA, policy);
      expect(answer).toBe('ok');
      expect(bytes!.equals(plaintext)).toBe(true);
    });

    test('GIVEN a handler V2 object WHEN the Java client requires key commitment THEN it refuses the non-committing suite', async () => {
      await handlerWrites('ours/V2-commitment', randomBytes(100), 'V2');
      const { answer, bytes } = await javaReads('ours/V2-commitment', keyA, 'require');
      expect(answer).toMatch(/^error .*commit/i);
      expect(bytes).toBeUndefined();
    });

    test.each(['V3', 'V2'] as const)('GIVEN a %s object re-keyed by the handler WHEN the Java client reads it THEN the new key decrypts it and the old one is refused', async (format) => {
      const plaintext = randomBytes(5000);
      const objectKey = `rekey/${format}`;
      const { p, res } = await handlerWrites(objectKey, plaintext, format);
      await handler(event('Update', { ...p, KeyArn: keyB }, { OldResourceProperties: p, PhysicalResourceId: res.PhysicalResourceId }));
      const policy = format === 'V3' ? 'require' : 'allow';
      const withNew = await javaReads(objectKey, keyB, policy);
      expect(withNew.answer).toBe('ok');
      expect(withNew.bytes!.equals(plaintext)).toBe(true);
      const withOld = await javaReads(objectKey, keyA, policy);
      expect(withOld.answer).toMatch(/^error /);
      expect(withOld.bytes).toBeUndefined();
    });
  });

  describe('cdk-cmek decrypt reads what the Java client writes', () => {
    test.each([
      ['V3', 1024, 'object'],
      ['V3', MULTIPART_BYTES, 'object'],
      ['V2', 1024, 'object'],
      ['V3', 1024, 'instruction'],
      ['V2', 1024, 'instruction'],
    ] as const)('GIVEN a %s object of %d bytes with its metadata in the %s WHEN the bundled CLI decrypts it THEN the same bytes', async (format, size, mode) => {
      const plaintext = randomBytes(size);
      const objectKey = `theirs/${format}-${size}-${mode}`;
      await javaWrites(objectKey, plaintext, format, mode);
      const r = cliDecrypts(objectKey);
      expect(r.stderr).toBe(`decrypted ${size} bytes (format ${format}, data key unwrapped by ${keyA}) to ${r.out}\n`);
      expect(r.status).toBe(0);
      expect((await fs.readFile(r.out)).equals(plaintext)).toBe(true);
    });
  });

  describe('tampering: both readers refuse', () => {
    type Tamper = (meta: Record<string, string>, body: Buffer) => { meta: Record<string, string>; body: Buffer };
    const flipBase64 = (v: string) => {
      const b = Buffer.from(v, 'base64');
      b[b.length >> 1] ^= 0x01;
      return b.toString('base64');
    };
    const otherJson = (v: string) => JSON.stringify({ ...JSON.parse(v), tenant: 't-43' });
    const edit = (key: string, f: (v: string) => string): Tamper => (meta, body) => ({ meta: { ...meta, [key]: f(meta[key]) }, body });
    const drop = (key: string): Tamper => (meta, body) => {
      const m = { ...meta };
      delete m[key];
      return { meta: m, body };
    };
    const flipBody = (at: (n: number) => number): Tamper => (meta, body) => {
      const b = Buffer.from(body);
      b[at(b.length)] ^= 0x01;
      return { meta, body: b };
    };
    const CASES: Record<FormatVersion, Array<[string, Tamper]>> = {
      V3: [
        ['x-amz-c changed', edit('x-amz-c', () => '114')],
        ['x-amz-3 changed', edit('x-amz-3', flipBase64)],
        ['x-amz-w changed', edit('x-amz-w', () => '02')],
        ['x-amz-t changed', edit('x-amz-t', otherJson)],
        ['x-amz-d changed', edit('x-amz-d', flipBase64)],
        ['x-amz-i changed', edit('x-amz-i', flipBase64)],
        ...['x-amz-c', 'x-amz-3', 'x-amz-w', 'x-amz-d', 'x-amz-i'].map((k) => [`${k} deleted`, drop(k)] as [string, Tamper]),
      ],
      V2: [
        ['x-amz-key-v2 changed', edit('x-amz-key-v2', flipBase64)],
        ['x-amz-iv changed', edit('x-amz-iv', flipBase64)],
        ['x-amz-cek-alg changed', edit('x-amz-cek-alg', () => 'AES/CBC/PKCS5Padding')],
        ['x-amz-wrap-alg changed', edit('x-amz-wrap-alg', () => 'kms')],
        ['x-amz-matdesc changed', edit('x-amz-matdesc', otherJson)],
        ['x-amz-tag-len changed', edit('x-amz-tag-len', () => '96')],
        ...['x-amz-key-v2', 'x-amz-iv', 'x-amz-cek-alg', 'x-amz-wrap-alg', 'x-amz-matdesc'].map((k) => [`${k} deleted`, drop(k)] as [string, Tamper]),
      ],
    };

    test.each(['V3', 'V2'] as const)('GIVEN a handler %s object WHEN its body, tag, each metadata field or the caller\'s context is wrong THEN the Java client and cdk-cmek decrypt both refuse and release nothing', async (format) => {
      const source = `tamper/${format}/original`;
      await handlerWrites(source, randomBytes(1000), format);
      const original = await s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: source }));
      const body = Buffer.from(await original.Body!.transformToByteArray());
      const cases: Array<[string, Tamper]> = [
        ['ciphertext byte flipped', flipBody((len) => len >> 2)],
        ['tag byte flipped', flipBody((len) => len - 1)],
        ['tag cut off', (meta, b) => ({ meta, body: b.subarray(0, b.length - 16) })],
        ...CASES[format],
      ];
      const accepted: string[] = [];
      const policy = format === 'V3' ? 'require' : 'allow';
      for (const [name, tamper] of cases) {
        const objectKey = `tamper/${format}/${name.replace(/\W+/g, '-')}`;
        const next = tamper({ ...original.Metadata! }, body);
        await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: objectKey, Body: next.body, Metadata: next.meta }));
        const theirs = await javaReads(objectKey, keyA, policy);
        if (!theirs.answer.startsWith('error ') || theirs.bytes) accepted.push(`Java client: ${name}`);
        const out = path.join(tmp, `ours-${++n}`);
        const ours = await decryptObject({ s3, kms, bucket: BUCKET, key: objectKey, context: CONTEXT, out }).then(() => 'ok', (e: Error) => e.message);
        if (ours === 'ok' || existsSync(out)) accepted.push(`cdk-cmek decrypt: ${name}`);
      }
      // The untouched object with another context.
      const wrong = await javaReads(source, keyA, policy, ['tenant=t-43', 'app=billing']);
      if (!wrong.answer.startsWith('error ') || wrong.bytes) accepted.push('Java client: wrong context');
      await expect(decryptObject({ s3, kms, bucket: BUCKET, key: source, context: { tenant: 't-43', app: 'billing' }, out: path.join(tmp, `wrong-${format}`) }))
        .rejects.toThrow('encryption context does not match');
      expect(accepted).toEqual([]);
      // The original still reads in both: the refusals are about the changes.
      expect((await javaReads(source, keyA, policy)).answer).toBe('ok');
      expect((await s3.send(new HeadObjectCommand({ Bucket: BUCKET, Key: source }))).ContentLength).toBe(1016);
    });
  });
});
