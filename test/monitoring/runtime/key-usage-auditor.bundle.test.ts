// The bundled audit handler, run as Lambda would load it, against local KMS and CloudWatch endpoints (wire-level check).
import { spawn } from 'node:child_process';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import { startKmsServer, type KmsServer } from '../../cli/audit-kms-server';
import { ensureLambdaBundle } from '../support/bundle';

/**
 * Records CloudWatch PutMetricData requests as sent on the wire (JSON 1.0 protocol). moto 5.2.5 rejects the
 * JSON protocol that @aws-sdk/client-cloudwatch 3.1164 speaks, so the request bodies are checked here instead.
 */
async function startCloudWatchRecorder(): Promise<{ url: string; requests: { target: string; body: any }[]; close(): Promise<void> }> {
  const requests: { target: string; body: any }[] = [];
  const server = http.createServer((req, res) => {
    let body = '';
    req.on('data', (c) => (body += c));
    req.on('end', () => {
      requests.push({ target: String(req.headers['x-amz-target']), body: JSON.parse(body || '{}') });
      res.writeHead(200, { 'content-type': 'application/x-amz-json-1.0' });
      res.end('{}');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return { url: `http://127.0.0.1:${port}`, requests, close: () => new Promise((resolve) => server.close(() => resolve())) };
}

jest.setTimeout(180_000);

describe('key-usage-auditor bundle', () => {
  let cloudwatch: Awaited<ReturnType<typeof startCloudWatchRecorder>>;
  let kms: KmsServer;
  let bundle: string;

  beforeAll(async () => {
    bundle = ensureLambdaBundle('src/monitoring/runtime/key-usage-auditor.lambda.ts');
    cloudwatch = await startCloudWatchRecorder();
    const ago = (d: number) => new Date(Date.now() - d * 86_400_000);
    kms = await startKmsServer(
      [
        { id: 'recent', created: new Date('2025-01-01T00:00:00Z'), lastUsed: { at: ago(5), operation: 'Decrypt' } },
        { id: 'stale', created: new Date('2025-01-01T00:00:00Z'), lastUsed: { at: ago(150), operation: 'Encrypt' } },
        { id: 'aws-owned', created: new Date('2025-01-01T00:00:00Z'), manager: 'AWS' },
      ],
      { pageSize: 2 },
    );
  });
  afterAll(async () => {
    await kms?.close();
    await cloudwatch?.close();
  });

  function invoke(env: Record<string, string>): Promise<{ code: number | null; stdout: string; stderr: string }> {
    const harness = `require(${JSON.stringify(bundle)}).handler({}).then((r) => console.log('RESULT ' + JSON.stringify(r)), (e) => { console.error(e); process.exit(1); })`;
    return new Promise((resolve) => {
      const child = spawn(process.execPath, ['-e', harness], { env: { PATH: process.env.PATH!, ...env } });
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (d) => (stdout += d));
      child.stderr.on('data', (d) => (stderr += d));
      child.on('close', (code) => resolve({ code, stdout, stderr }));
    });
  }

  test('GIVEN customer and AWS keys WHEN the bundled handler runs THEN it sends DaysSinceLastUse per customer key and UnusedKeyCount', async () => {
    const r = await invoke({
      AWS_REGION: 'eu-west-1',
      AWS_ACCESS_KEY_ID: 'testing',
      AWS_SECRET_ACCESS_KEY: 'testing',
      AWS_ENDPOINT_URL_KMS: kms.url,
      AWS_ENDPOINT_URL_CLOUDWATCH: cloudwatch.url,
      THRESHOLD_DAYS: '100',
    });
    expect(r.stderr).not.toMatch(/Error/);
    expect(r.code).toBe(0);
    const result = JSON.parse(r.stdout.split('\n').find((l) => l.startsWith('RESULT '))!.slice(7));
    expect(result).toMatchObject({ audited: 2, unusedKeyCount: 1, unusedKeyIds: ['stale'], putMetricDataRequests: 1 });

    expect(cloudwatch.requests.map((req) => req.target)).toEqual(['GraniteServiceVersion20100801.PutMetricData']);
    const { Namespace, MetricData } = cloudwatch.requests[0].body;
    expect(Namespace).toBe('CdkCmek');
    const byKey = Object.fromEntries(
      MetricData.filter((d: any) => d.MetricName === 'DaysSinceLastUse').map((d: any) => [d.Dimensions[0].Value, [d.Dimensions[0].Name, d.Value]]),
    );
    expect(byKey).toEqual({ recent: ['KeyId', 5], stale: ['KeyId', 150] });
    expect(MetricData.find((d: any) => d.MetricName === 'UnusedKeyCount')).toMatchObject({ Value: 1, Unit: 'Count' });
  });
});
