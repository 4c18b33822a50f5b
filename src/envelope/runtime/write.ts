// Writing an object: the source streamed through AES-GCM into a multipart upload, found again on a retried request.
import { PassThrough, Readable } from 'node:stream';
import type { S3Client } from '@aws-sdk/client-s3';
import { kms, s3, sdk } from './clients';
import { isNotFound, TooLargeError } from './errors';
import { format, nodeCrypto } from './lazy';
import { answer, HandlerResponse, log } from './respond';
import { openSource } from './sources';
import { EnvelopeProperties, REQUEST_MARKER_KEY, WrittenObject } from '../contract';

const PART_SIZE = 8 * 1024 * 1024;
/** AES-GCM can encrypt at most this much under one key (GCM_MAX_CONTENT_BYTES of format/suites.ts, without loading it). */
const GCM_MAX_CONTENT_BYTES = 2 ** 36 - 32;

/**
 * Lambda shows every function two cores but allots CPU by memory: one full vCPU at 1,769 MB, more above. Below
 * that, hashing on a second thread only adds its overhead. Outside Lambda (tests), Node's count decides.
 */
function lambdaHasSecondCore(): boolean | undefined {
  const mb = Number(process.env.AWS_LAMBDA_FUNCTION_MEMORY_SIZE);
  return Number.isFinite(mb) && mb > 0 ? mb > 1769 : undefined;
}

/** Encrypts the source into a new object version. Retries of the same request find the version they wrote. */
export async function write(props: EnvelopeProperties, marker: string): Promise<HandlerResponse> {
  const client = await s3();
  const previous = await findRetried(client, props, marker);
  if (previous) return answer(previous, props.KeyArn);

  const { createEncryption, kmsEncryptionContext } = format();
  const context = kmsEncryptionContext(props.Format, props.EncryptionContext ?? {});
  const source = await openSource(props.Source);
  try {
    if (source.length !== undefined && source.length > GCM_MAX_CONTENT_BYTES) {
      throw new TooLargeError(`source is ${source.length} bytes, more than AES-GCM allows under one key (${GCM_MAX_CONTENT_BYTES} bytes)`);
    }
    const { GenerateDataKeyCommand } = await sdk();
    const dk = await (await kms()).send(new GenerateDataKeyCommand({ KeyId: props.KeyArn, KeySpec: 'AES_256', EncryptionContext: context }));
    const plaintextKey = Buffer.from(dk.Plaintext!);
    dk.Plaintext?.fill(0);
    let encryption;
    try {
      encryption = createEncryption(props.Format, plaintextKey, { expectedBytes: source.length, secondCore: lambdaHasSecondCore() });
    } finally {
      plaintextKey.fill(0);
    }
    const metadata = { ...encryption.metadata(dk.CiphertextBlob!, context, source.length), [REQUEST_MARKER_KEY]: marker };
    const body = new PassThrough({ highWaterMark: PART_SIZE });
    let counted = 0;
    const limit = new PassThrough();
    limit.on('data', (c: Buffer) => {
      counted += c.length;
      if (counted > GCM_MAX_CONTENT_BYTES) limit.destroy(new TooLargeError(`source is larger than AES-GCM allows under one key (${GCM_MAX_CONTENT_BYTES} bytes)`));
    });
    source.stream.on('error', (e) => body.destroy(e));
    limit.on('error', (e) => body.destroy(e));
    encryption.stream.on('error', (e) => body.destroy(e));
    source.stream.pipe(limit).pipe(encryption.stream).pipe(body);

    const { Upload } = await sdk();
    const upload = new Upload({
      client,
      queueSize: 2,
      partSize: PART_SIZE,
      leavePartsOnError: false,
      params: { Bucket: props.Bucket, Key: props.ObjectKey, Body: body, Metadata: metadata, ContentType: props.ContentType },
    });
    const done = await upload.done();
    const written: WrittenObject = {
      bucket: props.Bucket,
      key: props.ObjectKey,
      versionId: done.VersionId ?? 'null',
      etag: done.ETag ?? '',
      sha256: encryption.ciphertextSha256(),
      marker,
    };
    log('object written', { bucket: written.bucket, objectKey: written.key, versionId: written.versionId, format: props.Format });
    return answer(written, props.KeyArn);
  } finally {
    source.wipe();
  }
}

/** A retried request whose first attempt already wrote the object: the current version carries its marker. */
async function findRetried(client: S3Client, props: EnvelopeProperties, marker: string): Promise<WrittenObject | undefined> {
  const { HeadObjectCommand, GetObjectCommand } = await sdk();
  let head;
  try {
    head = await client.send(new HeadObjectCommand({ Bucket: props.Bucket, Key: props.ObjectKey }));
  } catch (e) {
    if (isNotFound(e)) return undefined;
    throw e;
  }
  if (head.Metadata?.[REQUEST_MARKER_KEY] !== marker) return undefined;
  // The checksum attribute is of the stored bytes: read them back once (only on a retry).
  const obj = await client.send(new GetObjectCommand({ Bucket: props.Bucket, Key: props.ObjectKey, VersionId: head.VersionId }));
  if (!(obj.Body instanceof Readable)) throw new Error(`s3://${props.Bucket}/${props.ObjectKey} has no readable body`);
  const hash = nodeCrypto().createHash('sha256');
  for await (const chunk of obj.Body) hash.update(chunk);
  log('retry found the object written by the first attempt', { versionId: head.VersionId });
  return { bucket: props.Bucket, key: props.ObjectKey, versionId: head.VersionId ?? 'null', etag: head.ETag ?? '', sha256: hash.digest('hex'), marker };
}
