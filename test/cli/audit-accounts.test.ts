// `cdk-cmek audit` across accounts and Regions, in process on a virtual clock: flags, rate limit per account+Region,
// failures and exit codes, Organizations and DescribeRegions.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { DescribeRegionsCommand, EC2Client } from '@aws-sdk/client-ec2';
import { KMSClient } from '@aws-sdk/client-kms';
import { ListAccountsCommand, OrganizationsClient } from '@aws-sdk/client-organizations';
import { GetCallerIdentityCommand, STSClient } from '@aws-sdk/client-sts';
import { mockClient } from 'aws-sdk-client-mock';
import { auditCommand, type AuditCliOptions, type AuditClients } from '../../src/cli/audit';
import type { AuditAccount } from '../../src/monitoring/runtime/multi-account';
import { BUILT_IN_REGIONS } from '../../src/monitoring/runtime/multi-account';
import { FakeClock } from '../monitoring/support/fake-clock';

const NOW = new Date('2026-11-23T12:00:00Z');
const DAY = 86_400_000;

class Capture {
  text = '';
  constructor(public isTTY = false) {}
  write(s: string) {
    this.text += s;
    return true;
  }
}

/** Most starts within any window [t, t + ms). */
function maxInWindow(times: number[], ms: number): number {
  const t = [...times].sort((a, b) => a - b);
  let best = 0;
  for (let hi = 0, lo = 0; hi < t.length; hi++) {
    while (t[hi] - t[lo] >= ms) lo++;
    best = Math.max(best, hi - lo + 1);
  }
  return best;
}

interface Fleet {
  /** GetKeyLastUsage virtual start times per `account/region`. */
  readonly usage: Map<string, number[]>;
  accounts(ids: string[]): AuditAccount[];
}

/**
 * KMS per account and Region without a network: each client answers from a middleware. `keysPer` keys per target;
 * key 0 of each target is unused for 400 days, the others used yesterday. GetKeyLastUsage throttles above 5/s.
 */
function fleet(clock: FakeClock, keysPer: number, opts: { denied?: string[]; failingRegions?: string[] } = {}): Fleet {
  const usage = new Map<string, number[]>();
  const client = (account: string, region: string) => {
    const kms = new KMSClient({ region, credentials: { accessKeyId: account, secretAccessKey: 'x' } });
    const ids = Array.from({ length: keysPer }, (_, i) => `${account}-${region}-k${i}`);
    const arn = (id: string) => `arn:aws:kms:${region}:${account}:key/${id}`;
    kms.middlewareStack.add(
      (_next, context) => async (args) => {
        const input = args.input as { KeyId?: string };
        const op = context.commandName;
        if (opts.failingRegions?.includes(region)) {
          throw Object.assign(new Error('The security token included in the request is invalid.'), { name: 'UnrecognizedClientException' });
        }
        let output: object;
        switch (op) {
          case 'ListKeysCommand':
            output = { Keys: ids.map((KeyId) => ({ KeyId })), Truncated: false };
            break;
          case 'ListAliasesCommand':
            output = { Aliases: [], Truncated: false };
            break;
          case 'DescribeKeyCommand':
            output = { KeyMetadata: { KeyId: input.KeyId, Arn: arn(input.KeyId!), KeyManager: 'CUSTOMER', KeyState: 'Enabled' } };
            break;
          default: {
            const times = usage.get(`${account}/${region}`) ?? [];
            const now = clock.now();
            if (maxInWindow([...times.filter((t) => now - t < 1000), now], 1000) > 5) {
              throw Object.assign(new Error('Rate exceeded'), { name: 'ThrottlingException' });
            }
            usage.set(`${account}/${region}`, [...times, now]);
            const unused = String(input.KeyId).endsWith('-k0');
            output = {
              KeyLastUsage: unused ? undefined : { Operation: 'Decrypt', Timestamp: new Date(now - DAY) },
              TrackingStartDate: new Date('2026-04-23T00:00:00Z'),
              KeyCreationDate: new Date('2025-01-01T00:00:00Z'),
            };
          }
        }
        return { output: { ...output, $metadata: {} }, response: {} };
      },
      { step: 'initialize', name: 'fakeKms' },
    );
    return kms;
  };
  return {
    usage,
    accounts: (ids) =>
      ids.map((account) => ({
        account,
        kmsFor: async (region: string) => {
          if (opts.denied?.includes(account)) {
            throw new Error(`User: arn:aws:iam::123456789012:user/ci is not authorized to perform: sts:AssumeRole on resource: arn:aws:iam::${account}:role/Audit`);
          }
          return client(account, region);
        },
      })),
  };
}

describe('cdk-cmek audit across accounts and Regions (in process, virtual clock)', () => {
  const sts = mockClient(STSClient);
  const org = mockClient(OrganizationsClient);
  const ec2 = mockClient(EC2Client);
  beforeEach(() => {
    sts.reset();
    org.reset();
    ec2.reset();
    sts.on(GetCallerIdentityCommand).resolves({ Account: '123456789012', Arn: 'arn:aws:iam::123456789012:user/ci' });
  });

  async function run(options: Partial<AuditCliOptions>, f: (clock: FakeClock) => Fleet | undefined, tty = false) {
    const stdout = new Capture();
    const stderr = new Capture(tty);
    const clock = new FakeClock(NOW);
    const fl = f(clock);
    const clients: AuditClients = {
      sts: new STSClient({ region: 'eu-west-1', credentials: { accessKeyId: 'a', secretAccessKey: 'b' } }),
      organizations: new OrganizationsClient({ region: 'us-east-1', credentials: { accessKeyId: 'a', secretAccessKey: 'b' } }),
      ec2: new EC2Client({ region: 'eu-west-1', credentials: { accessKeyId: 'a', secretAccessKey: 'b' } }),
      accounts: fl ? (ids) => fl.accounts(ids) : undefined,
    };
    const code = await clock.run(auditCommand({ days: '100', ...options }, { stdout, stderr, clock }, undefined, clients));
    return { code, stdout: stdout.text, stderr: stderr.text, fleet: fl, seconds: (clock.now() - NOW.getTime()) / 1000 };
  }

  test('GIVEN 3 accounts × 3 Regions × 20 keys WHEN audited THEN ≤ 5 GetKeyLastUsage/s per account+Region, all at once, never throttled', async () => {
    const accounts = '111111111111,222222222222,333333333333';
    const r = await run({ accounts, assumeRole: 'Audit', regions: 'eu-west-1,us-east-1,ap-southeast-2', json: true }, (c) => fleet(c, 20));
    expect(r.code).toBe(1);
    const report = JSON.parse(r.stdout);
    expect(report).toMatchObject({ accounts: accounts.split(','), regions: ['eu-west-1', 'us-east-1', 'ap-southeast-2'], failures: [], unusedKeyCount: 9 });
    expect(report.keys).toHaveLength(180);
    expect(r.fleet!.usage.size).toBe(9);
    for (const times of r.fleet!.usage.values()) {
      expect(times).toHaveLength(20); // not one throttled retry
      expect(maxInWindow(times, 1000)).toBeLessThanOrEqual(5);
    }
    // One limiter per account+Region: 20 keys at 5/s take about 4 s, not 9 × 4 s.
    expect(r.seconds).toBeLessThan(5);
    expect(maxInWindow([...r.fleet!.usage.values()].flat(), 1000)).toBe(45);
  });

  test('GIVEN an account whose role cannot be assumed WHEN audited THEN its line is reported, the others audited, and the exit code is 2', async () => {
    const r = await run(
      { accounts: '111111111111,222222222222', assumeRole: 'Audit', regions: 'eu-west-1,us-east-1' },
      (c) => fleet(c, 2, { denied: ['222222222222'] }),
    );
    expect(r.code).toBe(2); // unused keys were found too, but an incomplete audit must not look like a plain finding
    const lines = r.stdout.split('\n');
    expect(lines.filter((l) => l.startsWith('account '))).toEqual([
      'account 222222222222: cannot assume role Audit: User: arn:aws:iam::123456789012:user/ci is not authorized to perform: sts:AssumeRole on resource: arn:aws:iam::222222222222:role/Audit',
    ]);
    expect(r.stdout).toMatch(/111111111111-eu-west-1-k0.*111111111111.*eu-west-1.*2026-04-23 \*.*214 /);
    expect(r.stdout).toMatch(/111111111111-us-east-1-k1.*111111111111.*us-east-1.*2026-11-22.*Decrypt.*│ 0 /);
    expect(r.stdout).toContain('* no use recorded since tracking started on 2026-04-23; last use alone does not prove a key unneeded');
    expect(r.stderr).toBe('cdk-cmek audit: incomplete: 1 account or account+Region failures (listed in the report)\n');
  });

  test('GIVEN a Region that rejects the credentials WHEN audited THEN that account+Region is a failure line and the exit code is 2', async () => {
    const r = await run({ assumeRole: 'Audit', regions: 'eu-west-1,me-south-1', json: true }, (c) => fleet(c, 1, { failingRegions: ['me-south-1'] }));
    expect(r.code).toBe(2);
    const report = JSON.parse(r.stdout);
    expect(report.accounts).toEqual(['123456789012']); // --assume-role alone: the current account
    expect(report.failures).toEqual([
      { account: '123456789012', region: 'me-south-1', message: 'the AWS credentials were rejected (UnrecognizedClientException): refresh them and retry' },
    ]);
    expect(report.keys.map((k: { region: string }) => k.region)).toEqual(['eu-west-1']);
  });

  test('GIVEN every key used WHEN audited without failures THEN exit 0; with an unused key THEN exit 1', async () => {
    // keysPer 0 → nothing unused.
    expect((await run({ regions: 'eu-west-1,us-east-1' }, (c) => fleet(c, 0))).code).toBe(0);
    expect((await run({ regions: 'eu-west-1,us-east-1' }, (c) => fleet(c, 1))).code).toBe(1);
  });

  test('GIVEN --organization WHEN audited THEN only ACTIVE accounts from every ListAccounts page are audited', async () => {
    org
      .on(ListAccountsCommand, { NextToken: undefined })
      .resolves({ Accounts: [{ Id: '111111111111', Status: 'ACTIVE' }, { Id: '222222222222', Status: 'SUSPENDED' }], NextToken: 'p2' })
      .on(ListAccountsCommand, { NextToken: 'p2' })
      .resolves({ Accounts: [{ Id: '333333333333', Status: 'ACTIVE' }, { Id: '444444444444', Status: 'PENDING_CLOSURE' }] });
    const r = await run({ organization: true, assumeRole: 'Audit', regions: 'eu-west-1', json: true }, (c) => fleet(c, 1));
    expect(JSON.parse(r.stdout).accounts).toEqual(['111111111111', '333333333333']);
    expect(r.code).toBe(1);
  });

  test('GIVEN --regions all WHEN DescribeRegions answers THEN its Regions are audited; WHEN it fails THEN the built-in list, with a note', async () => {
    ec2.on(DescribeRegionsCommand).resolves({ Regions: [{ RegionName: 'eu-west-1' }, { RegionName: 'eu-south-2' }] });
    const ok = await run({ regions: 'all', json: true }, (c) => fleet(c, 1));
    expect(JSON.parse(ok.stdout).regions).toEqual(['eu-south-2', 'eu-west-1']);
    ec2.on(DescribeRegionsCommand).rejects(Object.assign(new Error('denied'), { name: 'UnauthorizedOperation' }));
    const fallback = await run({ regions: 'all', json: true }, (c) => fleet(c, 1));
    expect(JSON.parse(fallback.stdout).regions).toEqual(BUILT_IN_REGIONS);
    expect(fallback.stderr).toBe(`cdk-cmek audit: EC2 DescribeRegions failed; auditing the ${BUILT_IN_REGIONS.length} default Regions instead\n`);
  });

  test('GIVEN stderr is a terminal WHEN audited THEN a progress line is rewritten with \\r; otherwise stderr stays empty', async () => {
    const tty = await run({ regions: 'eu-west-1,us-east-1' }, (c) => fleet(c, 3), true);
    expect(tty.stderr).toMatch(/^\rauditing: /);
    expect(tty.stderr.endsWith('\rauditing: 2/2 account-Regions, 6/6 keys\n')).toBe(true);
    const pipe = await run({ regions: 'eu-west-1,us-east-1' }, (c) => fleet(c, 3), false);
    expect(pipe.stderr).toBe('');
  });

  const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'cdk-cmek-accounts-')), 'accounts.txt');
  fs.writeFileSync(file, '# production\n111111111111\n\n222222222222  # payments\n');

  test('GIVEN an accounts file with comments WHEN audited THEN its ids are the accounts', async () => {
    const r = await run({ accounts: file, assumeRole: 'Audit', regions: 'eu-west-1', json: true }, (c) => fleet(c, 0));
    expect(JSON.parse(r.stdout).accounts).toEqual(['111111111111', '222222222222']);
  });

  test.each<[Partial<AuditCliOptions>, string]>([
    [{ regions: 'eu-west-1,mars-north-1x' }, '`--regions` must name Regions like eu-west-1 (or be all), got: "mars-north-1x"'],
    [{ regions: 'EU-WEST-1' }, '`--regions` must name Regions like eu-west-1 (or be all), got: "EU-WEST-1"'],
    [{ accounts: '11112222333', assumeRole: 'Audit' }, '`--accounts` must hold 12-digit account ids, got: "11112222333"'],
    [{ accounts: '111122223333', organization: true, assumeRole: 'Audit' }, '`--accounts` and `--organization` exclude each other: pass one, got both (--accounts "111122223333")'],
    [{ accounts: '111122223333' }, '`--assume-role` is required with --accounts: other accounts are reached only through a role, got none'],
    [{ organization: true, assumeRole: 'arn:aws:iam::1:role/x' }, '`--assume-role` must be a role name (letters, digits and +=,.@_-), got: "arn:aws:iam::1:role/x"'],
    [{ region: 'eu-west-1', regions: 'us-east-1' }, '`--region` and `--regions` exclude each other: pass one, got: --region eu-west-1 --regions us-east-1'],
    [{ accounts: '/nonexistent/accounts.txt', assumeRole: 'Audit' }, '`--accounts` must be account ids or a readable file, got: "/nonexistent/accounts.txt"'],
  ])('GIVEN %o WHEN audited THEN one line and exit 2, before any call', async (options, line) => {
    const r = await run(options, () => undefined);
    expect(r.code).toBe(2);
    expect(r.stderr.split('\n')).toHaveLength(2);
    expect(r.stderr.startsWith(`cdk-cmek audit: ${line}`)).toBe(true);
    expect(r.stdout).toBe('');
    expect(sts.calls()).toHaveLength(0);
  });
});
