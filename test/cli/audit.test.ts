// `cdk-cmek audit` in process (mocked KMS) for output and exit codes, then the bundled binary against a local KMS endpoint.
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { DescribeKeyCommand, GetKeyLastUsageCommand, KMSClient, ListAliasesCommand, ListKeysCommand } from '@aws-sdk/client-kms';
import { mockClient } from 'aws-sdk-client-mock';
import { startKmsServer, type KmsServer } from './audit-kms-server';
import { auditCommand, auditErrorMessage } from '../../src/cli/audit';
import { ensureCliBundle } from '../monitoring/support/bundle';
import { FakeClock } from '../monitoring/support/fake-clock';

const NOW = new Date('2026-11-23T12:00:00Z');
const daysBefore = (d: number) => new Date(NOW.getTime() - d * 86_400_000);

class Capture {
  text = '';
  isTTY = false;
  write(s: string) {
    this.text += s;
    return true;
  }
}

describe('cdk-cmek audit (in process)', () => {
  const kms = mockClient(KMSClient);
  const client = new KMSClient({ region: 'eu-west-1', credentials: { accessKeyId: 'x', secretAccessKey: 'y' } });

  beforeEach(() => {
    kms.reset();
    kms.on(ListKeysCommand).resolves({ Keys: [{ KeyId: 'k-old' }, { KeyId: 'k-new' }, { KeyId: 'k-never' }], Truncated: false });
    kms.on(ListAliasesCommand).resolves({ Aliases: [{ AliasName: 'alias/cmek/acme', TargetKeyId: 'k-old' }], Truncated: false });
    kms.on(DescribeKeyCommand).callsFake((input) => ({
      KeyMetadata: { KeyId: input.KeyId, Arn: `arn:aws:kms:eu-west-1:111122223333:key/${input.KeyId}`, KeyManager: 'CUSTOMER', KeyState: 'Enabled' },
    }));
    kms.on(GetKeyLastUsageCommand).callsFake((input) => {
      const id = String(input.KeyId).split('/').pop();
      const used = { 'k-old': daysBefore(400), 'k-new': daysBefore(3) }[id as 'k-old' | 'k-new'];
      return {
        KeyLastUsage: used ? { Operation: 'GenerateDataKey', Timestamp: used } : undefined,
        TrackingStartDate: new Date('2026-04-23T00:00:00Z'),
        KeyCreationDate: new Date('2025-06-01T00:00:00Z'),
      };
    });
  });

  async function run(days: string, json = false) {
    const stdout = new Capture();
    const stderr = new Capture();
    const clock = new FakeClock(NOW);
    const code = await clock.run(auditCommand({ days, json }, { stdout, stderr, clock }, client));
    return { code, stdout: stdout.text, stderr: stderr.text };
  }

  test('GIVEN a key unused past the threshold WHEN audited THEN the table marks it, stars the never-used key and exits 1', async () => {
    const { code, stdout, stderr } = await run('365');
    expect(code).toBe(1);
    const rows = stdout.split('\n').filter((l) => l.includes('k-'));
    expect(rows[0]).toMatch(/alias\/cmek\/acme.*k-old.*111122223333.*eu-west-1.*2025-10-19.*GenerateDataKey.*400 !/);
    expect(rows[1]).toMatch(/k-never.*2026-04-23 \*.*214 /);
    expect(rows[2]).toMatch(/k-new.*2026-11-20.*GenerateDataKey.*3 /);
    expect(stdout).toContain('1 of 3 customer-managed keys unused for more than 365 days');
    expect(stdout).toContain('* no use recorded since tracking started on 2026-04-23; last use alone does not prove a key unneeded');
    expect(stderr).toBe(''); // no progress when stderr is not a terminal
  });

  test('GIVEN every key used within the threshold WHEN audited with --json THEN it prints JSON only and exits 0', async () => {
    const { code, stdout } = await run('500', true);
    expect(code).toBe(0);
    const report = JSON.parse(stdout);
    expect(report).toMatchObject({ thresholdDays: 500, unusedKeyCount: 0 });
    expect(report.keys.find((k: any) => k.keyId === 'k-never')).toMatchObject({ neverUsed: true, countedFrom: '2026-04-23T00:00:00.000Z', daysSinceLastUse: 214 });
  });

  test('GIVEN --days 0 WHEN audited THEN it exits 2 naming the flag and calls nothing', async () => {
    const { code, stderr } = await run('0');
    expect(code).toBe(2);
    expect(stderr).toBe('cdk-cmek audit: `--days` must be an integer ≥ 1, got: "0"\n');
    expect(kms.calls()).toHaveLength(0);
  });

  test('GIVEN a region without GetKeyLastUsage WHEN audited THEN one clear line and exit 2', async () => {
    kms.on(GetKeyLastUsageCommand).rejects(Object.assign(new Error('The operation is not supported'), { name: 'UnknownOperationException' }));
    const { code, stderr, stdout } = await run('365');
    expect(code).toBe(2);
    expect(stdout).toBe('');
    expect(stderr).toContain('cdk-cmek audit: GetKeyLastUsage is not available in region eu-west-1');
  });

  test.each([
    [{ name: 'CredentialsProviderError', message: 'Could not load credentials from any providers' }, 'no AWS credentials found'],
    [{ name: 'Error', message: 'Region is missing' }, 'no AWS region: pass --region or set AWS_REGION'],
    [{ name: 'AccessDeniedException', message: 'User is not authorized' }, 'access denied: the audit needs kms:ListKeys'],
  ])('GIVEN %o WHEN explained THEN the message starts with %s', (err, expected) => {
    expect(auditErrorMessage(Object.assign(new Error(err.message), { name: err.name }), 'eu-west-1')).toContain(expected);
  });
});

describe('cdk-cmek audit (bundled binary, local KMS endpoint)', () => {
  let bin: string;
  let server: KmsServer | undefined;
  const home = fs.mkdtempSync(path.join(os.tmpdir(), 'cdk-cmek-audit-'));

  beforeAll(() => {
    bin = ensureCliBundle();
  }, 60_000);
  afterEach(async () => {
    await server?.close();
    server = undefined;
  });

  function cli(args: string[], env: Record<string, string>): Promise<{ code: number | null; stdout: string; stderr: string }> {
    return new Promise((resolve) => {
      // A clean environment: no profile, no instance metadata, nothing from the developer's own AWS setup.
      const child = spawn(process.execPath, [bin, ...args], {
        env: { PATH: process.env.PATH!, HOME: home, AWS_EC2_METADATA_DISABLED: 'true', AWS_CONFIG_FILE: path.join(home, 'none'), AWS_SHARED_CREDENTIALS_FILE: path.join(home, 'none'), ...env },
      });
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (d) => (stdout += d));
      child.stderr.on('data', (d) => (stderr += d));
      child.on('close', (code) => resolve({ code, stdout, stderr }));
    });
  }
  const creds = { AWS_ACCESS_KEY_ID: 'AKIDLOCAL', AWS_SECRET_ACCESS_KEY: 'local' };

  test('GIVEN keys over several pages WHEN the binary audits them THEN it prints the table, reports progress and exits 1', async () => {
    const now = Date.now();
    const ago = (d: number) => new Date(now - d * 86_400_000);
    server = await startKmsServer(
      [
        { id: '11111111-aaaa-4aaa-8aaa-000000000001', created: new Date('2025-01-01T00:00:00Z'), lastUsed: { at: ago(2), operation: 'Decrypt' }, aliases: ['alias/cmek/acme'] },
        { id: '11111111-aaaa-4aaa-8aaa-000000000002', created: new Date('2025-01-01T00:00:00Z'), lastUsed: { at: ago(150), operation: 'Encrypt' } },
        { id: '11111111-aaaa-4aaa-8aaa-000000000003', created: new Date('2025-01-01T00:00:00Z'), manager: 'AWS' },
        { id: '11111111-aaaa-4aaa-8aaa-000000000004', created: new Date('2025-01-01T00:00:00Z'), state: 'PendingDeletion' },
        { id: '11111111-aaaa-4aaa-8aaa-000000000005', created: new Date('2025-01-01T00:00:00Z'), aliases: ['alias/cmek/never'] },
      ],
      { pageSize: 2 },
    );
    const r = await cli(['audit', '--days', '100', '--region', 'eu-west-1', '--endpoint-url', server.url], creds);
    expect(r.stderr).not.toContain('auditing'); // stderr is a pipe: no progress
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/alias\/cmek\/acme.*000000000001.*111122223333.*eu-west-1.*Decrypt.*\b2 /);
    expect(r.stdout).toMatch(/000000000002.*Encrypt.*150 !/);
    expect(r.stdout).toMatch(/alias\/cmek\/never.*000000000005.*2026-04-23 \*/);
    expect(r.stdout).not.toContain('000000000003');
    expect(r.stdout).not.toContain('000000000004');
    expect(server.calls.filter((c) => c === 'ListKeys')).toHaveLength(3);
    expect(server.calls.filter((c) => c === 'ListAliases')).toHaveLength(2); // 3 aliases, 2 per page
    expect(server.calls.filter((c) => c === 'GetKeyLastUsage')).toHaveLength(3);
  }, 30_000);

  test('GIVEN --json and keys within the threshold WHEN the binary audits them THEN stdout is the JSON report and the exit code 0', async () => {
    server = await startKmsServer([{ id: 'k1', created: new Date('2026-01-01T00:00:00Z'), lastUsed: { at: new Date(Date.now() - 86_400_000), operation: 'Sign' } }]);
    const r = await cli(['audit', '--json', '--region', 'eu-west-1', '--endpoint-url', server.url], creds);
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ thresholdDays: 365, unusedKeyCount: 0, keys: [{ keyId: 'k1', operation: 'Sign', daysSinceLastUse: 1 }] });
  }, 30_000);

  test('GIVEN an endpoint without GetKeyLastUsage WHEN the binary audits THEN one clear line and exit 2', async () => {
    server = await startKmsServer([{ id: 'k1', created: new Date('2026-01-01T00:00:00Z') }], { getKeyLastUsageUnsupported: true });
    const r = await cli(['audit', '--region', 'eu-west-1', '--endpoint-url', server.url], creds);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('cdk-cmek audit: GetKeyLastUsage is not available in region eu-west-1');
    expect(r.stderr).not.toMatch(/\n\s+at /); // no stack trace
  }, 30_000);

  test('GIVEN --alias-prefix without alias/ WHEN the binary audits THEN it selects alias/cmek/ keys, as KMS spells them', async () => {
    const created = new Date('2025-01-01T00:00:00Z');
    server = await startKmsServer([
      { id: 'k-cmek', created, aliases: ['alias/cmek/acme'] },
      { id: 'k-other', created, aliases: ['alias/other/x'] },
      { id: 'k-bare', created },
    ]);
    const r = await cli(['audit', '--json', '--alias-prefix', 'cmek/', '--region', 'eu-west-1', '--endpoint-url', server.url], creds);
    expect(r.code).toBe(0);
    const report = JSON.parse(r.stdout);
    expect(report.keys.map((k: { keyId: string }) => k.keyId)).toEqual(['k-cmek']);
    expect(report.skipped.notSelected).toBe(2);
  }, 30_000);

  test('GIVEN --alias-prefix that no alias starts with WHEN the binary audits THEN exit 0 with a one-line note on stderr', async () => {
    server = await startKmsServer([{ id: 'k1', created: new Date('2025-01-01T00:00:00Z'), aliases: ['alias/cmek/acme'] }]);
    const r = await cli(['audit', '--alias-prefix', 'alias/cmk/', '--region', 'eu-west-1', '--endpoint-url', server.url], { ...creds, NODE_NO_WARNINGS: '1' });
    expect(r.code).toBe(0);
    expect(r.stderr.trim().split('\n').pop()).toBe('cdk-cmek audit: no customer-managed key has an alias starting with alias/cmk/ (1 keys not selected)');
    expect(server.calls).not.toContain('GetKeyLastUsage');
  }, 30_000);

  test('GIVEN a reader that closes stdout at once (| head -0) WHEN the binary reports an unused key THEN it still exits 1, without a stack trace', async () => {
    server = await startKmsServer(
      Array.from({ length: 40 }, (_, i) => ({ id: `k${i}`, created: new Date('2025-01-01T00:00:00Z'), aliases: [`alias/cmek/${'x'.repeat(200)}${i}`] })),
      { pageSize: 100 },
    );
    const child = spawn(process.execPath, [bin, 'audit', '--days', '30', '--region', 'eu-west-1', '--endpoint-url', server.url], {
      env: { PATH: process.env.PATH!, HOME: home, AWS_EC2_METADATA_DISABLED: 'true', NODE_NO_WARNINGS: '1', ...creds },
    });
    child.stdout.destroy();
    let stderr = '';
    child.stderr.on('data', (d) => (stderr += d));
    const code = await new Promise((resolve) => child.on('close', resolve));
    expect(stderr).not.toMatch(/\n\s+at /);
    expect(code).toBe(1);
  }, 30_000);

  test('GIVEN no credentials WHEN the binary audits THEN it says so in one line and exits 2', async () => {
    server = await startKmsServer([{ id: 'k1', created: new Date('2026-01-01T00:00:00Z') }]);
    const r = await cli(['audit', '--region', 'eu-west-1', '--endpoint-url', server.url], {});
    expect(r.code).toBe(2);
    // The last line (Node 20 also gets the SDK's own Node-version warning above it).
    expect(r.stderr.trim().split('\n').pop()).toMatch(/^cdk-cmek audit: no AWS credentials found/);
    expect(server.calls).toHaveLength(0);
  }, 30_000);
});
