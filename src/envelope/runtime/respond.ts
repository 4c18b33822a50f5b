// What the handler says: its answer to the Provider framework and its log lines.
import { ATTRIBUTES, physicalId, WrittenObject } from '../contract';

/** The handler's answer to the Provider framework. */
export interface HandlerResponse {
  readonly PhysicalResourceId: string;
  readonly Data?: Record<string, string>;
}

/** The answer for an object version this resource wrote: its physical id and attributes. */
export function answer(o: WrittenObject, keyArn: string): HandlerResponse {
  return {
    PhysicalResourceId: physicalId(o),
    Data: {
      [ATTRIBUTES.objectKey]: o.key,
      [ATTRIBUTES.versionId]: o.versionId,
      [ATTRIBUTES.etag]: o.etag,
      [ATTRIBUTES.keyArn]: keyArn,
      [ATTRIBUTES.ciphertextSha256]: o.sha256,
    },
  };
}

/** Log lines carry names and ids only: never source bytes, data keys or wrapped keys. */
export function log(message: string, fields: Record<string, string | undefined> = {}): void {
  console.log(JSON.stringify({ message, ...fields }));
}
