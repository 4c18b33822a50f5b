// The pending-deletion filter against the error a key-state-enforcing KMS (local-kms, else LocalStack's KMS) really
// returns, placed into a CloudTrail record.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { CreateKeyCommand, DisableKeyCommand, EncryptCommand, KMSClient, ScheduleKeyDeletionCommand } from '@aws-sdk/client-kms';
import { PENDING_DELETION_PATTERN } from '../../src/monitoring/deletion-patterns';
import { installKeyStateKms, KEY_STATE_KMS_REQUIRED } from '../support/key-state-kms';
import type { Emulator } from '../support/moto';
import { JsonFilterPattern } from './support/filter-pattern';

jest.setTimeout(900_000);

// With CDK_CMEK_REQUIRE_KEY_STATE_KMS=1, a machine that cannot install a key-state KMS fails instead of skipping.
const stateKms = installKeyStateKms();
const suite = stateKms.kms || KEY_STATE_KMS_REQUIRED ? describe : describe.skip;
if (!stateKms.kms) console.warn(`no key-state KMS, key-state tests ${KEY_STATE_KMS_REQUIRED ? 'fail' : 'skipped'}: ${stateKms.reason}`);

/** What CloudTrail records for a failed call: the service's error code and message, on the request's record. */
function cloudTrailRecordFor(err: { name: string; message: string }, eventName: string): string {
  const record = JSON.parse(fs.readFileSync(path.join(__dirname, 'fixtures', 'decrypt-success.json'), 'utf8'));
  return JSON.stringify({ ...record, eventName, errorCode: err.name, errorMessage: err.message });
}

async function failure(call: Promise<unknown>): Promise<{ name: string; message: string }> {
  try {
    await call;
  } catch (err) {
    return err as Error;
  }
  throw new Error('expected the call to fail');
}

suite(`pending-deletion filter against ${stateKms.kms?.name ?? 'a key-state KMS'}`, () => {
  let emulator: Emulator;
  let kms: KMSClient;

  beforeAll(async () => {
    if (!stateKms.kms) throw new Error(`no key-state KMS could be installed: ${stateKms.reason}`);
    emulator = await stateKms.kms.start();
    kms = new KMSClient({ region: 'eu-west-1', endpoint: emulator.endpoint, credentials: { accessKeyId: 'local', secretAccessKey: 'local' } });
  });
  afterAll(async () => emulator?.stop());

  test('GIVEN a key pending deletion WHEN it is used THEN the recorded failure matches the filter', async () => {
    const { KeyMetadata } = await kms.send(new CreateKeyCommand({}));
    await kms.send(new ScheduleKeyDeletionCommand({ KeyId: KeyMetadata!.KeyId, PendingWindowInDays: 7 }));
    const err = await failure(kms.send(new EncryptCommand({ KeyId: KeyMetadata!.KeyId, Plaintext: Buffer.from('x') })));
    expect(err.name).toBe('KMSInvalidStateException');
    expect(err.message).toMatch(/is pending deletion\.$/);
    expect(new JsonFilterPattern(PENDING_DELETION_PATTERN).matches(cloudTrailRecordFor(err, 'Encrypt'))).toBe(true);
  });

  test('GIVEN a disabled key WHEN it is used THEN the recorded failure does not match the pending-deletion filter', async () => {
    const { KeyMetadata } = await kms.send(new CreateKeyCommand({}));
    await kms.send(new DisableKeyCommand({ KeyId: KeyMetadata!.KeyId }));
    const err = await failure(kms.send(new EncryptCommand({ KeyId: KeyMetadata!.KeyId, Plaintext: Buffer.from('x') })));
    expect(err.name).toBe('DisabledException');
    expect(new JsonFilterPattern(PENDING_DELETION_PATTERN).matches(cloudTrailRecordFor(err, 'Encrypt'))).toBe(false);
  });
});
