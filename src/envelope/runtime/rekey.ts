// Re-key: the wrapped data key moves to the new KMS key with kms:ReEncrypt; the body bytes stay as they are.
import { kms, s3, sdk } from './clients';
import { format } from './lazy';
import { answer, HandlerResponse, log } from './respond';
import { EnvelopeProperties, REQUEST_MARKER_KEY, WrittenObject } from '../contract';

/**
 * Re-key: the wrapped data key moves to the new KMS key with `ReEncrypt` (KMS never reveals it here), and a
 * metadata-only `CopyObject` writes a new version whose body bytes S3 copies unchanged.
 */
export async function rekey(written: WrittenObject, old: EnvelopeProperties, props: EnvelopeProperties, marker: string): Promise<HandlerResponse> {
  const client = await s3();
  const { HeadObjectCommand, CopyObjectCommand } = await sdk();
  const current = await client.send(new HeadObjectCommand({ Bucket: written.bucket, Key: written.key }));
  if (current.Metadata?.[REQUEST_MARKER_KEY] === marker) {
    log('retry found the object re-keyed by the first attempt', { versionId: current.VersionId });
    return answer({ ...written, versionId: current.VersionId ?? 'null', etag: current.ETag ?? written.etag, marker }, props.KeyArn);
  }
  const head = await client.send(new HeadObjectCommand({ Bucket: written.bucket, Key: written.key, VersionId: written.versionId === 'null' ? undefined : written.versionId }));
  const metadata = head.Metadata ?? {};
  const envelope = format().parseMetadata(metadata);
  const { ReEncryptCommand } = await sdk();
  const re = await (await kms()).send(new ReEncryptCommand({
    CiphertextBlob: envelope.wrappedKey,
    SourceKeyId: old.KeyArn,
    SourceEncryptionContext: envelope.context,
    DestinationKeyId: props.KeyArn,
    DestinationEncryptionContext: envelope.context,
  }));
  const wrappedKeyField = envelope.format === 'V3' ? 'x-amz-3' : 'x-amz-key-v2';
  const next = { ...metadata, [wrappedKeyField]: Buffer.from(re.CiphertextBlob!).toString('base64'), [REQUEST_MARKER_KEY]: marker };
  const versionQuery = written.versionId === 'null' ? '' : `?versionId=${encodeURIComponent(written.versionId)}`;
  const copied = await client.send(new CopyObjectCommand({
    Bucket: written.bucket,
    Key: written.key,
    CopySource: `${written.bucket}/${encodeURIComponent(written.key)}${versionQuery}`,
    MetadataDirective: 'REPLACE',
    Metadata: next,
    ContentType: head.ContentType,
  }));
  const result: WrittenObject = {
    ...written,
    versionId: copied.VersionId ?? 'null',
    etag: copied.CopyObjectResult?.ETag ?? written.etag,
    marker,
  };
  log('object re-keyed', { bucket: result.bucket, objectKey: result.key, versionId: result.versionId, keyArn: props.KeyArn });
  return answer(result, props.KeyArn);
}
