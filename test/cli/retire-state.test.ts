// The retirement flow against a KMS that enforces key states (LocalStack's): enabled → --disable → soak refused →
// use after the disable refused → the deletion guard's refusal → --schedule → PendingDeletion with a 30-day window.
import { CreateKeyCommand, DescribeKeyCommand, DisableKeyCommand, KMSClient, ListResourceTagsCommand, TagResourceCommand } from '@aws-sdk/client-kms';
import { runCli } from './cli-support';
import { explicitDeny, startRetireProxy, type RetireProxy } from './retire-support';
import { installKeyStateKms, KEY_STATE_KMS_REQUIRED } from '../support/key-state-kms';
import { Emulator, LOCAL_AWS, startMoto } from '../support/moto';

jest.setTimeout(180_000);

// With CDK_CMEK_REQUIRE_KEY_STATE_KMS=1, a machine that cannot install a key-state KMS fails instead of skipping.
const stateKms = installKeyStateKms();
const suite = stateKms.kms || KEY_STATE_KMS_REQUIRED ? describe : describe.skip;
if (!stateKms.kms) console.warn(`no key-state KMS, retire key-state tests ${KEY_STATE_KMS_REQUIRED ? 'fail' : 'skipped'}: ${stateKms.reason}`);

const DAY = 86_400_000;
const daysAgo = (n: number) => new Date(Date.now() - n * DAY);

suite(`cdk-cmek retire: the key-state flow (${stateKms.kms?.name ?? 'no key-state KMS'})`, () => {
  let moto: Emulator;
  let states: Emulator;
  let proxy: RetireProxy;
  let kms: KMSClient;
  let key: { id: string; arn: string };

  beforeAll(async () => {
    [moto, states] = await Promise.all([startMoto(), stateKms.kms!.start()]);
    // KMS goes to the key-state emulator; the dependent lookups (none here) and CloudTrail go to moto.
    proxy = await startRetireProxy(states.endpoint, moto.endpoint);
    kms = new KMSClient({ ...LOCAL_AWS, endpoint: states.endpoint });
    const m = (await kms.send(new CreateKeyCommand({ Description: 'legacy reports' }))).KeyMetadata!;
    key = { id: m.KeyId!, arn: m.Arn! };
  }, 180_000);

  afterAll(async () => {
    await proxy?.close();
    await Promise.all([moto?.stop(), states?.stop()]);
  });

  const retire = (args: string[]) =>
    runCli(['retire', ...args, '--endpoint-url', proxy.url], { AWS_ACCESS_KEY_ID: 'testing', AWS_SECRET_ACCESS_KEY: 'testing', AWS_REGION: 'eu-west-1' });
  const describeKey = async (id = key.id) => (await kms.send(new DescribeKeyCommand({ KeyId: id }))).KeyMetadata!;
  const scheduleRequests = () => proxy.requests.filter((r) => r.op === 'TrentService.ScheduleKeyDeletion');
  const setDisabledAt = (at: Date) => kms.send(new TagResourceCommand({ KeyId: key.id, Tags: [{ TagKey: 'cdk-cmek:disabled-at', TagValue: at.toISOString() }] }));

  test('GIVEN an Enabled key nothing depends on WHEN dry-run THEN --disable would run, exit 0, nothing changed', async () => {
    const r = await retire([key.arn]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout.toString()).toContain('Verdict\n  --disable would run (dry run: nothing changed)');
    expect((await describeKey()).KeyState).toBe('Enabled');
  });

  test('GIVEN an Enabled key WHEN --schedule THEN one line naming the state, exit 2', async () => {
    const r = await retire([key.id, '--schedule']);
    expect(r.stderr).toBe(`cdk-cmek retire: \`--schedule\` needs a Disabled key: run --disable first and wait the soak, got: Enabled (${key.arn})\n`);
    expect(r.code).toBe(2);
    expect(scheduleRequests()).toHaveLength(0);
  });

  test('GIVEN an Enabled key WHEN --disable THEN Disabled and tagged with the time; again THEN nothing to do', async () => {
    const before = Date.now();
    const r = await retire([key.id, '--disable']);
    expect(r.code).toBe(0);
    expect(r.stdout.toString()).toContain('disabled; the soak starts now (tag cdk-cmek:disabled-at)');
    expect((await describeKey()).KeyState).toBe('Disabled');
    const tag = ((await kms.send(new ListResourceTagsCommand({ KeyId: key.id }))).Tags ?? []).find((t) => t.TagKey === 'cdk-cmek:disabled-at');
    expect(Date.parse(tag!.TagValue!)).toBeGreaterThanOrEqual(before - 1000);
    const again = await retire([key.id, '--disable']);
    expect(again.code).toBe(0);
    expect(again.stdout.toString()).toContain('nothing to do');
    expect(again.stdout.toString()).toContain('note: the key is already disabled');
  });

  test('GIVEN a key disabled today WHEN --schedule THEN refused: the soak is not over, with the date it will be', async () => {
    const r = await retire([key.id, '--schedule']);
    expect(r.code).toBe(1);
    const until = new Date(Date.now() + 30 * DAY).toISOString().slice(0, 10);
    expect(r.stdout.toString()).toMatch(/- the soak is not over: disabled 0 of 30 days \(since \S+, from the cdk-cmek:disabled-at tag\); to proceed: rerun on or after (\S+)/);
    expect(r.stdout.toString()).toContain(`rerun on or after ${until}`);
    // moto answers CloudTrail LookupEvents with an error: unchecked use attempts block too, until forced.
    expect(r.stdout.toString()).toContain('use attempts: not fully checked, CloudTrail did not answer');
    expect(r.stdout.toString()).toMatch(/- use attempts since the disable could not be checked: CloudTrail did not answer \(.+\); a disabled key's uses all fail, and GetKeyLastUsage records only successful ones; to proceed: allow cloudtrail:LookupEvents and rerun, or pass --force cloudtrail\n/);
    expect(scheduleRequests()).toHaveLength(0);
    expect((await describeKey()).KeyState).toBe('Disabled');
  });

  test('GIVEN the soak over but a use recorded after the disable WHEN --schedule THEN refused naming the use', async () => {
    await setDisabledAt(daysAgo(31));
    proxy.lastUse.set(key.id, { at: daysAgo(2), operation: 'Decrypt' });
    const r = await retire([key.id, '--schedule']);
    expect(r.code).toBe(1);
    expect(r.stdout.toString()).toMatch(/- the key was used after it was disabled: Decrypt at \S+; to proceed: find that caller/);
    expect(r.stdout.toString()).not.toContain('the soak is not over');
    expect(scheduleRequests()).toHaveLength(0);
  });

  test('GIVEN a use attempt on the disabled key in CloudTrail WHEN --schedule THEN refused naming it', async () => {
    proxy.lastUse.set(key.id, { at: daysAgo(40), operation: 'Decrypt' });
    proxy.trailEvents = [{ EventName: 'GenerateDataKey', EventTime: daysAgo(3), keyArn: key.arn, errorCode: 'DisabledException' }];
    try {
      const r = await retire([key.id, '--schedule']);
      expect(r.code).toBe(1);
      expect(r.stdout.toString()).toMatch(/- 1 use attempts since the key was disabled \(CloudTrail\), the latest GenerateDataKey at \S+ \(DisabledException\)/);
      expect(scheduleRequests()).toHaveLength(0);
    } finally {
      proxy.trailEvents = [];
    }
  });

  test('GIVEN the key policy denies ScheduleKeyDeletion WHEN --schedule THEN "the deletion guard refused", exit 1, still Disabled', async () => {
    proxy.refuse.set('TrentService.ScheduleKeyDeletion', explicitDeny('kms:ScheduleKeyDeletion', key.arn));
    try {
      const r = await retire([key.id, '--schedule']);
      expect(r.stderr).toBe(
        `cdk-cmek retire: the deletion guard refused: AccessDeniedException: ${explicitDeny('kms:ScheduleKeyDeletion', key.arn).message}; `
          + 'to proceed: wait until the key has gone unused for the guard\'s minDaysUnused, or run as a principal it exempts\n',
      );
      expect(r.code).toBe(1);
      expect((await describeKey()).KeyState).toBe('Disabled');
    } finally {
      proxy.refuse.clear();
    }
  });

  test('GIVEN the soak over with no use since WHEN --schedule THEN PendingDeletion with the 30-day window', async () => {
    const r = await retire([key.id, '--schedule']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout.toString()).toContain('deletion scheduled');
    const sent = scheduleRequests().map((q) => JSON.parse(q.body));
    expect(sent[sent.length - 1]).toEqual({ KeyId: key.id, PendingWindowInDays: 30 });
    const m = await describeKey();
    expect(m.KeyState).toBe('PendingDeletion');
    expect(Math.round((m.DeletionDate!.getTime() - Date.now()) / DAY)).toBe(30);
  });

  test('GIVEN a key pending deletion WHEN --schedule THEN nothing to do (exit 0); WHEN --disable THEN wrong state (exit 2)', async () => {
    const again = await retire([key.id, '--schedule']);
    expect(again.code).toBe(0);
    expect(again.stdout.toString()).toMatch(/nothing to do\n {2}note: deletion already scheduled for \S+; CancelKeyDeletion stops it/);
    const disable = await retire([key.id, '--disable']);
    expect(disable.stderr).toBe(`cdk-cmek retire: \`--disable\` needs an Enabled key, got: PendingDeletion (${key.arn})\n`);
    expect(disable.code).toBe(2);
  });

  test('GIVEN a key disabled outside retire WHEN dry-run THEN the disable time comes from CloudTrail, or its absence refuses with the remedy', async () => {
    const m = (await kms.send(new CreateKeyCommand({}))).KeyMetadata!;
    await kms.send(new DisableKeyCommand({ KeyId: m.KeyId }));
    proxy.trailEvents = [{ EventName: 'DisableKey', EventTime: daysAgo(45), keyArn: m.Arn! }];
    const fromTrail = await retire([m.KeyId!]);
    expect(fromTrail.code).toBe(0);
    expect(fromTrail.stdout.toString()).toMatch(/disabled since \S+ \(45 of 30 days\), from CloudTrail DisableKey/);
    expect(fromTrail.stdout.toString()).toContain('--schedule would run (dry run: nothing changed)');
    proxy.trailEvents = [];
    const none = await retire([m.KeyId!]);
    expect(none.code).toBe(1);
    expect(none.stdout.toString()).toContain('no cdk-cmek:disabled-at tag; no DisableKey event for the key in CloudTrail (90 days of history)');
    expect(none.stdout.toString()).toContain('to proceed: tag the key cdk-cmek:disabled-at=<ISO date>');
  });
});
