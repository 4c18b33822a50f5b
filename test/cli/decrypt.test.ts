// The bundled `cdk-cmek decrypt` against moto as a hostile user runs it: signals mid-write, a full disk, a wrong
// key, a directory, an existing file, a file that appears mid-run, a symlink. No plaintext may ever remain.
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Writable } from 'node:stream';
import { CreateAliasCommand, CreateKeyCommand, KMSClient } from '@aws-sdk/client-kms';
import { CreateBucketCommand, GetObjectCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import type { CloudFormationCustomResourceEvent } from 'aws-lambda';
import { listDir, Proxy, runCli, startCli, startProxy, waitFor } from './cli-support';
import { decryptObject } from '../../src/cli/decrypt';
import { handler, useClients } from '../../src/envelope/runtime/envelope.lambda';
import { Emulator, LOCAL_AWS, startMoto } from '../support/moto';

jest.setTimeout(180_000);

const BUCKET = 'cli-data';
const ASSETS = 'cli-assets';
const BIG = 8 * 1024 * 1024;
let moto: Emulator;
let s3: S3Client;
let kms: KMSClient;
let keyA: { arn: string; id: string };
let keyB: { arn: string; id: string };
let work: string;
const big = randomBytes(BIG);
let n = 0;

/** A tiny tmpfs for the full-disk case: needs root and a kernel that lets this container mount (skipped otherwise). */
const fullDisk = (() => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cdk-cmek-full-'));
  const r = spawnSync('mount', ['-t', 'tmpfs', '-o', 'size=64k', 'tmpfs', dir], { encoding: 'utf8' });
  if (r.status !== 0) {
    fs.rmSync(dir, { recursive: true, force: true });
    return undefined;
  }
  return dir;
})();
const testIfMounted = fullDisk ? test : test.skip;

beforeAll(async () => {
  moto = await startMoto();
  s3 = new S3Client({ ...LOCAL_AWS, endpoint: moto.endpoint, forcePathStyle: true });
  kms = new KMSClient({ ...LOCAL_AWS, endpoint: moto.endpoint });
  useClients({ s3, kms });
  for (const b of [BUCKET, ASSETS]) await s3.send(new CreateBucketCommand({ Bucket: b, CreateBucketConfiguration: { LocationConstraint: 'eu-west-1' } }));
  const a = (await kms.send(new CreateKeyCommand({}))).KeyMetadata!;
  const b = (await kms.send(new CreateKeyCommand({}))).KeyMetadata!;
  keyA = { arn: a.Arn!, id: a.KeyId! };
  keyB = { arn: b.Arn!, id: b.KeyId! };
  await kms.send(new CreateAliasCommand({ AliasName: 'alias/cli/a', TargetKeyId: keyA.id }));
  await kms.send(new CreateAliasCommand({ AliasName: 'alias/cli/b', TargetKeyId: keyB.id }));
  jest.spyOn(console, 'log').mockImplementation(() => undefined);
  await seed('big.bin', big);
  await seed('small.txt', Buffer.from('small plaintext'));
  await seed('v2.txt', Buffer.from('v2 plaintext'), 'V2');
  await seed('quota.bin', randomBytes(200 * 1024));
});

afterAll(async () => {
  await moto?.stop();
  if (fullDisk) {
    spawnSync('umount', [fullDisk]);
    fs.rmSync(fullDisk, { recursive: true, force: true });
  }
});

beforeEach(() => {
  work = fs.mkdtempSync(path.join(os.tmpdir(), 'cdk-cmek-decrypt-'));
});
afterEach(() => fs.rmSync(work, { recursive: true, force: true }));

/** Writes an object through the real handler, under key A with context app=cli. */
async function seed(objectKey: string, plaintext: Buffer, format: 'V3' | 'V2' = 'V3'): Promise<void> {
  const asset = `asset-${++n}`;
  await s3.send(new PutObjectCommand({ Bucket: ASSETS, Key: asset, Body: plaintext }));
  await handler({
    RequestType: 'Create',
    ServiceToken: 'x',
    ResponseURL: 'https://example.com',
    StackId: 'arn:aws:cloudformation:eu-west-1:123456789012:stack/s/1',
    RequestId: `req-${n}`,
    LogicalResourceId: 'Seed',
    ResourceType: 'Custom::CmekEnvelopeObject',
    ResourceProperties: {
      ServiceToken: 'x',
      Bucket: BUCKET,
      ObjectKey: objectKey,
      KeyArn: keyA.arn,
      Format: format,
      EncryptionContext: { app: 'cli' },
      Source: { type: 'asset', bucket: ASSETS, key: asset },
    },
  } as unknown as CloudFormationCustomResourceEvent);
}

const creds = { AWS_ACCESS_KEY_ID: 'testing', AWS_SECRET_ACCESS_KEY: 'testing', AWS_REGION: 'eu-west-1' };
const args = (object: string, endpoint: string, ...rest: string[]) => ['decrypt', `s3://${BUCKET}/${object}`, '--context', 'app=cli', '--endpoint-url', endpoint, ...rest];
const tempFiles = (dir: string) => listDir(dir).filter((f) => f.endsWith('.tmp'));

describe('cdk-cmek decrypt: signals', () => {
  let proxy: Proxy;
  beforeEach(async () => {
    // 8 MiB at 2 MiB/s: four seconds in which the temp file is being written.
    proxy = await startProxy(moto.endpoint, { s3BytesPerSecond: 2 * 1024 * 1024 });
  });
  afterEach(() => proxy.close());

  test.each([['SIGINT', 130], ['SIGTERM', 143]] as const)(
    'GIVEN a decrypt writing --out WHEN %s arrives mid-write THEN it exits %d and neither the file nor a temp file remains',
    async (signal, code) => {
      const out = path.join(work, 'big.out');
      const run = startCli(args('big.bin', proxy.url, '--out', out), creds);
      // Mid-write: the private temp file exists and holds some (unverified) plaintext already.
      await waitFor(() => tempFiles(work).some((f) => fs.statSync(path.join(work, f)).size > 0), 60_000, 'the temp file to grow');
      const tmp = tempFiles(work)[0];
      expect((fs.statSync(path.join(work, tmp)).mode % 0o1000).toString(8)).toBe('600');
      run.child.kill(signal);
      const r = await run.done;
      expect(r.code).toBe(code);
      expect(r.stderr).toContain(`cdk-cmek: interrupted (${signal}): no plaintext was written`);
      expect(listDir(work)).toEqual([]);
    },
  );

  test('GIVEN a decrypt to stdout WHEN SIGTERM arrives mid-read THEN nothing reached stdout and nothing was written to TMPDIR', async () => {
    const tmpdir = path.join(work, 'tmpdir');
    fs.mkdirSync(tmpdir);
    const run = startCli(args('big.bin', proxy.url), { ...creds, TMPDIR: tmpdir });
    await waitFor(() => proxy.requests.includes('KMS:Decrypt'), 60_000, 'the data key to be unwrapped');
    await new Promise((r) => setTimeout(r, 500));
    run.child.kill('SIGTERM');
    const r = await run.done;
    expect(r.code).toBe(143);
    expect(r.stdout).toHaveLength(0);
    expect(listDir(tmpdir)).toEqual([]);
  });

  test('GIVEN a decrypt writing --out WHEN the target file appears mid-run THEN it is not replaced, exit 2, and no temp file remains', async () => {
    const out = path.join(work, 'race.out');
    const run = startCli(args('big.bin', proxy.url, '--out', out), creds);
    await waitFor(() => tempFiles(work).length > 0, 60_000, 'the temp file');
    fs.writeFileSync(out, 'written by someone else');
    const r = await run.done;
    expect(r.code).toBe(2);
    expect(r.stderr.trim()).toBe(`cdk-cmek decrypt: \`--out\` ${JSON.stringify(out)} appeared while decrypting: pass --force to replace it`);
    expect(fs.readFileSync(out, 'utf8')).toBe('written by someone else');
    expect(listDir(work)).toEqual(['race.out']);
  });
});

describe('cdk-cmek decrypt: outputs', () => {
  test.each(['big.bin', 'v2.txt'])('GIVEN %s WHEN decrypted to --out THEN the bytes, a 0600 file, and stderr names the unwrapping key', async (object) => {
    const out = path.join(work, 'plain');
    const r = await runCli(args(object, moto.endpoint, '--out', out), creds);
    expect(r.stderr).toContain(`data key unwrapped by ${keyA.arn}`);
    expect(r.code).toBe(0);
    const expected = object === 'big.bin' ? big : Buffer.from('v2 plaintext');
    expect(fs.readFileSync(out).equals(expected)).toBe(true);
    expect((fs.statSync(out).mode % 0o1000).toString(8)).toBe('600');
    expect(listDir(work)).toEqual(['plain']);
  });

  test('GIVEN no --out WHEN decrypted THEN stdout holds the plaintext and TMPDIR stays empty', async () => {
    const tmpdir = path.join(work, 'tmpdir');
    fs.mkdirSync(tmpdir);
    const r = await runCli(args('small.txt', moto.endpoint), { ...creds, TMPDIR: tmpdir });
    expect(r.code).toBe(0);
    expect(r.stdout.toString()).toBe('small plaintext');
    expect(listDir(tmpdir)).toEqual([]);
  });

  test('GIVEN an existing --out WHEN run without --force THEN refused before any request and left as it was; with --force replaced', async () => {
    const out = path.join(work, 'exists.txt');
    fs.writeFileSync(out, 'keep me');
    const proxy = await startProxy(moto.endpoint);
    try {
      const r = await runCli(args('small.txt', proxy.url, '--out', out), creds);
      expect(r.code).toBe(2);
      expect(r.stderr.trim()).toBe(`cdk-cmek decrypt: \`--out\` ${JSON.stringify(out)} exists already: pass --force to replace it`);
      expect(proxy.requests).toEqual([]);
      expect(fs.readFileSync(out, 'utf8')).toBe('keep me');
      const forced = await runCli(args('small.txt', proxy.url, '--out', out, '--force'), creds);
      expect(forced.code).toBe(0);
      expect(fs.readFileSync(out, 'utf8')).toBe('small plaintext');
    } finally {
      await proxy.close();
    }
  });

  test('GIVEN --out is a symlink to another file WHEN --force THEN the link is replaced and the file it pointed to is untouched', async () => {
    const victim = path.join(work, 'victim.txt');
    fs.writeFileSync(victim, 'not yours');
    const link = path.join(work, 'link.txt');
    fs.symlinkSync(victim, link);
    const r = await runCli(args('small.txt', moto.endpoint, '--out', link, '--force'), creds);
    expect(r.code).toBe(0);
    expect(fs.readFileSync(victim, 'utf8')).toBe('not yours');
    expect(fs.lstatSync(link).isSymbolicLink()).toBe(false);
    expect(fs.readFileSync(link, 'utf8')).toBe('small plaintext');
  });

  testIfMounted('GIVEN a full disk WHEN decrypting 200 KiB into a 64 KiB file system THEN exit 2 with ENOSPC and the file system is left empty', async () => {
    const out = path.join(fullDisk!, 'quota.out');
    const r = await runCli(args('quota.bin', moto.endpoint, '--out', out), creds);
    expect(r.code).toBe(2);
    expect(r.stderr.trim()).toBe(`cdk-cmek decrypt: cannot write ${out}: no space left on device (ENOSPC); nothing was written`);
    expect(listDir(fullDisk!)).toEqual([]);
  });

  test('GIVEN a tampered body WHEN decrypted to stdout THEN exit 1 and not one byte on stdout', async () => {
    const obj = await s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: 'small.txt' }));
    const body = Buffer.from(await obj.Body!.transformToByteArray());
    body[0] = body[0] === 0 ? 1 : 0;
    await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'tampered.txt', Body: body, Metadata: obj.Metadata }));
    const r = await runCli(args('tampered.txt', moto.endpoint), creds);
    expect(r.code).toBe(1);
    expect(r.stderr.trim()).toBe(`cdk-cmek decrypt: s3://${BUCKET}/tampered.txt: authentication tag does not match: the body or its metadata was altered or truncated`);
    expect(r.stdout).toHaveLength(0);
  });
});

describe('cdk-cmek decrypt: --key-id', () => {
  test.each([
    ['its ARN', () => keyA.arn],
    ['its id', () => keyA.id],
    ['an alias', () => 'alias/cli/a'],
  ])('GIVEN the wrapping key as %s WHEN decrypting THEN it succeeds', async (_d, key) => {
    const r = await runCli(args('small.txt', moto.endpoint, '--key-id', key()), creds);
    expect(r.code).toBe(0);
    expect(r.stdout.toString()).toBe('small plaintext');
  });

  test.each([
    ['its ARN', () => keyB.arn, () => keyB.arn],
    ['an alias', () => 'alias/cli/b', () => 'alias/cli/b'],
    ['its id', () => keyB.id, () => keyB.id],
  ])('GIVEN an endpoint that ignores Decrypt KeyId and another key as %s WHEN decrypting THEN exit 1 naming both keys, nothing written', async (_d, key, shown) => {
    const proxy = await startProxy(moto.endpoint, { dropDecryptKeyId: true });
    const out = path.join(work, 'wrong.out');
    try {
      const r = await runCli(args('small.txt', proxy.url, '--key-id', key(), '--out', out), creds);
      expect(r.code).toBe(1);
      expect(r.stderr.trim()).toBe(`cdk-cmek decrypt: s3://${BUCKET}/small.txt: the data key is wrapped under ${keyA.arn}, not under --key-id ${shown()}`);
      expect(listDir(work)).toEqual([]);
      expect(proxy.requests).toContain('KMS:Decrypt');
    } finally {
      await proxy.close();
    }
  });

  test('GIVEN another key and an honest endpoint WHEN decrypting THEN KMS itself refuses and nothing is written', async () => {
    const out = path.join(work, 'wrong.out');
    const r = await runCli(args('small.txt', moto.endpoint, '--key-id', keyB.arn, '--out', out), creds);
    // KMS answers IncorrectKeyException (exit 1); moto answers AccessDeniedException (exit 2).
    expect([1, 2]).toContain(r.code);
    expect(r.stderr).toMatch(/KMS refused to unwrap|access denied/);
    expect(listDir(work)).toEqual([]);
  });

  test('GIVEN an alias that does not exist WHEN decrypting THEN exit 2 before the object is read', async () => {
    const r = await runCli(args('small.txt', moto.endpoint, '--key-id', 'alias/cli/none'), creds);
    expect(r.code).toBe(2);
    expect(r.stderr.trim()).toBe('cdk-cmek decrypt: `--key-id` names no KMS key: "alias/cli/none" does not exist');
  });

  test('GIVEN a plaintext larger than the stdout limit WHEN decrypted in process without --out THEN refused before the key is unwrapped', async () => {
    const sink: Buffer[] = [];
    const stdout = new Writable({
      write: (c: Buffer, _e, cb) => {
        sink.push(c);
        cb();
      },
    });
    await expect(decryptObject({ s3, kms, bucket: BUCKET, key: 'big.bin', context: { app: 'cli' }, stdout, stdoutMaxBytes: 1024 })).rejects.toThrow(
      `s3://${BUCKET}/big.bin is ${BIG + 16} bytes, more than decrypt holds in memory for stdout (1024): pass --out FILE`,
    );
    expect(sink).toHaveLength(0);
  });
});
