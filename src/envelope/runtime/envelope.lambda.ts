// Custom-resource handler of EnvelopeEncryptedObject: parses each request and dispatches Create, Update and Delete.
import type { CloudFormationCustomResourceEvent } from 'aws-lambda';
import { describeFailure } from './errors';
import { nodeCrypto } from './lazy';
import { rekey } from './rekey';
import { remove } from './remove';
import { answer, HandlerResponse, log } from './respond';
import { write } from './write';
import { EnvelopeProperties, EnvelopePropertiesError, parseEnvelopeProperties, parsePhysicalId, requestNames } from '../contract';

export { useClients } from './clients';
export type { Clients } from './clients';
export type { HandlerResponse } from './respond';

export async function handler(event: CloudFormationCustomResourceEvent): Promise<HandlerResponse> {
  // Read leniently, so the log line and the failure sentence never throw before the properties are checked.
  const names = requestNames(event.ResourceProperties);
  log(`${event.RequestType} started`, { logicalId: event.LogicalResourceId, bucket: names.bucket, objectKey: names.objectKey });
  try {
    // Create and Update are parsed whole before any call. Delete is not: it reads only the physical id and
    // Retain, and must succeed whatever properties a failed Create or Update left behind.
    switch (event.RequestType) {
      case 'Create':
        return await write(parseEnvelopeProperties(event.ResourceProperties), requestMarker(event));
      case 'Update': {
        const props = parseEnvelopeProperties(event.ResourceProperties);
        const written = parsePhysicalId(event.PhysicalResourceId);
        const old = written && previousProperties(event.OldResourceProperties);
        // Only the removal policy changed: the object stays as it is.
        if (written && old && sameObject(old, props, false)) return answer(written, props.KeyArn);
        if (written && old && sameObject(old, props, true)) return await rekey(written, old, props, requestMarker(event));
        return await write(props, requestMarker(event));
      }
      case 'Delete':
        await remove(event.PhysicalResourceId, names);
        return { PhysicalResourceId: event.PhysicalResourceId };
    }
  } catch (e) {
    const err = new Error(describeFailure(e, names));
    // The Provider framework puts the stack into the CloudFormation reason: keep it to the one sentence.
    err.stack = err.message;
    log(`${event.RequestType} failed`, { reason: err.message });
    throw err;
  }
}

/** The properties the object was written with; when they no longer parse, the object is written anew. */
function previousProperties(raw: unknown): EnvelopeProperties | undefined {
  try {
    return parseEnvelopeProperties(raw);
  } catch (e) {
    if (e instanceof EnvelopePropertiesError) return undefined;
    throw e;
  }
}

function requestMarker(event: CloudFormationCustomResourceEvent): string {
  return nodeCrypto().createHash('sha256').update(`${event.StackId}\n${event.LogicalResourceId}\n${event.RequestId}`).digest('hex').slice(0, 32);
}

/**
 * Whether two property sets describe the same plaintext, context, format and place, the removal policy aside;
 * with `keyChanged`, whether they differ in the key only (a re-key).
 */
function sameObject(old: EnvelopeProperties, next: EnvelopeProperties, keyChanged: boolean): boolean {
  if ((old.KeyArn !== next.KeyArn) !== keyChanged) return false;
  const strip = (p: EnvelopeProperties) => canonical({ ...p, KeyArn: undefined, Retain: undefined });
  return strip(old) === strip(next);
}

function canonical(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(canonical).join(',')}]`;
  if (typeof v === 'object' && v !== null) {
    const entries = Object.entries(v).filter(([, value]) => value !== undefined);
    return `{${entries.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([k, value]) => `${JSON.stringify(k)}:${canonical(value)}`).join(',')}}`;
  }
  return JSON.stringify(v);
}
