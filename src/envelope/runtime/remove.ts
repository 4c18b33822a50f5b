// Delete: removes the one object version this resource wrote, unless retained; never anything else.
import { s3, sdk } from './clients';
import { isNotFound } from './errors';
import { log } from './respond';
import { parsePhysicalId, REQUEST_MARKER_KEY, RequestNames } from '../contract';

/** Deletes the one version this resource wrote, unless retained; objects it did not write are left alone. */
export async function remove(id: string, props: RequestNames): Promise<void> {
  const written = parsePhysicalId(id);
  if (!written) {
    log('nothing to delete: the physical id names no object this resource wrote');
    return;
  }
  if (props.retain) {
    log('object retained', { bucket: written.bucket, objectKey: written.key, versionId: written.versionId });
    return;
  }
  const client = await s3();
  const { DeleteObjectCommand, HeadObjectCommand } = await sdk();
  try {
    if (written.versionId === 'null') {
      // Unversioned bucket: the key may have been overwritten (or re-keyed, same bytes) since: delete only
      // while the object is still the one this write put there.
      const head = await client.send(new HeadObjectCommand({ Bucket: written.bucket, Key: written.key }));
      if (head.ETag !== written.etag || head.Metadata?.[REQUEST_MARKER_KEY] !== written.marker) {
        log('object changed since this resource wrote it: left in place', { objectKey: written.key });
        return;
      }
      await client.send(new DeleteObjectCommand({ Bucket: written.bucket, Key: written.key }));
    } else {
      await client.send(new DeleteObjectCommand({ Bucket: written.bucket, Key: written.key, VersionId: written.versionId }));
    }
    log('object deleted', { bucket: written.bucket, objectKey: written.key, versionId: written.versionId });
  } catch (e) {
    if (isNotFound(e)) return;
    throw e;
  }
}
