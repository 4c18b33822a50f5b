// The bundled handler as Lambda runs it: the SDK stays out of a cold require, and the bundle round-trips on moto.
import { execFileSync, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, readdirSync, statSync, promises as fs } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Readable } from 'node:stream';
import { CreateKeyCommand, KMSClient } from '@aws-sdk/client-kms';
import { CreateBucketCommand, GetObjectCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import { buildSync } from 'esbuild';
import { decryptObject } from '../../src/cli/decrypt';
import { handler, useClients } from '../../src/envelope/runtime/envelope.lambda';
import { ensureCliBundle } from '../monitoring/support/bundle';
import { Emulator, LOCAL_AWS, REPO_ROOT, startMoto } from '../support/moto';

jest.setTimeout(120_000);

const HANDLER = path.join(REPO_ROOT, 'assets', 'envelope', 'runtime', 'envelope.lambda', 'index.js');
const SDK = path.join(REPO_ROOT, 'assets', 'envelope', 'runtime', 'envelope-sdk.lambda', 'index.js');

/** Rebuilds a bundle the bundle task has not produced yet, or produced before its source last changed. */
function ensureBundle(outfile: string, entry: string): void {
  const dir = path.join(REPO_ROOT, 'src', 'envelope');
  const newest = Math.max(...readdirSync(dir, { recursive: true, encoding: 'utf8' }).map((f) => statSync(path.join(dir, f)).mtimeMs));
  if (existsSync(outfile) && statSync(outfile).mtimeMs >= newest) return;
  buildSync({ entryPoints: [entry], bundle: true, platform: 'node', target: 'node22', minify: true, mainFields: ['module', 'main'], outfile, logLevel: 'error' });
}

beforeAll(() => {
  ensureBundle(HANDLER, path.join(REPO_ROOT, 'src', 'envelope', 'runtime', 'envelope.lambda.ts'));
  ensureBundle(SDK, path.join(REPO_ROOT, 'src', 'envelope', 'runtime', 'envelope-sdk.lambda.ts'));
});

describe('bundled envelope handler', () => {
  test('GIVEN the bundles WHEN measured THEN the handler file is small and both exist (built by the bundle task)', () => {
    expect(existsSync(HANDLER)).toBe(true);
    expect(existsSync(SDK)).toBe(true);
    expect(statSync(HANDLER).size).toBeLessThan(64 * 1024);
  });

  test('GIVEN a fresh Node process WHEN the handler is required and answers a Delete of nothing THEN no SDK module was loaded', () => {
    const script = `
      const h = require(${JSON.stringify(HANDLER)});
      h.handler({ RequestType: 'Delete', PhysicalResourceId: 'AWSCDK::CustomResourceProviderFramework::CREATE_FAILED', ResourceProperties: {} })
        .then(() => console.log(JSON.stringify(Object.keys(require.cache))));
    `;
    const out = execFileSync(process.execPath, ['-e', script], { encoding: 'utf8' }).trim().split('\n');
    const loaded: string[] = JSON.parse(out[out.length - 1]);
    expect(loaded).toContain(HANDLER);
    expect(loaded.some((f) => f.includes('envelope-sdk.lambda'))).toBe(false);
  });

  describe('on moto', () => {
    let moto: Emulator;
    let tmp: string;
    beforeAll(async () => {
      moto = await startMoto();
      tmp = await fs.mkdtemp(path.join(os.tmpdir(), 'envelope-bundle-'));
    });
    afterAll(async () => {
      await moto?.stop();
      if (tmp) await fs.rm(tmp, { recursive: true, force: true });
    });

    test('GIVEN the bundled handler with its bundled SDK WHEN it writes an object THEN cdk-cmek decrypt reads it back', async () => {
      const s3 = new S3Client({ ...LOCAL_AWS, endpoint: moto.endpoint, forcePathStyle: true });
      const kms = new KMSClient({ ...LOCAL_AWS, endpoint: moto.endpoint });
      await s3.send(new CreateBucketCommand({ Bucket: 'bundle', CreateBucketConfiguration: { LocationConstraint: 'eu-west-1' } }));
      const keyArn = (await kms.send(new CreateKeyCommand({}))).KeyMetadata!.Arn!;
      const text = randomBytes(3000).toString('hex');
      // A plain Node process, as in Lambda: the bundles' own SDK copy, only the endpoint differs.
      const script = `
        const sdk = require(${JSON.stringify(SDK)});
        const h = require(${JSON.stringify(HANDLER)});
        const cfg = { region: 'eu-west-1', endpoint: process.env.ENDPOINT, credentials: { accessKeyId: 'testing', secretAccessKey: 'testing' } };
        h.useClients({ s3: new sdk.S3Client({ ...cfg, forcePathStyle: true }), kms: new sdk.KMSClient(cfg) });
        h.handler({ RequestType: 'Create', RequestId: 'r', StackId: 's', LogicalResourceId: 'L', ResourceProperties: JSON.parse(process.env.PROPS) })
          .then((r) => console.log('RESULT ' + JSON.stringify(r)), (e) => { console.log('FAILED ' + e.message); process.exit(1); });
      `;
      const props = { Bucket: 'bundle', ObjectKey: 'o', KeyArn: keyArn, Format: 'V3', EncryptionContext: { a: 'b' }, Source: { type: 'inline', text } };
      const r = spawnSync(process.execPath, ['-e', script], { encoding: 'utf8', env: { ...process.env, ENDPOINT: moto.endpoint, PROPS: JSON.stringify(props) } });
      const result = r.stdout.split('\n').find((l) => l.startsWith('RESULT '));
      expect(r.status).toBe(0);
      expect(JSON.parse(result!.slice('RESULT '.length)).Data.ObjectKey).toBe('o');
      const out = path.join(tmp, 'o');
      await decryptObject({ s3, kms, bucket: 'bundle', key: 'o', context: { a: 'b' }, out });
      expect((await fs.readFile(out)).toString()).toBe(text);
    });

    test('GIVEN the bundled cdk-cmek binary WHEN it decrypts a good and a tampered object THEN the file, then exit 1 with one line and no file', async () => {
      const cli = ensureCliBundle();
      const s3 = new S3Client({ ...LOCAL_AWS, endpoint: moto.endpoint, forcePathStyle: true });
      const kms = new KMSClient({ ...LOCAL_AWS, endpoint: moto.endpoint });
      await s3.send(new CreateBucketCommand({ Bucket: 'cli-bin', CreateBucketConfiguration: { LocationConstraint: 'eu-west-1' } }));
      const keyArn = (await kms.send(new CreateKeyCommand({}))).KeyMetadata!.Arn!;
      useClients({ s3, kms });
      const log = jest.spyOn(console, 'log').mockImplementation(() => undefined);
      try {
        for (const key of ['good', 'bad']) {
          await handler({
            RequestType: 'Create',
            RequestId: key,
            StackId: 's',
            LogicalResourceId: 'L',
            ResourceProperties: { Bucket: 'cli-bin', ObjectKey: key, KeyArn: keyArn, Format: 'V3', EncryptionContext: { app: 'x' }, Source: { type: 'inline', text: `plain ${key}` } },
          } as any);
        }
      } finally {
        log.mockRestore();
      }
      const bad = await s3.send(new GetObjectCommand({ Bucket: 'cli-bin', Key: 'bad' }));
      const body = Buffer.from(await bad.Body!.transformToByteArray());
      body[0] = body[0] === 0 ? 1 : 0;
      await s3.send(new PutObjectCommand({ Bucket: 'cli-bin', Key: 'bad', Body: body, Metadata: bad.Metadata }));
      // Node's own warnings stay on, and the SDK's switch unset: the CLI alone must keep stderr to its one line.
      const env: NodeJS.ProcessEnv = { ...process.env, AWS_ACCESS_KEY_ID: 'testing', AWS_SECRET_ACCESS_KEY: 'testing' };
      delete env.NODE_NO_WARNINGS;
      delete env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED;
      const run = (key: string, out: string) => spawnSync(process.execPath, [cli, 'decrypt', `s3://cli-bin/${key}`, '--out', out, '--context', 'app=x', '--region', 'eu-west-1', '--endpoint-url', moto.endpoint], {
        encoding: 'utf8',
        env,
      });
      const good = run('good', path.join(tmp, 'good'));
      expect(good.status).toBe(0);
      expect(good.stderr).toBe(`decrypted 10 bytes (format V3, data key unwrapped by ${keyArn}) to ${path.join(tmp, 'good')}\n`);
      expect((await fs.readFile(path.join(tmp, 'good'))).toString()).toBe('plain good');
      const rejected = run('bad', path.join(tmp, 'bad'));
      expect(rejected.status).toBe(1);
      expect(rejected.stderr.trim()).toBe('cdk-cmek decrypt: s3://cli-bin/bad: authentication tag does not match: the body or its metadata was altered or truncated');
      expect(existsSync(path.join(tmp, 'bad'))).toBe(false);
    });

    test('GIVEN 96 MiB and 224 MiB assets WHEN the bundled handler encrypts each in a fresh process THEN its live memory does not grow with the object', async () => {
      const s3 = new S3Client({ ...LOCAL_AWS, endpoint: moto.endpoint, forcePathStyle: true });
      const kms = new KMSClient({ ...LOCAL_AWS, endpoint: moto.endpoint });
      await s3.send(new CreateBucketCommand({ Bucket: 'mem', CreateBucketConfiguration: { LocationConstraint: 'eu-west-1' } }));
      const keyArn = (await kms.send(new CreateKeyCommand({}))).KeyMetadata!.Arn!;
      const peakMiB = async (mib: number): Promise<number> => {
        const key = `asset-${mib}`;
        // Streamed up, so this process never holds the asset either.
        async function* chunks() {
          for (let i = 0; i < mib; i++) yield randomBytes(1024 * 1024);
        }
        await new Upload({ client: s3, params: { Bucket: 'mem', Key: key, Body: Readable.from(chunks()) } }).done();
        // Live memory (heap and buffers) sampled in the child between frequent collections: RSS keeps garbage and
        // allocator slack, and getrusage's maxrss even includes what the parent held when it forked.
        const script = `
          let peak = 0;
          const live = () => { const m = process.memoryUsage(); return m.heapUsed + m.arrayBuffers; };
          setInterval(() => global.gc(), 20).unref();
          setInterval(() => { peak = Math.max(peak, live()); }, 10).unref();
          const sdk = require(${JSON.stringify(SDK)});
          const h = require(${JSON.stringify(HANDLER)});
          const cfg = { region: 'eu-west-1', endpoint: process.env.ENDPOINT, credentials: { accessKeyId: 'testing', secretAccessKey: 'testing' } };
          h.useClients({ s3: new sdk.S3Client({ ...cfg, forcePathStyle: true }), kms: new sdk.KMSClient(cfg) });
          const log = console.log;
          console.log = () => undefined;
          h.handler({ RequestType: 'Create', RequestId: process.env.KEY, StackId: 's', LogicalResourceId: 'L', ResourceProperties: JSON.parse(process.env.PROPS) })
            .then(() => log('PEAK ' + peak), (e) => { log('FAILED ' + e.message); process.exit(1); });
        `;
        const props = { Bucket: 'mem', ObjectKey: `enc-${mib}`, KeyArn: keyArn, Format: 'V3', Source: { type: 'asset', bucket: 'mem', key } };
        const r = spawnSync(process.execPath, ['--expose-gc', '-e', script], {
          encoding: 'utf8',
          env: { ...process.env, ENDPOINT: moto.endpoint, KEY: key, PROPS: JSON.stringify(props) },
        });
        const line = r.stdout.split('\n').find((l) => l.startsWith('PEAK '));
        expect(line).toBeDefined();
        return Number(line!.slice(5)) / (1024 * 1024);
      };
      const small = await peakMiB(96);
      const large = await peakMiB(224);
      // Streaming holds a few 8 MiB parts whatever the size (~70 MiB here); buffering would add 128 MiB or more.
      expect(large).toBeLessThan(128);
      expect(large - small).toBeLessThan(32);
      // 320 MiB through moto in two fresh processes: minutes when other jobs share the cores.
    }, 600_000);
  });
});
