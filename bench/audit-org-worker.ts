// Child process of the audit benchmark: a whole organization (accounts × Regions × keys) through auditAccounts() on a
// virtual clock, against per-account+Region KMS stubs that throttle like KMS above 5 GetKeyLastUsage per second.
import { KMSClient } from '@aws-sdk/client-kms';
import { emitResult } from './support';
import { auditAccounts, type AuditAccount } from '../src/monitoring/runtime/multi-account';
import { GET_KEY_LAST_USAGE_PER_SECOND } from '../src/monitoring/runtime/usage-audit';
import { FakeClock } from '../test/monitoring/support/fake-clock';

function maxInWindow(times: number[], windowMs: number): number {
  const t = [...times].sort((a, b) => a - b);
  let best = 0;
  for (let hi = 0, lo = 0; hi < t.length; hi++) {
    while (t[hi] - t[lo] >= windowMs) lo++;
    best = Math.max(best, hi - lo + 1);
  }
  return best;
}

async function main(): Promise<void> {
  const [accountCount, regionCount, keysPer] = process.argv.slice(2, 5).map(Number);
  const start = new Date('2026-11-23T12:00:00Z');
  const clock = new FakeClock(start);
  const regions = ['eu-west-1', 'us-east-1', 'ap-southeast-2', 'sa-east-1', 'eu-central-1', 'us-west-2'].slice(0, regionCount);
  const usage = new Map<string, number[]>();
  let throttled = 0;
  let requests = 0;

  const client = (account: string, region: string): KMSClient => {
    const kms = new KMSClient({ region, credentials: { accessKeyId: account, secretAccessKey: 'x' } });
    const ids = Array.from({ length: keysPer }, (_, i) => `00000000-0000-4000-8000-${String(i).padStart(12, '0')}`);
    const times: number[] = [];
    usage.set(`${account}/${region}`, times);
    kms.middlewareStack.add(
      (_next, context) => async (args) => {
        requests++;
        const input = args.input as { KeyId?: string };
        let output: object;
        switch (context.commandName) {
          case 'ListKeysCommand': output = { Keys: ids.map((KeyId) => ({ KeyId })), Truncated: false }; break;
          case 'ListAliasesCommand': output = { Aliases: [], Truncated: false }; break;
          case 'DescribeKeyCommand':
            output = { KeyMetadata: { KeyId: input.KeyId, Arn: `arn:aws:kms:${region}:${account}:key/${input.KeyId}`, KeyManager: 'CUSTOMER', KeyState: 'Enabled' } };
            break;
          default: {
            const now = clock.now();
            if (maxInWindow([...times.filter((t) => now - t < 1000), now], 1000) > GET_KEY_LAST_USAGE_PER_SECOND) {
              throttled++;
              throw Object.assign(new Error('Rate exceeded'), { name: 'ThrottlingException' });
            }
            times.push(now);
            output = { TrackingStartDate: new Date('2026-04-23T00:00:00Z'), KeyCreationDate: new Date('2025-01-01T00:00:00Z') };
          }
        }
        return { output: { ...output, $metadata: {} }, response: {} };
      },
      { step: 'initialize', name: 'benchKms' },
    );
    return kms;
  };
  const accounts: AuditAccount[] = Array.from({ length: accountCount }, (_, i) => {
    const account = String(100000000000 + i);
    return { account, kmsFor: async (region: string) => client(account, region) };
  });

  const wall0 = performance.now();
  const report = await clock.run(auditAccounts({ accounts, regions, thresholdDays: 90, clock }));
  const wallMs = performance.now() - wall0;
  const keys = accountCount * regionCount * keysPer;
  emitResult({
    accounts: accountCount,
    regions: regionCount,
    keysPerAccountRegion: keysPer,
    keys,
    auditedKeys: report.keys.length,
    failures: report.failures.length,
    virtualSeconds: (clock.now() - start.getTime()) / 1000,
    idealSeconds: keys / (GET_KEY_LAST_USAGE_PER_SECOND * accountCount * regionCount),
    maxUsageInAnySecondPerAccountRegion: Math.max(...[...usage.values()].map((t) => maxInWindow(t, 1000))),
    maxUsageInAnySecondOverall: maxInWindow([...usage.values()].flat(), 1000),
    throttled,
    requests,
    wallMs,
  });
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
