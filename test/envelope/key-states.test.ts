// Key states against a KMS emulator that enforces them (local-kms, else LocalStack's KMS; moto does not): a key
// pending deletion or disabled fails with the exact reason.
import { CreateKeyCommand, DisableKeyCommand, KMSClient, ScheduleKeyDeletionCommand } from '@aws-sdk/client-kms';
import { CreateBucketCommand, S3Client } from '@aws-sdk/client-s3';
import type { CloudFormationCustomResourceEvent } from 'aws-lambda';
import { handler, useClients } from '../../src/envelope/runtime/envelope.lambda';
import { installKeyStateKms, KEY_STATE_KMS_REQUIRED } from '../support/key-state-kms';
import { Emulator, LOCAL_AWS, startMoto } from '../support/moto';

jest.setTimeout(900_000);

// With CDK_CMEK_REQUIRE_KEY_STATE_KMS=1, a machine that cannot install a key-state KMS fails instead of skipping.
const stateKms = installKeyStateKms();
const suite = stateKms.kms || KEY_STATE_KMS_REQUIRED ? describe : describe.skip;
if (!stateKms.kms) console.warn(`no key-state KMS, key-state tests ${KEY_STATE_KMS_REQUIRED ? 'fail' : 'skipped'}: ${stateKms.reason}`);

suite(`envelope handler against ${stateKms.kms?.name ?? 'a key-state KMS'} key states`, () => {
  let kmsEmulator: Emulator;
  let moto: Emulator;
  let kms: KMSClient;

  beforeAll(async () => {
    if (!stateKms.kms) throw new Error(`no key-state KMS could be installed: ${stateKms.reason}`);
    kmsEmulator = await stateKms.kms.start();
    moto = await startMoto();
    kms = new KMSClient({ ...LOCAL_AWS, endpoint: kmsEmulator.endpoint });
    const s3 = new S3Client({ ...LOCAL_AWS, endpoint: moto.endpoint, forcePathStyle: true });
    await s3.send(new CreateBucketCommand({ Bucket: 'states', CreateBucketConfiguration: { LocationConstraint: 'eu-west-1' } }));
    useClients({ kms, s3 });
    jest.spyOn(console, 'log').mockImplementation(() => undefined);
  });

  afterAll(async () => {
    await kmsEmulator?.stop();
    await moto?.stop();
  });

  function create(keyArn: string): Promise<unknown> {
    return handler({
      RequestType: 'Create',
      RequestId: keyArn,
      StackId: 's',
      LogicalResourceId: 'L',
      ResourceProperties: {
        ServiceToken: 'x',
        Bucket: 'states',
        ObjectKey: 'o',
        KeyArn: keyArn,
        Format: 'V3',
        EncryptionContext: {},
        Source: { type: 'random', length: '32' },
      },
    } as unknown as CloudFormationCustomResourceEvent);
  }

  test('GIVEN a key pending deletion WHEN the handler creates an object THEN the reason says so in one sentence', async () => {
    const arn = (await kms.send(new CreateKeyCommand({}))).KeyMetadata!.Arn!;
    await kms.send(new ScheduleKeyDeletionCommand({ KeyId: arn, PendingWindowInDays: 7 }));
    await expect(create(arn)).rejects.toThrow(
      new Error(`KMS key ${arn} is pending deletion: cancel the deletion (kms:CancelKeyDeletion) or use another key`),
    );
  });

  test('GIVEN a disabled key WHEN the handler creates an object THEN the reason says so in one sentence', async () => {
    const arn = (await kms.send(new CreateKeyCommand({}))).KeyMetadata!.Arn!;
    await kms.send(new DisableKeyCommand({ KeyId: arn }));
    await expect(create(arn)).rejects.toThrow(new Error(`KMS key ${arn} is disabled: enable it (kms:EnableKey) or use another key`));
  });

  test('GIVEN an enabled key WHEN the handler creates an object THEN it succeeds (the emulator is not failing everything)', async () => {
    const arn = (await kms.send(new CreateKeyCommand({}))).KeyMetadata!.Arn!;
    await expect(create(arn)).resolves.toBeDefined();
  });
});
