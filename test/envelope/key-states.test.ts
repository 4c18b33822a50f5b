// Key states against local-kms, which enforces them: a key pending deletion or disabled fails with the exact reason.
import { CreateKeyCommand, DisableKeyCommand, KMSClient, ScheduleKeyDeletionCommand } from '@aws-sdk/client-kms';
import { CreateBucketCommand, S3Client } from '@aws-sdk/client-s3';
import type { CloudFormationCustomResourceEvent } from 'aws-lambda';
import { handler, useClients } from '../../src/envelope/envelope.lambda';
import { installLocalKms, startLocalKms } from '../support/local-kms';
import { Emulator, LOCAL_AWS, startMoto } from '../support/moto';

jest.setTimeout(900_000);

// CI sets CDK_CMEK_REQUIRE_LOCAL_KMS=1: there, a machine that cannot install local-kms fails instead of skipping.
const localKms = installLocalKms();
const required = process.env.CDK_CMEK_REQUIRE_LOCAL_KMS === '1';
const suite = localKms.bin || required ? describe : describe.skip;
if (!localKms.bin) console.warn(`local-kms unavailable, key-state tests ${required ? 'fail' : 'skipped'}: ${localKms.reason}`);

suite('envelope handler against local-kms key states', () => {
  let kmsEmulator: Emulator;
  let moto: Emulator;
  let kms: KMSClient;

  beforeAll(async () => {
    if (!localKms.bin) throw new Error(`local-kms could not be installed: ${localKms.reason}`);
    kmsEmulator = await startLocalKms(localKms.bin);
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
