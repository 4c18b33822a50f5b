// In-memory helpers for envelope tests: a fake KMS that binds data keys to their context, and buffer sinks.
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createEncryption, FormatVersion, kmsEncryptionContext } from '../../src/envelope/format';

/**
 * Wraps data keys with AES-GCM under a master key, the canonical context as AAD: like KMS, a changed wrapped
 * key or context fails to unwrap.
 */
export class FakeKms {
  private readonly master = randomBytes(32);

  wrap(dataKey: Buffer, context: Record<string, string>): Buffer {
    const iv = randomBytes(12);
    const c = createCipheriv('aes-256-gcm', this.master, iv);
    c.setAAD(Buffer.from(canonical(context)));
    return Buffer.concat([iv, c.update(dataKey), c.final(), c.getAuthTag()]);
  }

  async unwrap(wrapped: Buffer, context: Record<string, string>): Promise<Uint8Array> {
    if (wrapped.length !== 12 + 32 + 16) throw new Error('InvalidCiphertextException');
    const d = createDecipheriv('aes-256-gcm', this.master, wrapped.subarray(0, 12));
    d.setAAD(Buffer.from(canonical(context)));
    d.setAuthTag(wrapped.subarray(44));
    try {
      return Buffer.concat([d.update(wrapped.subarray(12, 44)), d.final()]);
    } catch {
      throw new Error('InvalidCiphertextException');
    }
  }
}

function canonical(context: Record<string, string>): string {
  return JSON.stringify(Object.keys(context).sort().map((k) => [k, context[k]]));
}

/** A Writable that collects everything into one Buffer. */
export function bufferSink(): Writable & { bytes(): Buffer } {
  const parts: Buffer[] = [];
  const w = new Writable({
    write(chunk: Buffer, _e, cb) {
      parts.push(chunk);
      cb();
    },
  });
  return Object.assign(w, { bytes: () => Buffer.concat(parts) });
}

/** Splits a buffer into a stream of irregular chunks (as a network read would). */
export function chunked(data: Buffer, sizes = [1, 7, 4096, 70000, 13]): Readable {
  const chunks: Buffer[] = [];
  let i = 0;
  let s = 0;
  while (i < data.length) {
    const n = sizes[s++ % sizes.length];
    chunks.push(data.subarray(i, i + n));
    i += n;
  }
  return Readable.from(chunks, { objectMode: false });
}

/** Encrypts `plaintext` in memory as the handler does: metadata and stored body. */
export async function encryptInMemory(
  kms: FakeKms,
  format: FormatVersion,
  plaintext: Buffer,
  userContext: Record<string, string>,
): Promise<{ metadata: Record<string, string>; body: Buffer; sha256: string }> {
  const dataKey = randomBytes(32);
  const context = kmsEncryptionContext(format, userContext);
  const wrapped = kms.wrap(dataKey, context);
  const enc = createEncryption(format, dataKey);
  dataKey.fill(0);
  const sink = bufferSink();
  await pipeline(chunked(plaintext), enc.stream, sink);
  return { metadata: enc.metadata(wrapped, context, plaintext.length), body: sink.bytes(), sha256: enc.ciphertextSha256() };
}
