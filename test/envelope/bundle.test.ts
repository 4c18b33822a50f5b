// The bundled handler as Lambda runs it: the SDK stays out of a cold require, and the bundle round-trips on moto.
import { execFileSync, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, statSync, promises as fs } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { CreateKeyCommand, KMSClient } from '@aws-sdk/client-kms';
import { CreateBucketCommand, S3Client } from '@aws-sdk/client-s3';
import { decryptObject } from '../../src/cli/decrypt';
import { Emulator, LOCAL_AWS, REPO_ROOT, startMoto } from '../support/moto';

jest.setTimeout(120_000);

const HANDLER = path.join(REPO_ROOT, 'assets', 'envelope', 'envelope.lambda', 'index.js');
const SDK = path.join(REPO_ROOT, 'assets', 'envelope', 'envelope-sdk.lambda', 'index.js');

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
  });
});
