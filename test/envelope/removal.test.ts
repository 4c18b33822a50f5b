// Removal policies of EnvelopeEncryptedObject, synthesized and then played through the handler against moto: only DESTROY deletes.
import { CreateKeyCommand, KMSClient } from '@aws-sdk/client-kms';
import {
  CreateBucketCommand,
  HeadObjectCommand,
  ListObjectVersionsCommand,
  PutBucketVersioningCommand,
  PutObjectCommand,
  S3Client,
} from '@aws-sdk/client-s3';
import { App, Aspects, CfnResource, IAspect, RemovalPolicies, RemovalPolicy, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as s3 from 'aws-cdk-lib/aws-s3';
import type { CloudFormationCustomResourceEvent } from 'aws-lambda';
import { IConstruct } from 'constructs';
import { EnvelopeProperties, parsePhysicalId } from '../../src/envelope/contract';
import { EnvelopeEncryptedObject } from '../../src/envelope/envelope-encrypted-object';
import { EnvelopeSource } from '../../src/envelope/envelope-source';
import { handler, HandlerResponse, useClients } from '../../src/envelope/runtime/envelope.lambda';
import { Emulator, LOCAL_AWS, startMoto } from '../support/moto';

jest.setTimeout(300_000);

const VERSIONED = 'removal-versioned';
const UNVERSIONED = 'removal-unversioned';
let moto: Emulator;
let s3c: S3Client;
let keyArn: string;

beforeAll(async () => {
  moto = await startMoto();
  s3c = new S3Client({ ...LOCAL_AWS, endpoint: moto.endpoint, forcePathStyle: true });
  const kmsc = new KMSClient({ ...LOCAL_AWS, endpoint: moto.endpoint });
  useClients({ s3: s3c, kms: kmsc });
  for (const b of [VERSIONED, UNVERSIONED]) {
    await s3c.send(new CreateBucketCommand({ Bucket: b, CreateBucketConfiguration: { LocationConstraint: 'eu-west-1' } }));
  }
  await s3c.send(new PutBucketVersioningCommand({ Bucket: VERSIONED, VersioningConfiguration: { Status: 'Enabled' } }));
  keyArn = (await kmsc.send(new CreateKeyCommand({}))).KeyMetadata!.Arn!;
  jest.spyOn(console, 'log').mockImplementation(() => undefined);
});

afterAll(async () => {
  await moto?.stop();
});

/** The custom resource as CloudFormation receives it: resolved properties and its two policies. */
interface Synthesized {
  readonly props: EnvelopeProperties;
  readonly deletionPolicy?: string;
  readonly updateReplacePolicy?: string;
}

/** Where a removal policy is set: the prop, `applyRemovalPolicy`, `RemovalPolicies.of()`, or a hand-written aspect. */
type Setter = (stack: Stack, object: EnvelopeEncryptedObject, policy: RemovalPolicy) => void;
const SETTERS: Record<string, Setter> = {
  'applyRemovalPolicy': (_s, o, p) => o.applyRemovalPolicy(p),
  'RemovalPolicies.of()': (s, _o, p) => RemovalPolicies.of(s).apply(p),
  'an aspect': (s, _o, p) => Aspects.of(s).add(new (class implements IAspect {
    public visit(node: IConstruct): void {
      if (node instanceof CfnResource) node.applyRemovalPolicy(p);
    }
  })()),
};

let n = 0;
function synth(bucket: string, objectKey: string, text: string, removalPolicy?: RemovalPolicy, setter?: [Setter, RemovalPolicy]): Synthesized {
  const app = new App();
  const stack = new Stack(app, 'Seed', { env: { account: '123456789012', region: 'eu-west-1' } });
  const object = new EnvelopeEncryptedObject(stack, 'Object', {
    bucket: s3.Bucket.fromBucketName(stack, 'Bucket', bucket),
    key: kms.Key.fromKeyArn(stack, 'Key', keyArn),
    objectKey,
    source: EnvelopeSource.fromInlineText(text),
    removalPolicy,
  });
  setter?.[0](stack, object, setter[1]);
  const [resource] = Object.values(Template.fromStack(stack).findResources('Custom::CmekEnvelopeObject'));
  const { ServiceToken: _token, ...props } = resource.Properties;
  return { props, deletionPolicy: resource.DeletionPolicy, updateReplacePolicy: resource.UpdateReplacePolicy };
}

function event(type: 'Create' | 'Update' | 'Delete', p: EnvelopeProperties, extra: Record<string, unknown> = {}): CloudFormationCustomResourceEvent {
  return {
    RequestType: type,
    ServiceToken: 'x',
    ResponseURL: 'https://example.com',
    StackId: 'arn:aws:cloudformation:eu-west-1:123456789012:stack/Seed/1',
    RequestId: `req-${++n}`,
    LogicalResourceId: 'Object',
    ResourceType: 'Custom::CmekEnvelopeObject',
    ResourceProperties: { ServiceToken: 'x', ...p } as any,
    ...extra,
  } as CloudFormationCustomResourceEvent;
}

/**
 * CloudFormation's part: on stack deletion it sends Delete unless the resource is retained (`Snapshot`, which a
 * custom resource does not support, is taken as a Delete); after an update that returns a new physical id it
 * sends Delete for the old one, with the old properties, unless the update-replace policy retains it.
 */
const cfn = {
  create: (r: Synthesized) => handler(event('Create', r.props)),
  async deleteStack(r: Synthesized, physicalId: string): Promise<void> {
    if (r.deletionPolicy === 'Retain' || r.deletionPolicy === 'RetainExceptOnCreate') return;
    await handler(event('Delete', r.props, { PhysicalResourceId: physicalId }));
  },
  async update(old: Synthesized, next: Synthesized, physicalId: string): Promise<HandlerResponse> {
    const res = await handler(event('Update', next.props, { OldResourceProperties: old.props, PhysicalResourceId: physicalId }));
    if (res.PhysicalResourceId !== physicalId && next.updateReplacePolicy !== 'Retain') {
      await handler(event('Delete', old.props, { PhysicalResourceId: physicalId }));
    }
    return res;
  },
};

async function versionExists(physicalId: string): Promise<boolean> {
  const w = parsePhysicalId(physicalId)!;
  try {
    await s3c.send(new HeadObjectCommand({ Bucket: w.bucket, Key: w.key, VersionId: w.versionId === 'null' ? undefined : w.versionId }));
    return true;
  } catch (e) {
    if ((e as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode === 404) return false;
    throw e;
  }
}

const KEEPING = [RemovalPolicy.RETAIN, RemovalPolicy.RETAIN_ON_UPDATE_OR_DELETE, RemovalPolicy.SNAPSHOT];
/** Every way a keeping policy can be set: [description, prop, setter]. */
const KEEP_CASES: [string, RemovalPolicy | undefined, [Setter, RemovalPolicy] | undefined][] = [
  ...KEEPING.map((p) => [`removalPolicy ${p}`, p, undefined] as [string, RemovalPolicy, undefined]),
  ...Object.entries(SETTERS).flatMap(([how, setter]) =>
    KEEPING.map((p) => [`${how} ${p}`, undefined, [setter, p]] as [string, undefined, [Setter, RemovalPolicy]])),
];

describe('EnvelopeEncryptedObject removal, through the handler (moto)', () => {
  describe.each(KEEP_CASES)('GIVEN %s', (what, prop, setter) => {
    const key = `keep/${what.replace(/\W+/g, '-')}`;

    test('WHEN synthesized THEN the handler is told to keep the object and no Snapshot policy reaches CloudFormation', () => {
      const r = synth(VERSIONED, key, 'v1', prop, setter);
      expect(r.props.Retain).toBe('true');
      expect([r.deletionPolicy, r.updateReplacePolicy]).not.toContain('Snapshot');
    });

    test.each([VERSIONED, UNVERSIONED])('WHEN the stack is deleted, or Delete reaches the handler anyway (bucket %s), THEN the object stays', async (bucket) => {
      const r = synth(bucket, `${key}/delete`, 'v1', prop, setter);
      const created = await cfn.create(r);
      await cfn.deleteStack(r, created.PhysicalResourceId);
      expect(await versionExists(created.PhysicalResourceId)).toBe(true);
      await handler(event('Delete', r.props, { PhysicalResourceId: created.PhysicalResourceId }));
      expect(await versionExists(created.PhysicalResourceId)).toBe(true);
    });

    test('WHEN an update replaces the physical id THEN the version written before stays', async () => {
      const v1 = synth(VERSIONED, `${key}/replace`, 'v1', prop, setter);
      const v2 = synth(VERSIONED, `${key}/replace`, 'v2', prop, setter);
      const created = await cfn.create(v1);
      const updated = await cfn.update(v1, v2, created.PhysicalResourceId);
      expect(updated.PhysicalResourceId).not.toBe(created.PhysicalResourceId);
      expect(await versionExists(created.PhysicalResourceId)).toBe(true);
      expect(await versionExists(updated.PhysicalResourceId)).toBe(true);
    });
  });

  describe('GIVEN the default, DESTROY', () => {
    test('WHEN synthesized THEN the handler is told to delete and CloudFormation deletes', () => {
      const r = synth(VERSIONED, 'destroy/template', 'v1');
      expect(r).toMatchObject({ props: { Retain: 'false' }, deletionPolicy: 'Delete', updateReplacePolicy: 'Delete' });
    });

    test('WHEN the stack is deleted THEN only the version the resource wrote is deleted', async () => {
      const objectKey = 'destroy/stack';
      const before = await s3c.send(new PutObjectCommand({ Bucket: VERSIONED, Key: objectKey, Body: 'someone else' }));
      const r = synth(VERSIONED, objectKey, 'v1');
      const created = await cfn.create(r);
      await cfn.deleteStack(r, created.PhysicalResourceId);
      expect(await versionExists(created.PhysicalResourceId)).toBe(false);
      const versions = await s3c.send(new ListObjectVersionsCommand({ Bucket: VERSIONED, Prefix: objectKey }));
      expect(versions.Versions?.map((v) => v.VersionId)).toEqual([before.VersionId]);
    });

    test('WHEN an update replaces the physical id THEN the old version is deleted and the new one stays', async () => {
      const v1 = synth(VERSIONED, 'destroy/replace', 'v1');
      const v2 = synth(VERSIONED, 'destroy/replace', 'v2');
      const created = await cfn.create(v1);
      const updated = await cfn.update(v1, v2, created.PhysicalResourceId);
      expect(await versionExists(created.PhysicalResourceId)).toBe(false);
      expect(await versionExists(updated.PhysicalResourceId)).toBe(true);
    });
  });
});
