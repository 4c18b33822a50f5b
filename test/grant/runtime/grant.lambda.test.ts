// Round trips of the CmekGrant handler against moto's KMS: create, replace, revoke, retire, vanished grants, retries.
import { CreateKeyCommand, KMSClient, ListGrantsCommand } from '@aws-sdk/client-kms';
import type { CloudFormationCustomResourceEvent } from 'aws-lambda';
import { GrantProperties } from '../../../src/grant/contract';
import { handler, useClient } from '../../../src/grant/runtime/grant.lambda';
import { Emulator, LOCAL_AWS, startMoto } from '../../support/moto';

jest.setTimeout(120_000);

let moto: Emulator;
let kms: KMSClient;
let keyArn: string;
const GRANTEE = 'arn:aws:iam::111122223333:role/vendor';
const OTHER = 'arn:aws:iam::111122223333:role/other';
const HANDLER_ROLE = 'arn:aws:iam::123456789012:role/grant-handler';

beforeAll(async () => {
  moto = await startMoto();
  kms = new KMSClient({ ...LOCAL_AWS, endpoint: moto.endpoint });
  useClient(kms);
});

afterAll(async () => {
  await moto?.stop();
});

beforeEach(async () => {
  keyArn = (await kms.send(new CreateKeyCommand({}))).KeyMetadata!.Arn!;
});

function props(over: Partial<GrantProperties> = {}): GrantProperties {
  return {
    KeyArn: keyArn,
    GranteePrincipal: GRANTEE,
    Operations: ['Decrypt', 'DescribeKey'],
    Name: 'cdk-cmek/S/Grant',
    EncryptionContextEquals: { tenant: 'a' },
    RevokeOnDelete: 'true',
    ...over,
  };
}

function event(type: 'Create' | 'Update' | 'Delete', p: GrantProperties | Record<string, unknown>, physicalId?: string, old?: GrantProperties): CloudFormationCustomResourceEvent {
  const base = {
    ServiceToken: 'token',
    ResponseURL: 'https://example.invalid',
    StackId: 'arn:aws:cloudformation:eu-west-1:123456789012:stack/S/1',
    RequestId: 'r',
    LogicalResourceId: 'Grant',
    ResourceType: 'Custom::CmekGrant',
    ResourceProperties: { ServiceToken: 'token', ...p },
  };
  if (type === 'Create') return { ...base, RequestType: 'Create' };
  if (type === 'Update') return { ...base, RequestType: 'Update', PhysicalResourceId: physicalId!, OldResourceProperties: { ServiceToken: 'token', ...old } };
  return { ...base, RequestType: 'Delete', PhysicalResourceId: physicalId! };
}

async function grants() {
  return (await kms.send(new ListGrantsCommand({ KeyId: keyArn }))).Grants ?? [];
}

describe('CmekGrant handler', () => {
  test('GIVEN a grant WHEN created THEN KMS lists it with its grantee, operations, constraint and name, and returns its id and token', async () => {
    const out = await handler(event('Create', props()));
    const listed = await grants();
    expect(listed).toHaveLength(1);
    expect(listed[0]).toMatchObject({
      GrantId: out.PhysicalResourceId,
      Name: 'cdk-cmek/S/Grant',
      GranteePrincipal: GRANTEE,
      Operations: ['Decrypt', 'DescribeKey'],
      Constraints: { EncryptionContextEquals: { tenant: 'a' } },
    });
    expect(out.Data).toEqual({ GrantId: out.PhysicalResourceId, GrantToken: expect.stringMatching(/^[0-9a-f]+$/) });
  });

  test('GIVEN a subset constraint and a retiring principal WHEN created THEN both reach KMS', async () => {
    await handler(event('Create', props({ EncryptionContextEquals: undefined, EncryptionContextSubset: { tenant: 'b' }, RetiringPrincipal: OTHER })));
    expect(await grants()).toEqual([expect.objectContaining({
      Constraints: { EncryptionContextSubset: { tenant: 'b' } },
      RetiringPrincipal: OTHER,
    })]);
  });

  test('GIVEN a created grant WHEN Create is retried THEN the same grant is returned and no second one made', async () => {
    const first = await handler(event('Create', props()));
    const retry = await handler(event('Create', props()));
    expect(retry.PhysicalResourceId).toBe(first.PhysicalResourceId);
    expect(await grants()).toHaveLength(1);
  });

  test('GIVEN a created grant WHEN another grant of the same name differs THEN that is a new grant', async () => {
    const first = await handler(event('Create', props()));
    const other = await handler(event('Create', props({ GranteePrincipal: OTHER })));
    expect(other.PhysicalResourceId).not.toBe(first.PhysicalResourceId);
    expect(await grants()).toHaveLength(2);
  });

  test('GIVEN a grant WHEN updated with another operation set THEN a new grant is made and deleting the old one revokes only it', async () => {
    const old = props();
    const created = await handler(event('Create', old));
    const next = props({ Operations: ['Decrypt'] });
    const updated = await handler(event('Update', next, created.PhysicalResourceId, old));
    expect(updated.PhysicalResourceId).not.toBe(created.PhysicalResourceId);
    // CloudFormation deletes the replaced resource with its old properties.
    await handler(event('Delete', old, created.PhysicalResourceId));
    expect((await grants()).map((g) => [g.GrantId, g.Operations])).toEqual([[updated.PhysicalResourceId, ['Decrypt']]]);
  });

  test('GIVEN a grant WHEN updated with nothing of the grant changed THEN it keeps its id (no replacement)', async () => {
    const old = props();
    const created = await handler(event('Create', old));
    const updated = await handler(event('Update', props({ Operations: ['DescribeKey', 'Decrypt'] }), created.PhysicalResourceId, old));
    expect(updated.PhysicalResourceId).toBe(created.PhysicalResourceId);
    expect(await grants()).toHaveLength(1);
  });

  test('GIVEN a grant WHEN deleted THEN it is revoked', async () => {
    const created = await handler(event('Create', props()));
    await handler(event('Delete', props(), created.PhysicalResourceId));
    expect(await grants()).toEqual([]);
  });

  test('GIVEN a grant whose handler is its retiring principal WHEN deleted with RevokeOnDelete false THEN it is retired', async () => {
    const p = props({ RevokeOnDelete: 'false', RetiringPrincipal: HANDLER_ROLE });
    const created = await handler(event('Create', p));
    await handler(event('Delete', p, created.PhysicalResourceId));
    expect(await grants()).toEqual([]);
  });

  test('GIVEN a grant already revoked WHEN deleted THEN the delete succeeds', async () => {
    const created = await handler(event('Create', props()));
    await handler(event('Delete', props(), created.PhysicalResourceId));
    await expect(handler(event('Delete', props(), created.PhysicalResourceId))).resolves.toEqual({ PhysicalResourceId: created.PhysicalResourceId });
  });

  test('GIVEN a failed create placeholder WHEN deleted THEN nothing is called and the delete succeeds', async () => {
    await expect(handler(event('Delete', {}, 'AWSCDK::CustomResourceProviderFramework::CREATE_FAILED'))).resolves.toBeDefined();
  });

  test('GIVEN bad properties WHEN created THEN it fails with one line per bad property and makes no grant', async () => {
    const bad = {
      ...props(),
      GranteePrincipal: '*',
      Operations: ['Decrypt', 'ScheduleKeyDeletion'],
      Name: 'has space',
      EncryptionContextSubset: { tenant: 'a' },
    };
    await expect(handler(event('Create', bad))).rejects.toThrow([
      '`GranteePrincipal` must be the ARN of an IAM role, IAM user or account root (no wildcards, STS sessions or service principals), got: "*"',
      '`Name` must be 1 to 256 characters of a-z A-Z 0-9 : / _ -, got: "has space"',
      '`Operations` must hold only Encrypt, Decrypt, ReEncryptFrom, ReEncryptTo, GenerateDataKey, GenerateDataKeyWithoutPlaintext, GenerateDataKeyPair, GenerateDataKeyPairWithoutPlaintext, DescribeKey, CreateGrant, RetireGrant, got: "ScheduleKeyDeletion"',
      '`EncryptionContextEquals` and `EncryptionContextSubset` are exclusive (KMS takes one constraint), got: both',
    ].join('\n'));
    expect(await grants()).toEqual([]);
  });
});
