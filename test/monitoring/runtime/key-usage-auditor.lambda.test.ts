// The usage-audit handler against mocked KMS and CloudWatch: paging, key selection, never-used keys, throttling, the 5/s rate, metric batches.
import { CloudWatchClient, PutMetricDataCommand } from '@aws-sdk/client-cloudwatch';
import {
  DescribeKeyCommand,
  GetKeyLastUsageCommand,
  KMSClient,
  ListAliasesCommand,
  ListKeysCommand,
  ListResourceTagsCommand,
} from '@aws-sdk/client-kms';
import { mockClient } from 'aws-sdk-client-mock';
import { handler } from '../../../src/monitoring/runtime/key-usage-auditor.lambda';
import { FakeClock } from '../support/fake-clock';

const kms = mockClient(KMSClient);
const cloudwatch = mockClient(CloudWatchClient);
const NOW = new Date('2026-11-23T12:00:00Z');
const TRACKING = new Date('2026-04-23T00:00:00Z');
const ACCOUNT = '111122223333';
const arn = (id: string) => `arn:aws:kms:eu-west-1:${ACCOUNT}:key/${id}`;
const daysBefore = (d: number) => new Date(NOW.getTime() - d * 86_400_000);

interface FakeKey {
  id: string;
  manager?: 'CUSTOMER' | 'AWS';
  state?: string;
  lastUsed?: Date;
  created?: Date;
  tags?: Record<string, string>;
}

function givenKeys(keys: FakeKey[], pageSize = 1000): void {
  kms.on(ListKeysCommand).callsFake((input) => {
    const start = input.Marker ? Number(input.Marker) : 0;
    const page = keys.slice(start, start + pageSize);
    const more = start + pageSize < keys.length;
    return { Keys: page.map((k) => ({ KeyId: k.id, KeyArn: arn(k.id) })), Truncated: more, NextMarker: more ? String(start + pageSize) : undefined };
  });
  kms.on(DescribeKeyCommand).callsFake((input) => {
    const k = keys.find((x) => x.id === input.KeyId)!;
    return {
      KeyMetadata: { KeyId: k.id, Arn: arn(k.id), KeyManager: k.manager ?? 'CUSTOMER', KeyState: k.state ?? 'Enabled', CreationDate: k.created ?? new Date('2024-01-01T00:00:00Z') },
    };
  });
  kms.on(GetKeyLastUsageCommand).callsFake((input) => {
    const k = keys.find((x) => arn(x.id) === input.KeyId)!;
    return {
      KeyLastUsage: k.lastUsed ? { Operation: 'Decrypt', Timestamp: k.lastUsed, CloudTrailEventId: 'e', KmsRequestId: 'r' } : undefined,
      TrackingStartDate: TRACKING,
      KeyCreationDate: k.created ?? new Date('2024-01-01T00:00:00Z'),
    };
  });
  kms.on(ListResourceTagsCommand).callsFake((input) => {
    const k = keys.find((x) => x.id === input.KeyId)!;
    return { Tags: Object.entries(k.tags ?? {}).map(([TagKey, TagValue]) => ({ TagKey, TagValue })), Truncated: false };
  });
}

function givenAliases(pages: { AliasName: string; TargetKeyId?: string }[][]): void {
  kms.on(ListAliasesCommand).callsFake((input) => {
    const i = input.Marker ? Number(input.Marker) : 0;
    const more = i + 1 < pages.length;
    return { Aliases: pages[i], Truncated: more, NextMarker: more ? String(i + 1) : undefined };
  });
}

async function run(clock = new FakeClock(NOW)) {
  return clock.run(handler(undefined, undefined, clock));
}

function published(): { name: string; keyId?: string; value: number }[] {
  return cloudwatch.commandCalls(PutMetricDataCommand).flatMap((c) =>
    c.args[0].input.MetricData!.map((d) => ({ name: d.MetricName!, keyId: d.Dimensions?.[0]?.Value, value: d.Value! })),
  );
}

beforeEach(() => {
  kms.reset();
  cloudwatch.reset();
  cloudwatch.on(PutMetricDataCommand).resolves({});
  givenAliases([[]]);
  delete process.env.THRESHOLD_DAYS;
  delete process.env.ALIAS_PREFIX;
  delete process.env.TAG_KEY;
  delete process.env.TAG_VALUE;
  delete process.env.AUDITOR_NAME;
  jest.spyOn(console, 'log').mockImplementation(() => undefined);
});

describe('key-usage-auditor handler', () => {
  test('GIVEN an auditor name WHEN run THEN UnusedKeyCount is also published under that auditor, which its alarm reads', async () => {
    givenKeys([{ id: 'old', lastUsed: daysBefore(400) }, { id: 'new', lastUsed: daysBefore(1) }]);
    process.env.AUDITOR_NAME = 'CdkCmek-Keys-AuditorA';
    const summary = await run();
    const counts = cloudwatch.commandCalls(PutMetricDataCommand).flatMap((c) => c.args[0].input.MetricData!).filter((d) => d.MetricName === 'UnusedKeyCount');
    expect(counts.map((d) => [d.Dimensions ?? [], d.Value])).toEqual([
      [[], 1],
      [[{ Name: 'Auditor', Value: 'CdkCmek-Keys-AuditorA' }], 1],
    ]);
    expect(cloudwatch.commandCalls(PutMetricDataCommand).every((c) => c.args[0].input.Namespace === 'CdkCmek')).toBe(true);
    expect(summary.putMetricDataRequests).toBe(2);
  });

  test('GIVEN ListKeys and ListAliases over several pages WHEN run THEN every key is audited and aliases from any page are attached', async () => {
    const keys = Array.from({ length: 7 }, (_, i) => ({ id: `k${i}`, lastUsed: daysBefore(i) }));
    givenKeys(keys, 3);
    givenAliases([[{ AliasName: 'alias/aws/s3' }, { AliasName: 'alias/a', TargetKeyId: 'k0' }], [{ AliasName: 'alias/g', TargetKeyId: 'k6' }]]);
    process.env.ALIAS_PREFIX = 'alias/';
    const summary = await run();
    expect(kms.commandCalls(ListKeysCommand).map((c) => c.args[0].input.Marker)).toEqual([undefined, '3', '6']);
    expect(kms.commandCalls(ListAliasesCommand)).toHaveLength(2);
    // With the alias prefix, only the two aliased keys (one per alias page) are selected.
    expect(summary.audited).toBe(2);
    expect(published().filter((m) => m.name === 'DaysSinceLastUse').map((m) => [m.keyId, m.value])).toEqual([
      ['k0', 0],
      ['k6', 6],
    ]);
    expect(summary.skipped.notSelected).toBe(5);
  });

  test('GIVEN AWS-managed keys and a key pending deletion WHEN run THEN only enabled customer-managed keys are audited', async () => {
    givenKeys([
      { id: 'mine', lastUsed: daysBefore(2) },
      { id: 'aws', manager: 'AWS', lastUsed: daysBefore(1) },
      { id: 'going', state: 'PendingDeletion' },
      { id: 'off', state: 'Disabled', lastUsed: daysBefore(400) },
    ]);
    const summary = await run();
    expect(summary).toMatchObject({ audited: 2, skipped: { awsManaged: 1, pendingDeletion: 1, notSelected: 0, deleted: 0 } });
    expect(kms.commandCalls(GetKeyLastUsageCommand).map((c) => c.args[0].input.KeyId)).toEqual([arn('mine'), arn('off')]);
  });

  test('GIVEN keys never used since tracking started WHEN run THEN days count from max(tracking start, creation) and they are marked', async () => {
    givenKeys([
      { id: 'old', created: new Date('2025-01-01T00:00:00Z') },
      { id: 'new', created: new Date('2026-11-01T00:00:00Z') },
      { id: 'used', lastUsed: daysBefore(10), created: new Date('2025-01-01T00:00:00Z') },
    ]);
    process.env.THRESHOLD_DAYS = '200';
    const summary = await run();
    const days = Object.fromEntries(published().filter((m) => m.keyId).map((m) => [m.keyId, m.value]));
    expect(days).toEqual({ old: 214, new: 22, used: 10 });
    expect(summary.neverUsedKeyIds.sort()).toEqual(['new', 'old']);
    expect(summary.unusedKeyIds).toEqual(['old']);
    expect(published().find((m) => m.name === 'UnusedKeyCount')!.value).toBe(1);
  });

  test('GIVEN a tag filter WHEN run THEN only keys with that tag and value are audited', async () => {
    givenKeys([
      { id: 'a', tags: { 'cmek:vendor': 'acme' }, lastUsed: daysBefore(1) },
      { id: 'b', tags: { 'cmek:vendor': 'other' }, lastUsed: daysBefore(1) },
      { id: 'c', lastUsed: daysBefore(1) },
    ]);
    process.env.TAG_KEY = 'cmek:vendor';
    process.env.TAG_VALUE = 'acme';
    expect((await run()).audited).toBe(1);
    expect(kms.commandCalls(GetKeyLastUsageCommand).map((c) => c.args[0].input.KeyId)).toEqual([arn('a')]);
  });

  test('GIVEN GetKeyLastUsage throttles twice WHEN run THEN the call is retried with back-off and succeeds', async () => {
    givenKeys([{ id: 'k', lastUsed: daysBefore(3) }]);
    const throttle = Object.assign(new Error('Rate exceeded'), { name: 'ThrottlingException', $metadata: { httpStatusCode: 400 } });
    kms
      .on(GetKeyLastUsageCommand)
      .rejectsOnce(throttle)
      .rejectsOnce(throttle)
      .resolves({ KeyLastUsage: { Operation: 'Encrypt', Timestamp: daysBefore(3) }, TrackingStartDate: TRACKING });
    const clock = new FakeClock(NOW);
    const summary = await run(clock);
    expect(kms.commandCalls(GetKeyLastUsageCommand)).toHaveLength(3);
    expect(summary.audited).toBe(1);
    expect(clock.sleeps).toEqual(expect.arrayContaining([500, 1000]));
  });

  test('GIVEN a key deleted between ListKeys and DescribeKey WHEN run THEN it is skipped and the others are audited', async () => {
    givenKeys([{ id: 'gone' }, { id: 'here', lastUsed: daysBefore(1) }]);
    kms.on(DescribeKeyCommand, { KeyId: 'gone' }).rejects(Object.assign(new Error("Key 'gone' does not exist"), { name: 'NotFoundException' }));
    const summary = await run();
    expect(summary).toMatchObject({ audited: 1, skipped: { deleted: 1 } });
  });

  test('GIVEN an error other than throttling WHEN run THEN it is not retried and the run fails', async () => {
    givenKeys([{ id: 'k' }]);
    kms.on(GetKeyLastUsageCommand).rejects(Object.assign(new Error('not authorized'), { name: 'AccessDeniedException' }));
    await expect(run()).rejects.toThrow('not authorized');
    expect(kms.commandCalls(GetKeyLastUsageCommand)).toHaveLength(1);
  });

  test('GIVEN 23 keys WHEN run THEN GetKeyLastUsage never exceeds 5 requests in any second, and runs at that rate', async () => {
    const keys = Array.from({ length: 23 }, (_, i) => ({ id: `k${i}`, lastUsed: daysBefore(i) }));
    givenKeys(keys);
    const clock = new FakeClock(NOW);
    const starts: number[] = [];
    kms.on(GetKeyLastUsageCommand).callsFake(() => {
      starts.push(clock.now());
      return { KeyLastUsage: { Operation: 'Decrypt', Timestamp: daysBefore(1) }, TrackingStartDate: TRACKING };
    });
    await run(clock);
    expect(starts).toHaveLength(23);
    for (const t of starts) expect(starts.filter((s) => s >= t && s < t + 1000).length).toBeLessThanOrEqual(5);
    // A real rate, not only a cap on concurrency: 23 starts 200 ms apart span 4.4 s of (virtual) time.
    expect(starts[starts.length - 1] - starts[0]).toBe(4400);
  });

  test('GIVEN 2,500 keys WHEN run THEN metrics go out in PutMetricData calls of at most 1,000 metrics each', async () => {
    givenKeys(Array.from({ length: 2500 }, (_, i) => ({ id: `k${i}`, lastUsed: daysBefore(i % 500) })), 1000);
    const summary = await run();
    const sizes = cloudwatch.commandCalls(PutMetricDataCommand).map((c) => c.args[0].input.MetricData!.length);
    expect(sizes).toEqual([1000, 1000, 501]);
    expect(summary.putMetricDataRequests).toBe(3);
    expect(cloudwatch.commandCalls(PutMetricDataCommand).every((c) => c.args[0].input.Namespace === 'CdkCmek')).toBe(true);
    expect(published().filter((m) => m.name === 'UnusedKeyCount')).toEqual([{ name: 'UnusedKeyCount', keyId: undefined, value: 670 }]); // 134 of every 500 are past 365 days
  }, 60_000);

  test.each(['0', '1.5', 'abc', '-3'])('GIVEN THRESHOLD_DAYS=%s WHEN run THEN it fails naming the variable', async (value) => {
    process.env.THRESHOLD_DAYS = value;
    await expect(run()).rejects.toThrow(`\`THRESHOLD_DAYS\` must be an integer ≥ 1, got: "${value}"`);
  });
});
