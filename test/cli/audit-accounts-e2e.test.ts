// The bundled `cdk-cmek audit` across 3 accounts × 3 Regions: AssumeRole and GetCallerIdentity on moto's STS, KMS on
// the local audit server, which tells accounts apart by the caller's access key (moto maps assumed-role keys to the
// role's account) and Regions by the SigV4 scope.
import * as fs from 'node:fs';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { GetCallerIdentityCommand, STSClient } from '@aws-sdk/client-sts';
import { startKmsServer, type KmsServer, type ServedKey } from './audit-kms-server';
import { runCli } from './cli-support';
import { startMoto, type Emulator } from '../support/moto';

const ACCOUNTS = ['111111111111', '222222222222', '333333333333'];
const REGIONS = ['eu-west-1', 'us-east-1', 'ap-southeast-2'];
const DENIED = '444444444444';
const KEYS_PER_TARGET = 7;

function maxInWindow(times: number[], ms: number): number {
  const t = [...times].sort((a, b) => a - b);
  let best = 0;
  for (let hi = 0, lo = 0; hi < t.length; hi++) {
    while (t[hi] - t[lo] >= ms) lo++;
    best = Math.max(best, hi - lo + 1);
  }
  return best;
}

/** moto's STS behind a proxy that refuses AssumeRole into DENIED (moto itself lets every AssumeRole through). */
async function denyingProxy(target: string): Promise<{ url: string; close(): Promise<void> }> {
  const up = new URL(target);
  const server = http.createServer((req, res) => {
    const parts: Buffer[] = [];
    req.on('data', (c: Buffer) => parts.push(c));
    req.on('end', () => {
      const body = Buffer.concat(parts);
      if (decodeURIComponent(body.toString()).includes(`arn:aws:iam::${DENIED}:role/`)) {
        res.writeHead(403, { 'content-type': 'text/xml' });
        res.end(
          '<ErrorResponse><Error><Type>Sender</Type><Code>AccessDenied</Code><Message>User: arn:aws:iam::123456789012:user/moto '
            + `is not authorized to perform: sts:AssumeRole on resource: arn:aws:iam::${DENIED}:role/Audit</Message></Error><RequestId>r</RequestId></ErrorResponse>`,
        );
        return;
      }
      const p = http.request({ host: up.hostname, port: up.port, method: req.method, path: req.url, headers: req.headers }, (r) => {
        res.writeHead(r.statusCode ?? 502, r.headers);
        r.pipe(res);
      });
      p.end(body);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: () => new Promise((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    }),
  };
}

describe('cdk-cmek audit across accounts and Regions (bundled binary, moto STS, local KMS)', () => {
  let moto: Emulator;
  let sts: { url: string; close(): Promise<void> };
  let kms: KmsServer;
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cdk-cmek-audit-accounts-'));
  const accountsFile = path.join(dir, 'accounts.txt');

  beforeAll(async () => {
    moto = await startMoto();
    sts = await denyingProxy(moto.endpoint);
    const created = new Date('2025-01-01T00:00:00Z');
    kms = await startKmsServer(
      (account, region): ServedKey[] =>
        Array.from({ length: KEYS_PER_TARGET }, (_, i) => ({
          id: `${account}-${region}-${i}`,
          created,
          // Key 0 of each account+Region has no recorded use; the others were used yesterday.
          lastUsed: i === 0 ? undefined : { at: new Date(Date.now() - 86_400_000), operation: 'Decrypt' },
          aliases: i === 0 ? [`alias/cmek/idle-${region}`] : undefined,
        })),
      {
        pageSize: 100,
        accountOf: async (accessKeyId, sessionToken) => {
          const client = new STSClient({ region: 'us-east-1', endpoint: moto.endpoint, credentials: { accessKeyId, secretAccessKey: 'x', sessionToken } });
          return (await client.send(new GetCallerIdentityCommand({}))).Account!;
        },
      },
    );
    fs.writeFileSync(accountsFile, `# audited accounts\n${ACCOUNTS.join('\n')}\n`);
  }, 120_000);
  afterAll(async () => {
    await kms?.close();
    await sts?.close();
    await moto?.stop();
  });

  const env = () => ({
    AWS_ACCESS_KEY_ID: 'AKIAIOSFODNN7EXAMPLE',
    AWS_SECRET_ACCESS_KEY: 'local',
    AWS_REGION: 'eu-west-1',
    AWS_ENDPOINT_URL_STS: sts.url,
  });

  test('GIVEN an accounts file and --assume-role WHEN the binary audits 3 Regions THEN every account+Region is audited at ≤ 5 GetKeyLastUsage/s each', async () => {
    const before = kms.requests.length;
    const r = await runCli(['audit', '--json', '--days', '100', '--accounts', accountsFile, '--assume-role', 'Audit', '--regions', REGIONS.join(','), '--endpoint-url', kms.url], env());
    expect(r.stderr).toBe('');
    expect(r.code).toBe(1);
    const report = JSON.parse(r.stdout.toString());
    expect(report).toMatchObject({ accounts: ACCOUNTS, regions: REGIONS, failures: [], unusedKeyCount: 9 });
    // Each key's ARN carries the account and Region the server saw: the assumed role's account, the SigV4 Region.
    for (const k of report.keys) expect(k.keyArn).toBe(`arn:aws:kms:${k.region}:${k.account}:key/${k.account}-${k.region}-${k.keyId.split('-').pop()}`);
    expect(new Set(report.keys.map((k: { account: string; region: string }) => `${k.account}/${k.region}`)).size).toBe(9);
    const usage = kms.requests.slice(before).filter((q) => q.op === 'GetKeyLastUsage');
    expect(usage).toHaveLength(9 * KEYS_PER_TARGET);
    for (const a of ACCOUNTS) {
      for (const region of REGIONS) {
        const times = usage.filter((q) => q.account === a && q.region === region).map((q) => q.at);
        expect(times).toHaveLength(KEYS_PER_TARGET);
        // Arrival times on a loaded machine jitter by tens of ms around the 200 ms spacing; the exact 1 s window is
        // checked on the virtual clock (audit-accounts.test.ts). Without the limiter all 7 would arrive at once.
        expect(maxInWindow(times, 900)).toBeLessThanOrEqual(5);
      }
    }
    // Concurrently across account+Regions: far more than 5 in the busiest second overall.
    expect(maxInWindow(usage.map((q) => q.at), 1000)).toBeGreaterThan(15);
  }, 60_000);

  test('GIVEN an account whose role cannot be assumed WHEN the binary audits THEN a line names it, the others are audited and the exit code is 2', async () => {
    const r = await runCli(['audit', '--days', '100', '--accounts', `${ACCOUNTS[0]},${DENIED}`, '--assume-role', 'Audit', '--regions', 'eu-west-1', '--endpoint-url', kms.url], env());
    expect(r.code).toBe(2);
    const out = r.stdout.toString();
    expect(out).toMatch(new RegExp(`alias/cmek/idle-eu-west-1.*${ACCOUNTS[0]}.*eu-west-1.*2026-04-23 \\*.*!`));
    expect(out.split('\n').filter((l) => l.startsWith('account '))).toEqual([
      `account ${DENIED}: cannot assume role Audit: User: arn:aws:iam::123456789012:user/moto is not authorized to perform: sts:AssumeRole on resource: arn:aws:iam::${DENIED}:role/Audit`,
    ]);
    expect(out).toContain('* no use recorded since tracking started on 2026-04-23; last use alone does not prove a key unneeded');
    expect(r.stderr.trim()).toBe('cdk-cmek audit: incomplete: 1 account or account+Region failures (listed in the report)');
  }, 60_000);

  test('GIVEN --regions with an unknown Region name WHEN the binary runs THEN one line, exit 2, nothing called', async () => {
    const before = kms.requests.length;
    const r = await runCli(['audit', '--regions', 'eu-west-1,eu-wst', '--endpoint-url', kms.url], env());
    expect(r.code).toBe(2);
    expect(r.stderr).toBe('cdk-cmek audit: `--regions` must name Regions like eu-west-1 (or be all), got: "eu-wst"\n');
    expect(kms.requests.length).toBe(before);
  }, 30_000);
});
