// Child process of the end-to-end envelope benchmark: the shipped handler creates one object from an S3 asset on moto,
// then each stage of that path runs alone (download, encrypt + hash, SHA-256, upload) to show where the time goes.
// Usage: node envelope-e2e-worker.js <bytes>
import { createCipheriv, createHash, randomBytes } from 'node:crypto';
import { Readable, Transform, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { CreateKeyCommand, KMSClient } from '@aws-sdk/client-kms';
import { BucketLocationConstraint, CreateBucketCommand, GetObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import { emitResult, HANDLER, HANDLER_SDK as SDK, MiB } from './support';
import { createEncryption } from '../src/envelope/format';
import { LOCAL_AWS, startMoto } from '../test/support/moto';

/** The handler's multipart settings (src/envelope/runtime/write.ts): the upload stage alone uses the same. */
const PART_SIZE = 8 * MiB;
const QUEUE_SIZE = 2;
const CHUNK = 64 * 1024;

function generated(bytes: number): Readable {
  const block = randomBytes(CHUNK);
  let left = bytes;
  return new Readable({
    highWaterMark: CHUNK,
    read() {
      if (left <= 0) return void this.push(null);
      const n = Math.min(CHUNK, left);
      left -= n;
      this.push(n === CHUNK ? block : block.subarray(0, n));
    },
  });
}

function drop(): Writable {
  return new Writable({ write: (_c, _e, done) => done() });
}

async function timed(f: () => Promise<unknown>): Promise<number> {
  const t0 = performance.now();
  await f();
  return performance.now() - t0;
}

/** Peak RSS sampled every 10 ms while `f` runs (getrusage's maximum would include the setup before it). */
async function peakRss(f: () => Promise<unknown>): Promise<{ ms: number; peakRssBytes: number }> {
  let peak = process.memoryUsage().rss;
  const timer = setInterval(() => {
    peak = Math.max(peak, process.memoryUsage().rss);
  }, 10);
  try {
    const ms = await timed(f);
    return { ms, peakRssBytes: Math.max(peak, process.memoryUsage().rss) };
  } finally {
    clearInterval(timer);
  }
}

async function main(): Promise<void> {
  const bytes = Number(process.argv[2]);
  const moto = await startMoto();
  try {
    const config = { ...LOCAL_AWS, endpoint: moto.endpoint, forcePathStyle: true };
    const s3 = new S3Client(config);
    const kms = new KMSClient(config);
    const keyArn = (await kms.send(new CreateKeyCommand({}))).KeyMetadata!.Arn!;
    const bucket = 'bench-e2e';
    const location = { LocationConstraint: LOCAL_AWS.region as BucketLocationConstraint };
    await s3.send(new CreateBucketCommand({ Bucket: bucket, CreateBucketConfiguration: location }));
    await new Upload({ client: s3, partSize: PART_SIZE, queueSize: QUEUE_SIZE, params: { Bucket: bucket, Key: 'asset', Body: generated(bytes) } }).done();

    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const sdk = require(SDK) as { KMSClient: typeof KMSClient; S3Client: typeof S3Client };
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const h = require(HANDLER) as { handler: (e: unknown) => Promise<unknown>; useClients: (c: object) => void };
    h.useClients({ s3: new sdk.S3Client(config), kms: new sdk.KMSClient(config) });
    const log = console.log;
    console.log = () => undefined;
    const create = await peakRss(() => h.handler({
      RequestType: 'Create',
      RequestId: 'bench',
      StackId: 'arn:aws:cloudformation:eu-west-1:111111111111:stack/Bench/1',
      LogicalResourceId: 'Object',
      ResourceProperties: { Bucket: bucket, ObjectKey: 'object', KeyArn: keyArn, Format: 'V3', Source: { type: 'asset', bucket, key: 'asset' } },
    }));
    console.log = log;

    // The stages alone, in the same process, with the same sizes and settings.
    const downloadMs = await timed(async () => {
      const obj = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: 'asset' }));
      await pipeline(obj.Body as Readable, drop());
    });
    const encryptHashMs = await timed(() => pipeline(generated(bytes), createEncryption('V3', randomBytes(32), { expectedBytes: bytes }).stream, drop()));
    const bareGcmMs = await timed(() => {
      const cipher = createCipheriv('aes-256-gcm', randomBytes(32), randomBytes(12));
      return pipeline(generated(bytes), new Transform({ transform: (c: Buffer, _e, done) => done(null, cipher.update(c)) }), drop());
    });
    const sha256Ms = await timed(async () => {
      const hash = createHash('sha256');
      await pipeline(generated(bytes), new Writable({
        write(c: Buffer, _e, done) {
          hash.update(c);
          done();
        },
      }));
    });
    const uploadMs = await timed(() => new Upload({ client: s3, partSize: PART_SIZE, queueSize: QUEUE_SIZE, params: { Bucket: bucket, Key: 'plain', Body: generated(bytes) } }).done());
    emitResult({ bytes, createMs: create.ms, peakRssBytes: create.peakRssBytes, downloadMs, encryptHashMs, bareGcmMs, sha256Ms, uploadMs });
  } finally {
    await moto.stop();
  }
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
