// Child process of the audit benchmark: audits N keys through the audit core on a virtual clock against a KMS stub
// that records when each GetKeyLastUsage arrives (and throttles like KMS above 5 per second).
import {
  DescribeKeyCommand,
  GetKeyLastUsageCommand,
  KMSClient,
  ListAliasesCommand,
  ListKeysCommand,
} from '@aws-sdk/client-kms';
import { mockClient } from 'aws-sdk-client-mock';
import { emitResult } from './support';
import { auditKeys, GET_KEY_LAST_USAGE_PER_SECOND } from '../src/monitoring/runtime/usage-audit';
import { FakeClock } from '../test/monitoring/support/fake-clock';

const ACCOUNT = '111111111111';
const arn = (id: string) => `arn:aws:kms:eu-west-1:${ACCOUNT}:key/${id}`;

/** Most requests that started within any half-open window [t, t + windowMs): a per-second quota counts that way. */
function maxInWindow(times: number[], windowMs: number): number {
  const t = [...times].sort((a, b) => a - b);
  let best = 0;
  let lo = 0;
  for (let hi = 0; hi < t.length; hi++) {
    while (t[hi] - t[lo] >= windowMs) lo++;
    best = Math.max(best, hi - lo + 1);
  }
  return best;
}

async function main(): Promise<void> {
  const n = Number(process.argv[2] ?? 1000);
  const start = new Date('2026-11-23T12:00:00Z');
  const clock = new FakeClock(start);
  const ids = Array.from({ length: n }, (_, i) => `00000000-0000-4000-8000-${String(i).padStart(12, '0')}`);
  const usageTimes: number[] = [];
  let throttled = 0;
  const calls: Record<string, number> = {};
  const count = (name: string) => (calls[name] = (calls[name] ?? 0) + 1);

  const kms = mockClient(KMSClient);
  kms.on(ListKeysCommand).callsFake((input) => {
    count('ListKeys');
    const from = input.Marker ? Number(input.Marker) : 0;
    const page = ids.slice(from, from + 1000);
    const more = from + 1000 < ids.length;
    return { Keys: page.map((id) => ({ KeyId: id, KeyArn: arn(id) })), Truncated: more, NextMarker: more ? String(from + 1000) : undefined };
  });
  kms.on(ListAliasesCommand).callsFake(() => {
    count('ListAliases');
    return { Aliases: ids.map((id, i) => ({ AliasName: `alias/cmek/key-${i}`, TargetKeyId: id })), Truncated: false };
  });
  kms.on(DescribeKeyCommand).callsFake((input) => {
    count('DescribeKey');
    return { KeyMetadata: { KeyId: input.KeyId, Arn: arn(input.KeyId!), KeyManager: 'CUSTOMER', KeyState: 'Enabled', CreationDate: new Date('2025-01-01T00:00:00Z') } };
  });
  kms.on(GetKeyLastUsageCommand).callsFake(() => {
    count('GetKeyLastUsage');
    const now = clock.now();
    // KMS answers ThrottlingException once a second holds more than the quota.
    if (maxInWindow([...usageTimes.filter((t) => now - t < 1000), now], 1000) > GET_KEY_LAST_USAGE_PER_SECOND) {
      throttled++;
      throw Object.assign(new Error('Rate exceeded'), { name: 'ThrottlingException', $metadata: { httpStatusCode: 400 } });
    }
    usageTimes.push(now);
    return { TrackingStartDate: new Date('2026-04-23T00:00:00Z'), KeyCreationDate: new Date('2025-01-01T00:00:00Z') };
  });

  const wall0 = performance.now();
  const report = await clock.run(auditKeys({ kms: new KMSClient({ region: 'eu-west-1' }), thresholdDays: 90, clock }));
  const wallMs = performance.now() - wall0;
  emitResult({
    keys: n,
    auditedKeys: report.keys.length,
    virtualSeconds: (clock.now() - start.getTime()) / 1000,
    idealSeconds: n / GET_KEY_LAST_USAGE_PER_SECOND,
    firstToLastUsageSeconds: usageTimes.length ? (Math.max(...usageTimes) - Math.min(...usageTimes)) / 1000 : 0,
    maxUsageRequestsInAnySecond: maxInWindow(usageTimes, 1000),
    throttled,
    calls,
    wallMs,
  });
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
