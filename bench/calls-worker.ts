// Child process of the call-count benchmark: runs the shipped envelope handler against moto_server and counts every
// KMS and S3 request it sends, with the request body bytes, per custom-resource operation.
import { CreateKeyCommand, KMSClient } from '@aws-sdk/client-kms';
import { BucketLocationConstraint, CreateBucketCommand, PutBucketVersioningCommand, S3Client } from '@aws-sdk/client-s3';
import { emitResult, HANDLER, HANDLER_SDK as SDK, MiB } from './support';
import { LOCAL_AWS, startMoto } from '../test/support/moto';

interface Call {
  readonly service: string;
  readonly command: string;
  readonly bodyBytes: number;
}

/** Bytes of the request body as sent: the signed length, or the decoded length of an aws-chunked body. */
function bodyBytes(request: { headers?: Record<string, string>; body?: unknown }): number {
  const h = Object.fromEntries(Object.entries(request.headers ?? {}).map(([k, v]) => [k.toLowerCase(), v]));
  const declared = h['x-amz-decoded-content-length'] ?? h['content-length'];
  if (declared !== undefined) return Number(declared);
  const b = request.body;
  if (typeof b === 'string') return Buffer.byteLength(b);
  if (b instanceof Uint8Array) return b.byteLength;
  return 0;
}

function counted<T extends KMSClient | S3Client>(client: T, service: string, calls: Call[]): T {
  (client as KMSClient).middlewareStack.add(
    (next, context) => async (args) => {
      calls.push({ service, command: String(context.commandName).replace(/Command$/, ''), bodyBytes: bodyBytes(args.request as never) });
      return next(args);
    },
    { step: 'finalizeRequest', name: 'benchCallCounter' },
  );
  return client;
}

function summarize(calls: Call[]) {
  const byCommand: Record<string, number> = {};
  for (const c of calls) byCommand[`${c.service}:${c.command}`] = (byCommand[`${c.service}:${c.command}`] ?? 0) + 1;
  const sum = (cs: Call[]) => cs.reduce((a, c) => a + c.bodyBytes, 0);
  const s3 = calls.filter((c) => c.service === 's3');
  const objectData = s3.filter((c) => c.command === 'PutObject' || c.command === 'UploadPart');
  return {
    kmsCalls: calls.filter((c) => c.service === 'kms').length,
    s3Calls: s3.length,
    /** Object bytes sent (PutObject and UploadPart bodies). */
    s3ObjectBytes: sum(objectData),
    /** All S3 request bodies, including the multipart completion document. */
    s3BodyBytes: sum(s3),
    byCommand,
  };
}

async function main(): Promise<void> {
  const moto = await startMoto();
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const sdk = require(SDK) as { KMSClient: typeof KMSClient; S3Client: typeof S3Client };
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const handlerModule = require(HANDLER) as {
      handler: (e: unknown) => Promise<{ PhysicalResourceId: string }>;
      useClients: (c: object) => void;
    };
    const config = { ...LOCAL_AWS, endpoint: moto.endpoint, forcePathStyle: true };
    const calls: Call[] = [];
    const kms = counted(new sdk.KMSClient(config), 'kms', calls);
    const s3 = counted(new sdk.S3Client(config), 's3', calls);

    // Setup, not counted (with the SDK from node_modules: the handler's bundle exports only what it uses).
    const setupKms = new KMSClient(config);
    const setupS3 = new S3Client(config);
    const keyA = (await setupKms.send(new CreateKeyCommand({}))).KeyMetadata!.Arn!;
    const keyB = (await setupKms.send(new CreateKeyCommand({}))).KeyMetadata!.Arn!;
    const bucket = 'bench-envelope';
    await setupS3.send(new CreateBucketCommand({
      Bucket: bucket,
      CreateBucketConfiguration: { LocationConstraint: LOCAL_AWS.region as BucketLocationConstraint },
    }));
    await setupS3.send(new PutBucketVersioningCommand({ Bucket: bucket, VersioningConfiguration: { Status: 'Enabled' } }));
    handlerModule.useClients({ kms, s3 });

    const base = {
      ServiceToken: 'arn:aws:lambda:eu-west-1:111111111111:function:bench',
      ResponseURL: 'https://example.invalid',
      StackId: 'arn:aws:cloudformation:eu-west-1:111111111111:stack/Bench/1',
      ResourceType: 'Custom::EnvelopeEncryptedObject',
    };
    const results: Record<string, ReturnType<typeof summarize> & { objectBytes: number }> = {};
    for (const size of [1 * MiB, 20 * MiB]) {
      const props = {
        Bucket: bucket,
        ObjectKey: `object-${size}`,
        KeyArn: keyA,
        Format: 'V3',
        EncryptionContext: { purpose: 'bench' },
        Source: { type: 'random', length: String(size) },
      };
      const label = `${size / MiB} MiB`;
      calls.length = 0;
      const created = await handlerModule.handler({ ...base, RequestType: 'Create', RequestId: `c-${size}`, LogicalResourceId: `O${size}`, ResourceProperties: props });
      results[`create ${label}`] = { ...summarize(calls), objectBytes: size };

      calls.length = 0;
      const rekeyed = await handlerModule.handler({
        ...base,
        RequestType: 'Update',
        RequestId: `u-${size}`,
        LogicalResourceId: `O${size}`,
        PhysicalResourceId: created.PhysicalResourceId,
        OldResourceProperties: props,
        ResourceProperties: { ...props, KeyArn: keyB },
      });
      results[`re-key ${label}`] = { ...summarize(calls), objectBytes: size };

      calls.length = 0;
      await handlerModule.handler({
        ...base,
        RequestType: 'Delete',
        RequestId: `d-${size}`,
        LogicalResourceId: `O${size}`,
        PhysicalResourceId: rekeyed.PhysicalResourceId,
        ResourceProperties: { ...props, KeyArn: keyB },
      });
      results[`delete ${label}`] = { ...summarize(calls), objectBytes: size };
    }
    emitResult({ results });
  } finally {
    await moto.stop();
  }
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
