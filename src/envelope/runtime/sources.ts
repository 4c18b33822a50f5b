// Reading the plaintext of each source type: an asset object, a secret, an SSM parameter, inline text, random bytes.
import { Readable } from 'node:stream';
import { sdk, secrets, s3, ssm } from './clients';
import { SourceError } from './errors';
import { nodeCrypto } from './lazy';
import { SourceSpec } from '../contract';

/** A plaintext source opened for reading; `wipe` zeroes what was held in memory. */
export interface OpenSource {
  readonly stream: Readable;
  readonly length?: number;
  wipe(): void;
}

function fromBuffer(b: Buffer): OpenSource {
  return { stream: Readable.from([b]), length: b.length, wipe: () => b.fill(0) };
}

/** Opens the source for reading: small ones are read whole (and wiped after use), an asset is streamed. */
export async function openSource(spec: SourceSpec): Promise<OpenSource> {
  switch (spec.type) {
    case 'inline':
      return fromBuffer(Buffer.from(spec.text, 'utf8'));
    case 'random':
      return fromBuffer(nodeCrypto().randomBytes(Number(spec.length)));
    case 'secret': {
      const { GetSecretValueCommand } = await sdk();
      const out = await (await secrets()).send(new GetSecretValueCommand({ SecretId: spec.id }));
      if (out.SecretBinary) return fromBuffer(Buffer.from(out.SecretBinary));
      if (out.SecretString === undefined) throw new SourceError(`secret ${spec.id} has no value`);
      if (!spec.field) return fromBuffer(Buffer.from(out.SecretString, 'utf8'));
      return fromBuffer(Buffer.from(secretField(spec.id, out.SecretString, spec.field), 'utf8'));
    }
    case 'ssm': {
      const { GetParameterCommand } = await sdk();
      const out = await (await ssm()).send(new GetParameterCommand({ Name: spec.id, WithDecryption: true }));
      return fromBuffer(Buffer.from(out.Parameter?.Value ?? '', 'utf8'));
    }
    case 'asset': {
      const { GetObjectCommand } = await sdk();
      const out = await (await s3()).send(new GetObjectCommand({ Bucket: spec.bucket, Key: spec.key }));
      if (!(out.Body instanceof Readable)) throw new SourceError(`asset s3://${spec.bucket}/${spec.key} has no readable body`);
      return { stream: out.Body, length: out.ContentLength, wipe: () => undefined };
    }
  }
}

/** One string field of a JSON `SecretString`. */
function secretField(id: string, secretString: string, field: string): string {
  let parsed: unknown;
  try {
    parsed = JSON.parse(secretString);
  } catch {
    throw new SourceError(`secret ${id} is not JSON, so it has no field ${field}`);
  }
  const value = typeof parsed === 'object' && parsed !== null && field in parsed ? Object.getOwnPropertyDescriptor(parsed, field)?.value : undefined;
  if (typeof value !== 'string') throw new SourceError(`secret ${id} has no string field ${field}`);
  return value;
}
