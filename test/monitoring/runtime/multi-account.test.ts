// auditAccounts() on a virtual clock: targets run together up to the cap, each on its own rate limit, in a stable order.
import { KMSClient } from '@aws-sdk/client-kms';
import { auditAccounts, type AuditAccount } from '../../../src/monitoring/runtime/multi-account';
import { FakeClock } from '../support/fake-clock';

/** An account whose KMS answers from a middleware: `keys` customer keys per Region, none ever used. */
function account(id: string, keys: number): AuditAccount {
  return {
    account: id,
    kmsFor: async (region) => {
      const kms = new KMSClient({ region, credentials: { accessKeyId: id, secretAccessKey: 'x' } });
      const ids = Array.from({ length: keys }, (_, i) => `k${String(i).padStart(2, '0')}`);
      kms.middlewareStack.add(
        (_next, context) => async (args) => {
          const input = args.input as { KeyId?: string };
          const output: Record<string, object> = {
            ListKeysCommand: { Keys: ids.map((KeyId) => ({ KeyId })), Truncated: false },
            ListAliasesCommand: { Aliases: [], Truncated: false },
            DescribeKeyCommand: { KeyMetadata: { KeyId: input.KeyId, Arn: `arn:aws:kms:${region}:${id}:key/${input.KeyId}`, KeyManager: 'CUSTOMER' } },
            GetKeyLastUsageCommand: { TrackingStartDate: new Date('2026-04-23T00:00:00Z') },
          };
          return { output: { ...output[context.commandName!], $metadata: {} }, response: {} };
        },
        { step: 'initialize', name: 'fakeKms' },
      );
      return kms;
    },
  };
}

const START = new Date('2026-11-23T12:00:00Z');

async function run(maxConcurrentTargets?: number) {
  const clock = new FakeClock(START);
  const report = await clock.run(
    auditAccounts({
      accounts: [account('222222222222', 20), account('111111111111', 20)],
      regions: ['us-east-1', 'eu-west-1'],
      thresholdDays: 100,
      clock,
      maxConcurrentTargets,
    }),
  );
  return { report, seconds: (clock.now() - START.getTime()) / 1000 };
}

test('GIVEN 2 accounts × 2 Regions × 20 keys WHEN audited THEN they run at once (≈ 4 s), and with a cap of 1 one after another (≈ 16 s)', async () => {
  const together = await run();
  expect(together.seconds).toBeGreaterThanOrEqual(3.8);
  expect(together.seconds).toBeLessThan(4.5);
  const serial = await run(1);
  expect(serial.seconds).toBeGreaterThanOrEqual(15.2);
  expect(serial.seconds).toBeLessThan(17);
  expect(serial.report.keys).toHaveLength(80);
});

test('GIVEN targets finishing in any order WHEN reported THEN keys are ordered by account, Region, key id', async () => {
  const { report } = await run();
  const order = report.keys.map((k) => `${k.account}/${k.region}/${k.keyId}`);
  expect(order).toEqual([...order].sort());
  expect(order[0]).toBe('111111111111/eu-west-1/k00');
  expect(report).toMatchObject({ accounts: ['222222222222', '111111111111'], regions: ['us-east-1', 'eu-west-1'], failures: [], unusedKeyCount: 80 });
});
