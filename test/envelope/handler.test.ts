// The envelope handler against mocked SDK clients: every lifecycle path, idempotent retries, error mapping, log secrecy.
import { createHash, randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import { GenerateDataKeyCommand, KMSClient, ReEncryptCommand } from '@aws-sdk/client-kms';
import {
  CopyObjectCommand,
  DeleteObjectCommand,
  GetObjectCommand,
  HeadObjectCommand,
  PutObjectCommand,
  S3Client,
} from '@aws-sdk/client-s3';
import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { GetParameterCommand, SSMClient } from '@aws-sdk/client-ssm';
import type { CloudFormationCustomResourceEvent } from 'aws-lambda';
import { mockClient } from 'aws-sdk-client-mock';
import { bufferSink } from './support';
import { EnvelopeProperties, parsePhysicalId, physicalId } from '../../src/envelope/contract';
import { handler, useClients } from '../../src/envelope/runtime/envelope.lambda';
import { decryptBody } from '../../src/envelope/runtime/reader';

process.env.AWS_REGION = 'eu-west-1';
const KEY_ARN = 'arn:aws:kms:eu-west-1:111111111111:key/11111111-1111-1111-1111-111111111111';
const KEY_ARN_2 = 'arn:aws:kms:eu-west-1:111111111111:key/22222222-2222-2222-2222-222222222222';
const kms = mockClient(KMSClient);
const s3 = mockClient(S3Client);
const sm = mockClient(SecretsManagerClient);
const ssm = mockClient(SSMClient);

function props(over: Partial<EnvelopeProperties> = {}): EnvelopeProperties {
  return {
    Bucket: 'data-bucket',
    ObjectKey: 'seed/config.json',
    KeyArn: KEY_ARN,
    Format: 'V3',
    EncryptionContext: { app: 'billing' },
    Source: { type: 'inline', text: 'hello world' },
    ...over,
  };
}

function event(type: 'Create' | 'Update' | 'Delete', p: EnvelopeProperties, extra: Record<string, unknown> = {}): CloudFormationCustomResourceEvent {
  return {
    RequestType: type,
    ServiceToken: 'arn:aws:lambda:eu-west-1:111111111111:function:f',
    ResponseURL: 'https://example.com',
    StackId: 'arn:aws:cloudformation:eu-west-1:111111111111:stack/s/1',
    RequestId: 'req-1',
    LogicalResourceId: 'Seed',
    ResourceType: 'Custom::EnvelopeEncryptedObject',
    ResourceProperties: { ServiceToken: 'x', ...p } as any,
    ...extra,
  } as CloudFormationCustomResourceEvent;
}

const notFound = () => Object.assign(new Error('Not Found'), { name: 'NotFound', $metadata: { httpStatusCode: 404 } });
const awsError = (name: string, message: string) => Object.assign(new Error(message), { name, $metadata: {} });

let dataKey: Buffer;
let returnedPlaintext: Uint8Array;

beforeEach(() => {
  kms.reset();
  s3.reset();
  sm.reset();
  ssm.reset();
  useClients({});
  dataKey = randomBytes(32);
  kms.on(GenerateDataKeyCommand).callsFake(() => {
    returnedPlaintext = Uint8Array.from(dataKey);
    return { Plaintext: returnedPlaintext, CiphertextBlob: Buffer.from('wrapped-under-key-1'), KeyId: KEY_ARN };
  });
  s3.on(HeadObjectCommand).rejects(notFound());
  s3.on(PutObjectCommand).resolves({ ETag: '"etag-1"', VersionId: 'v1' });
});

/** The body and metadata of the one PutObject the handler sent. */
async function putObject(): Promise<{ body: Buffer; metadata: Record<string, string>; input: any }> {
  const calls = s3.commandCalls(PutObjectCommand);
  expect(calls).toHaveLength(1);
  const input = calls[0].args[0].input as any;
  const body = input.Body instanceof Uint8Array
    ? Buffer.from(input.Body)
    : Buffer.concat(await (input.Body as Readable).toArray());
  return { body, metadata: input.Metadata, input };
}

async function decryptWith(key: Buffer, metadata: Record<string, string>, body: Buffer, context: Record<string, string>): Promise<Buffer> {
  const sink = bufferSink();
  await decryptBody(metadata, Readable.from([body]), context, async () => Buffer.from(key), sink);
  return sink.bytes();
}

describe('envelope handler', () => {
  test('GIVEN an inline source WHEN Create THEN GenerateDataKey with the user pairs and the reserved pair, a V3 object that decrypts, attributes and a physical id naming the version', async () => {
    const res = await handler(event('Create', props()));
    expect(kms.commandCalls(GenerateDataKeyCommand)[0].args[0].input).toEqual({
      KeyId: KEY_ARN,
      KeySpec: 'AES_256',
      EncryptionContext: { 'app': 'billing', 'aws:x-amz-cek-alg': '115' },
    });
    const { body, metadata, input } = await putObject();
    expect(input).toMatchObject({ Bucket: 'data-bucket', Key: 'seed/config.json' });
    expect(metadata['x-amz-c']).toBe('115');
    expect(Buffer.from(metadata['x-amz-3'], 'base64').toString()).toBe('wrapped-under-key-1');
    expect((await decryptWith(dataKey, metadata, body, { app: 'billing' })).toString()).toBe('hello world');
    expect(res.Data).toMatchObject({ ObjectKey: 'seed/config.json', VersionId: 'v1', ETag: '"etag-1"', KeyArn: KEY_ARN });
    expect(res.Data!.CiphertextSha256).toMatch(/^[0-9a-f]{64}$/);
    expect(parsePhysicalId(res.PhysicalResourceId)).toMatchObject({ bucket: 'data-bucket', key: 'seed/config.json', versionId: 'v1' });
    // The plaintext data key KMS returned is zeroed once the cipher holds it.
    expect(Buffer.from(returnedPlaintext).equals(Buffer.alloc(32))).toBe(true);
  });

  test('GIVEN format V2 WHEN Create THEN the V2 metadata and a body of ciphertext ‖ tag', async () => {
    await handler(event('Create', props({ Format: 'V2' })));
    expect(kms.commandCalls(GenerateDataKeyCommand)[0].args[0].input.EncryptionContext).toEqual({ 'app': 'billing', 'aws:x-amz-cek-alg': 'AES/GCM/NoPadding' });
    const { body, metadata } = await putObject();
    expect(metadata).toMatchObject({ 'x-amz-cek-alg': 'AES/GCM/NoPadding', 'x-amz-wrap-alg': 'kms+context', 'x-amz-unencrypted-content-length': '11' });
    expect(body).toHaveLength(11 + 16);
    expect((await decryptWith(dataKey, metadata, body, { app: 'billing' })).toString()).toBe('hello world');
  });

  test.each([
    ['a SecretString', { SecretString: 's3cr3t' }, undefined, 's3cr3t'],
    ['a JSON field of a SecretString', { SecretString: '{"password":"pw","user":"u"}' }, 'password', 'pw'],
    ['a SecretBinary', { SecretBinary: Buffer.from('bin') }, undefined, 'bin'],
  ])('GIVEN a secret with %s WHEN Create THEN the object holds exactly the secret value', async (_d, out, field, expected) => {
    sm.on(GetSecretValueCommand).resolves(out as any);
    await handler(event('Create', props({ Source: { type: 'secret', id: 'db', field } })));
    const { body, metadata } = await putObject();
    expect((await decryptWith(dataKey, metadata, body, { app: 'billing' })).toString()).toBe(expected);
  });

  test('GIVEN an SSM SecureString WHEN Create THEN the parameter is read with decryption', async () => {
    ssm.on(GetParameterCommand).resolves({ Parameter: { Value: 'param-value' } });
    await handler(event('Create', props({ Source: { type: 'ssm', id: '/app/token' } })));
    expect(ssm.commandCalls(GetParameterCommand)[0].args[0].input).toEqual({ Name: '/app/token', WithDecryption: true });
    const { body, metadata } = await putObject();
    expect((await decryptWith(dataKey, metadata, body, { app: 'billing' })).toString()).toBe('param-value');
  });

  test('GIVEN a random source of 32 bytes WHEN Create THEN a 32-byte plaintext is stored', async () => {
    await handler(event('Create', props({ Source: { type: 'random', length: '32' } })));
    const { body, metadata } = await putObject();
    expect(await decryptWith(dataKey, metadata, body, { app: 'billing' })).toHaveLength(32);
  });

  test('GIVEN an asset source WHEN Create THEN the asset object is streamed through the cipher', async () => {
    const content = randomBytes(200_000);
    s3.on(GetObjectCommand, { Bucket: 'assets', Key: 'abc.json' }).resolves({ Body: Readable.from([content]) as any, ContentLength: content.length });
    await handler(event('Create', props({ Source: { type: 'asset', bucket: 'assets', key: 'abc.json' } })));
    const { body, metadata } = await putObject();
    expect((await decryptWith(dataKey, metadata, body, { app: 'billing' })).equals(content)).toBe(true);
  });

  test('GIVEN a retried Create whose first attempt wrote the object WHEN Create again THEN no second object and the same version is reported', async () => {
    await handler(event('Create', props()));
    const first = await putObject();
    s3.reset();
    kms.resetHistory();
    s3.on(HeadObjectCommand).resolves({ Metadata: first.metadata, VersionId: 'v1', ETag: '"etag-1"' });
    s3.on(GetObjectCommand).resolves({ Body: Readable.from([first.body]) as any });
    const res = await handler(event('Create', props()));
    expect(s3.commandCalls(PutObjectCommand)).toHaveLength(0);
    expect(kms.commandCalls(GenerateDataKeyCommand)).toHaveLength(0);
    expect(res.Data).toMatchObject({ VersionId: 'v1' });
  });

  test('GIVEN new content WHEN Update THEN a new object version and a new physical id', async () => {
    const old = props();
    const res = await handler(event('Update', props({ Source: { type: 'inline', text: 'v2' } }), {
      OldResourceProperties: old,
      PhysicalResourceId: physicalId({ bucket: 'data-bucket', key: 'seed/config.json', versionId: 'v0', etag: '"e0"', sha256: 'aa', marker: 'm0' }),
    }));
    expect(s3.commandCalls(PutObjectCommand)).toHaveLength(1);
    expect(s3.commandCalls(CopyObjectCommand)).toHaveLength(0);
    expect(parsePhysicalId(res.PhysicalResourceId)!.versionId).toBe('v1');
  });

  test('GIVEN only the key changes WHEN Update THEN ReEncrypt of the wrapped key and a metadata-only CopyObject of that version', async () => {
    await handler(event('Create', props()));
    const first = await putObject();
    s3.reset();
    s3.on(HeadObjectCommand).resolves({ Metadata: first.metadata, VersionId: 'v1', ContentType: 'application/json' });
    s3.on(CopyObjectCommand).resolves({ VersionId: 'v2', CopyObjectResult: { ETag: '"etag-1"' } });
    kms.on(ReEncryptCommand).resolves({ CiphertextBlob: Buffer.from('wrapped-under-key-2') });
    const res = await handler(event('Update', props({ KeyArn: KEY_ARN_2 }), {
      RequestId: 'req-2',
      OldResourceProperties: props(),
      PhysicalResourceId: physicalId({ bucket: 'data-bucket', key: 'seed/config.json', versionId: 'v1', etag: '"etag-1"', sha256: 'ab'.repeat(32), marker: 'm0' }),
    }));
    const context = { 'app': 'billing', 'aws:x-amz-cek-alg': '115' };
    expect(kms.commandCalls(ReEncryptCommand)[0].args[0].input).toEqual({
      CiphertextBlob: Buffer.from('wrapped-under-key-1'),
      SourceKeyId: KEY_ARN,
      SourceEncryptionContext: context,
      DestinationKeyId: KEY_ARN_2,
      DestinationEncryptionContext: context,
    });
    const copy = s3.commandCalls(CopyObjectCommand)[0].args[0].input;
    expect(copy).toMatchObject({ CopySource: 'data-bucket/seed%2Fconfig.json?versionId=v1', MetadataDirective: 'REPLACE', ContentType: 'application/json' });
    expect(Buffer.from(copy.Metadata!['x-amz-3'], 'base64').toString()).toBe('wrapped-under-key-2');
    expect(copy.Metadata!['x-amz-d']).toBe(first.metadata['x-amz-d']);
    expect(s3.commandCalls(GetObjectCommand)).toHaveLength(0);
    expect(s3.commandCalls(PutObjectCommand)).toHaveLength(0);
    expect(res.Data).toMatchObject({ VersionId: 'v2', KeyArn: KEY_ARN_2, CiphertextSha256: 'ab'.repeat(32) });
  });

  test('GIVEN a retried re-key whose first attempt copied the object WHEN Update again THEN no second copy', async () => {
    const update = event('Update', props({ KeyArn: KEY_ARN_2 }), {
      OldResourceProperties: props(),
      PhysicalResourceId: physicalId({ bucket: 'data-bucket', key: 'seed/config.json', versionId: 'v1', etag: '"e"', sha256: 'aa', marker: 'm0' }),
    });
    // The current version carries this very request's marker: the first attempt got as far as the copy.
    const own = createHash('sha256').update(`${update.StackId}\n${update.LogicalResourceId}\n${update.RequestId}`).digest('hex').slice(0, 32);
    s3.on(HeadObjectCommand).resolves({ VersionId: 'v2', ETag: '"e"', Metadata: { 'cdk-cmek-request': own } });
    const res = await handler(update);
    expect(s3.commandCalls(CopyObjectCommand)).toHaveLength(0);
    expect(kms.commandCalls(ReEncryptCommand)).toHaveLength(0);
    expect(res.Data).toMatchObject({ VersionId: 'v2', KeyArn: KEY_ARN_2, CiphertextSha256: 'aa' });
  });

  test('GIVEN only the removal policy changes WHEN Update THEN the object is left as it is', async () => {
    const id = physicalId({ bucket: 'data-bucket', key: 'seed/config.json', versionId: 'v1', etag: '"e"', sha256: 'bb', marker: 'm0' });
    const res = await handler(event('Update', props({ Retain: 'true' }), { OldResourceProperties: props(), PhysicalResourceId: id }));
    expect(res.PhysicalResourceId).toBe(id);
    expect(res.Data).toMatchObject({ VersionId: 'v1', CiphertextSha256: 'bb' });
    expect(s3.calls()).toHaveLength(0);
    expect(kms.calls()).toHaveLength(0);
  });

  test('GIVEN the key and the context change WHEN Update THEN a full re-encryption, not a re-key', async () => {
    await handler(event('Update', props({ KeyArn: KEY_ARN_2, EncryptionContext: { app: 'other' } }), {
      OldResourceProperties: props(),
      PhysicalResourceId: physicalId({ bucket: 'data-bucket', key: 'seed/config.json', versionId: 'v1', etag: '"e"', sha256: 'aa', marker: 'm0' }),
    }));
    expect(kms.commandCalls(ReEncryptCommand)).toHaveLength(0);
    expect(s3.commandCalls(PutObjectCommand)).toHaveLength(1);
  });

  test('GIVEN previous properties that no longer parse WHEN Update THEN the object is written anew, not re-keyed from them', async () => {
    await handler(event('Update', props({ KeyArn: KEY_ARN_2 }), {
      OldResourceProperties: { ...props(), KeyArn: 'alias/aws/s3' },
      PhysicalResourceId: physicalId({ bucket: 'data-bucket', key: 'seed/config.json', versionId: 'v1', etag: '"e"', sha256: 'aa', marker: 'm0' }),
    }));
    expect(kms.commandCalls(ReEncryptCommand)).toHaveLength(0);
    expect(s3.commandCalls(PutObjectCommand)).toHaveLength(1);
  });

  test('GIVEN a versioned object this resource wrote WHEN Delete THEN only that version is deleted', async () => {
    s3.on(DeleteObjectCommand).resolves({});
    const id = physicalId({ bucket: 'data-bucket', key: 'seed/config.json', versionId: 'v7', etag: '"e"', sha256: 'aa', marker: 'm0' });
    const res = await handler(event('Delete', props(), { PhysicalResourceId: id }));
    expect(res.PhysicalResourceId).toBe(id);
    expect(s3.commandCalls(DeleteObjectCommand)[0].args[0].input).toEqual({ Bucket: 'data-bucket', Key: 'seed/config.json', VersionId: 'v7' });
  });

  test('GIVEN an unversioned bucket WHEN Delete THEN the object is deleted only while its ETag is the one written', async () => {
    s3.on(DeleteObjectCommand).resolves({});
    const id = physicalId({ bucket: 'data-bucket', key: 'k', versionId: 'null', etag: '"mine"', sha256: 'aa', marker: 'm0' });
    s3.on(HeadObjectCommand).resolves({ ETag: '"someone-else"', Metadata: { 'cdk-cmek-request': 'm0' } });
    await handler(event('Delete', props(), { PhysicalResourceId: id }));
    // Same bytes, written by a later request (a re-key of an unversioned object): not ours either.
    s3.on(HeadObjectCommand).resolves({ ETag: '"mine"', Metadata: { 'cdk-cmek-request': 'a-later-request' } });
    await handler(event('Delete', props(), { PhysicalResourceId: id }));
    expect(s3.commandCalls(DeleteObjectCommand)).toHaveLength(0);
    s3.on(HeadObjectCommand).resolves({ ETag: '"mine"', Metadata: { 'cdk-cmek-request': 'm0' } });
    await handler(event('Delete', props(), { PhysicalResourceId: id }));
    expect(s3.commandCalls(DeleteObjectCommand)[0].args[0].input).toEqual({ Bucket: 'data-bucket', Key: 'k' });
  });

  test('GIVEN retainOnDelete, a failed create or an already deleted version WHEN Delete THEN success without deleting anything else', async () => {
    const id = physicalId({ bucket: 'data-bucket', key: 'k', versionId: 'v1', etag: '"e"', sha256: 'aa', marker: 'm0' });
    await handler(event('Delete', props({ Retain: 'true' }), { PhysicalResourceId: id }));
    await handler(event('Delete', props(), { PhysicalResourceId: 'AWSCDK::CustomResourceProviderFramework::CREATE_FAILED' }));
    expect(s3.commandCalls(DeleteObjectCommand)).toHaveLength(0);
    s3.on(DeleteObjectCommand).rejects(Object.assign(new Error('gone'), { name: 'NoSuchVersion', $metadata: { httpStatusCode: 404 } }));
    await expect(handler(event('Delete', props(), { PhysicalResourceId: id }))).resolves.toBeDefined();
  });

  test.each([
    ['a key pending deletion', awsError('KMSInvalidStateException', `${KEY_ARN} is pending deletion.`), `KMS key ${KEY_ARN} is pending deletion: cancel the deletion (kms:CancelKeyDeletion) or use another key`],
    ['a disabled key', awsError('DisabledException', `${KEY_ARN} is disabled.`), `KMS key ${KEY_ARN} is disabled: enable it (kms:EnableKey) or use another key`],
    ['no permission', awsError('AccessDeniedException', 'User: arn:aws:sts::1:assumed-role/r is not authorized to perform: kms:GenerateDataKey'), 'access denied: User: arn:aws:sts::1:assumed-role/r is not authorized to perform: kms:GenerateDataKey'],
    ['throttling past the retries', awsError('ThrottlingException', 'Rate exceeded'), 'throttled after 8 attempts (ThrottlingException): deploy again later or raise the quota'],
  ])('GIVEN %s WHEN Create THEN one readable sentence without a stack trace', async (_d, error, reason) => {
    kms.on(GenerateDataKeyCommand).rejects(error);
    const err = await handler(event('Create', props())).catch((e: Error) => e);
    expect((err as Error).message).toBe(reason);
    expect((err as Error).stack).toBe(reason);
  });

  test.each([
    ['secret', { type: 'secret', id: 'db' }, () => sm.on(GetSecretValueCommand).rejects(awsError('ResourceNotFoundException', 'Secrets Manager can\'t find the specified secret.')), 'source missing: secret db does not exist'],
    ['ssm', { type: 'ssm', id: '/p' }, () => ssm.on(GetParameterCommand).rejects(awsError('ParameterNotFound', '')), 'source missing: SSM parameter /p does not exist'],
    ['asset', { type: 'asset', bucket: 'assets', key: 'k' }, () => s3.on(GetObjectCommand).rejects(awsError('NoSuchKey', 'The specified key does not exist.')), 'source missing: asset s3://assets/k does not exist'],
    ['asset', { type: 'asset', bucket: 'assets', key: 'k' }, () => s3.on(GetObjectCommand).resolves({ Body: Readable.from([]) as any, ContentLength: 2 ** 37 }), 'object too large: source is 137438953472 bytes, more than AES-GCM allows under one key (68719476704 bytes)'],
  ] as const)('GIVEN a failing %s source WHEN Create THEN the reason names it', async (_d, source, arrange, reason) => {
    arrange();
    await expect(handler(event('Create', props({ Source: source as any })))).rejects.toThrow(reason);
  });

  test('GIVEN a known secret WHEN create, update and delete run THEN neither the secret nor the data key appears in any log line', async () => {
    const secret = 'correct-horse-battery-staple-42';
    sm.on(GetSecretValueCommand).resolves({ SecretString: secret });
    s3.on(DeleteObjectCommand).resolves({});
    const lines: string[] = [];
    const spies = (['log', 'info', 'warn', 'error', 'debug'] as const).map((m) =>
      jest.spyOn(console, m).mockImplementation((...args: unknown[]) => {
        lines.push(args.map((a) => (typeof a === 'string' ? a : JSON.stringify(a))).join(' '));
      }),
    );
    try {
      const p = props({ Source: { type: 'secret', id: 'db' } });
      const created = await handler(event('Create', p));
      const updated = await handler(event('Update', props({ Source: { type: 'secret', id: 'db' }, EncryptionContext: { app: 'x' } }), {
        OldResourceProperties: p,
        PhysicalResourceId: created.PhysicalResourceId,
      }));
      await handler(event('Delete', p, { PhysicalResourceId: updated.PhysicalResourceId }));
      kms.on(GenerateDataKeyCommand).rejects(awsError('AccessDeniedException', 'denied'));
      await handler(event('Create', p)).catch(() => undefined);
    } finally {
      spies.forEach((s) => s.mockRestore());
    }
    expect(lines.length).toBeGreaterThanOrEqual(6);
    const forbidden = [secret, Buffer.from(secret).toString('base64'), dataKey.toString('hex'), dataKey.toString('base64')];
    for (const line of lines) for (const f of forbidden) expect(line).not.toContain(f);
  });
});
