// The handler's failures, each worded as the one line CloudFormation shows as the reason.
import { MAX_ATTEMPTS } from './clients';
import { EnvelopePropertiesError, RequestNames } from '../contract';

/** A source that cannot be read as asked (no value, no such JSON field). */
export class SourceError extends Error {}
/** A source larger than AES-GCM may encrypt under one key. */
export class TooLargeError extends Error {}

/** The error name the SDK or a service gave, or ''. */
export function errorName(e: unknown): string {
  if (typeof e !== 'object' || e === null) return '';
  const { name, Code, code } = e as { name?: unknown; Code?: unknown; code?: unknown };
  const first = [name, Code, code].find((v) => v !== undefined && v !== null);
  return first === undefined ? '' : String(first);
}

function httpStatus(e: unknown): number | undefined {
  if (typeof e !== 'object' || e === null || !('$metadata' in e)) return undefined;
  const meta = e.$metadata;
  return typeof meta === 'object' && meta !== null && 'httpStatusCode' in meta && typeof meta.httpStatusCode === 'number' ? meta.httpStatusCode : undefined;
}

/** Whether S3 answered that the object (or version) is not there. */
export function isNotFound(e: unknown): boolean {
  return ['NotFound', 'NoSuchKey', 'NoSuchVersion'].includes(errorName(e)) || httpStatus(e) === 404;
}

function firstLine(e: unknown): string {
  const message = e instanceof Error ? e.message : typeof e === 'object' && e !== null && 'message' in e ? e.message : e;
  return String(message ?? e).split('\n')[0];
}

/** One readable sentence for CloudFormation, naming what failed and what to do. Never includes secret material. */
export function describeFailure(e: unknown, props: RequestNames): string {
  const name = errorName(e);
  const message = firstLine(e);
  const key = props.keyArn;
  const where = `s3://${props.bucket}/${props.objectKey}`;
  if (e instanceof EnvelopePropertiesError) return e.message;
  if (e instanceof TooLargeError) return `object too large: ${e.message}`;
  if (e instanceof SourceError) return `source missing: ${e.message}`;
  if (name === 'EnvelopeFormatError') return `${where} is not a readable envelope: ${message}`;
  if (name === 'KMSInvalidStateException' && /pending deletion/i.test(message)) {
    return `KMS key ${key} is pending deletion: cancel the deletion (kms:CancelKeyDeletion) or use another key`;
  }
  if (name === 'KMSInvalidStateException' && /pending import/i.test(message)) {
    return `KMS key ${key} is pending import of its key material`;
  }
  if (name === 'DisabledException') return `KMS key ${key} is disabled: enable it (kms:EnableKey) or use another key`;
  if (name === 'KMSInvalidStateException') return `KMS key ${key} is not usable in its current state: ${message}`;
  if (name === 'NotFoundException') return `KMS key ${key} does not exist`;
  if (name === 'InvalidCiphertextException' || name === 'IncorrectKeyException') {
    return `the wrapped data key of ${where} does not decrypt under ${key} with its encryption context`;
  }
  if (name === 'AccessDeniedException' || name === 'AccessDenied') {
    return `access denied: ${message.replace(/\s+/g, ' ').slice(0, 300)}`;
  }
  if (/Throttl|TooManyRequests|SlowDown|RequestLimitExceeded/.test(name)) {
    return `throttled after ${MAX_ATTEMPTS} attempts (${name}): deploy again later or raise the quota`;
  }
  if (name === 'ResourceNotFoundException' && props.source.type === 'secret') return `source missing: secret ${props.source.id} does not exist`;
  if (name === 'ParameterNotFound') return `source missing: SSM parameter ${props.source.id} does not exist`;
  if ((name === 'NoSuchKey' || name === 'NotFound') && props.source.type === 'asset') {
    return `source missing: asset s3://${props.source.bucket}/${props.source.key} does not exist`;
  }
  if (name === 'NoSuchBucket') return `bucket ${props.bucket} does not exist`;
  if (name === 'EntityTooLarge') return `object too large for S3: ${message}`;
  return `${name || 'Error'}: ${message}`.slice(0, 500);
}
