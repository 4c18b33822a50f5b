// Interop with an independent Python implementation of the S3 Encryption Client formats (interop/python), on moto.
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, promises as fs } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { CreateKeyCommand, KMSClient } from '@aws-sdk/client-kms';
import { CreateBucketCommand, GetObjectCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import type { CloudFormationCustomResourceEvent } from 'aws-lambda';
import { decryptObject } from '../../src/cli/decrypt';
import { FormatVersion } from '../../src/envelope/format';
import { handler, useClients } from '../../src/envelope/runtime/envelope.lambda';
import { Emulator, LOCAL_AWS, REPO_ROOT, startMoto } from '../support/moto';

jest.setTimeout(180_000);

const PYTHON = path.join(REPO_ROOT, '.venv', 'bin', 'python');
const SCRIPT = path.join(REPO_ROOT, 'interop', 'python', 's3ec.py');
const BUCKET = 'interop';
let moto: Emulator;
let s3: S3Client;
let kms: KMSClient;
let keyArn: string;
let tmp: string;

beforeAll(async () => {
  moto = await startMoto();
  s3 = new S3Client({ ...LOCAL_AWS, endpoint: moto.endpoint, forcePathStyle: true });
  kms = new KMSClient({ ...LOCAL_AWS, endpoint: moto.endpoint });
  useClients({ s3, kms });
  await s3.send(new CreateBucketCommand({ Bucket: BUCKET, CreateBucketConfiguration: { LocationConstraint: 'eu-west-1' } }));
  keyArn = (await kms.send(new CreateKeyCommand({}))).KeyMetadata!.Arn!;
  tmp = await fs.mkdtemp(path.join(os.tmpdir(), 'envelope-interop-'));
  jest.spyOn(console, 'log').mockImplementation(() => undefined);
});

afterAll(async () => {
  await moto?.stop();
  if (tmp) await fs.rm(tmp, { recursive: true, force: true });
});

function python(args: string[]): { status: number | null; stderr: string } {
  const r = spawnSync(PYTHON, [SCRIPT, ...args, '--endpoint-url', moto.endpoint, '--region', 'eu-west-1'], {
    env: { ...process.env, AWS_ACCESS_KEY_ID: 'testing', AWS_SECRET_ACCESS_KEY: 'testing' },
    encoding: 'utf8',
  });
  return { status: r.status, stderr: r.stderr };
}

let n = 0;
async function writeWithHandler(objectKey: string, plaintext: Buffer, format: FormatVersion): Promise<void> {
  const text = plaintext.toString('base64');
  const props = {
    Bucket: BUCKET,
    ObjectKey: objectKey,
    KeyArn: keyArn,
    Format: format,
    EncryptionContext: { tenant: 't-42' },
    Source: { type: 'inline', text },
  };
  await handler({
    RequestType: 'Create',
    RequestId: `r${++n}`,
    StackId: 's',
    LogicalResourceId: 'L',
    ResourceProperties: { ServiceToken: 'x', ...props },
  } as unknown as CloudFormationCustomResourceEvent);
}

describe('interop with the Python implementation', () => {
  test.each(['V3', 'V2'] as const)('GIVEN a %s object written by the handler WHEN the Python reader decrypts it THEN the same bytes', async (format) => {
    const plaintext = randomBytes(70_000);
    const objectKey = `ours/${format}`;
    await writeWithHandler(objectKey, plaintext, format);
    const out = path.join(tmp, `py-${format}`);
    const r = python(['get', '--bucket', BUCKET, '--key', objectKey, '--context', 'tenant=t-42', '--out', out]);
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    // The inline source carried base64 text: the plaintext is that text.
    expect((await fs.readFile(out)).toString()).toBe(plaintext.toString('base64'));
  });

  test.each(['V3', 'V2'] as const)('GIVEN a %s object written by the Python writer WHEN cdk-cmek decrypt reads it THEN the same bytes', async (format) => {
    const plaintext = randomBytes(100_001);
    const input = path.join(tmp, `in-${format}`);
    await fs.writeFile(input, plaintext);
    const objectKey = `theirs/${format}`;
    const r = python(['put', '--bucket', BUCKET, '--key', objectKey, '--kms-key', keyArn, '--format', format, '--context', 'tenant=t-42', '--in', input]);
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    const out = path.join(tmp, `ts-${format}`);
    const result = await decryptObject({ s3, kms, bucket: BUCKET, key: objectKey, context: { tenant: 't-42' }, out });
    expect(result.format).toBe(format);
    expect((await fs.readFile(out)).equals(plaintext)).toBe(true);
  });

  test('GIVEN our V3 object with a flipped x-amz-d WHEN the Python reader decrypts it THEN it is rejected and writes nothing', async () => {
    const objectKey = 'ours/flipped-d';
    await writeWithHandler(objectKey, randomBytes(10), 'V3');
    const obj = await s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: objectKey }));
    const d = Buffer.from(obj.Metadata!['x-amz-d'], 'base64');
    d[0] = d[0] === 0 ? 1 : 0;
    await s3.send(new PutObjectCommand({
      Bucket: BUCKET,
      Key: objectKey,
      Body: Buffer.from(await obj.Body!.transformToByteArray()),
      Metadata: { ...obj.Metadata, 'x-amz-d': d.toString('base64') },
    }));
    const out = path.join(tmp, 'py-flipped');
    const r = python(['get', '--bucket', BUCKET, '--key', objectKey, '--context', 'tenant=t-42', '--out', out]);
    expect(r.status).toBe(2);
    expect(r.stderr.trim()).toBe('rejected: key commitment mismatch');
    expect(existsSync(out)).toBe(false);
  });

  test('GIVEN the Python writer\'s V3 object with a flipped x-amz-d WHEN cdk-cmek decrypt reads it THEN rejected before any plaintext', async () => {
    const input = path.join(tmp, 'in-flip');
    await fs.writeFile(input, randomBytes(10));
    const objectKey = 'theirs/flipped-d';
    expect(python(['put', '--bucket', BUCKET, '--key', objectKey, '--kms-key', keyArn, '--format', 'V3', '--context', 'tenant=t-42', '--in', input]).status).toBe(0);
    const obj = await s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: objectKey }));
    const d = Buffer.from(obj.Metadata!['x-amz-d'], 'base64');
    d[27] = d[27] === 0 ? 1 : 0;
    await s3.send(new PutObjectCommand({
      Bucket: BUCKET,
      Key: objectKey,
      Body: Buffer.from(await obj.Body!.transformToByteArray()),
      Metadata: { ...obj.Metadata, 'x-amz-d': d.toString('base64') },
    }));
    const out = path.join(tmp, 'ts-flipped');
    await expect(decryptObject({ s3, kms, bucket: BUCKET, key: objectKey, context: { tenant: 't-42' }, out })).rejects.toThrow(
      'key commitment (x-amz-d) does not match',
    );
    expect(existsSync(out)).toBe(false);
  });
});
