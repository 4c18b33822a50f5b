// The on-object contract of envelope-encrypted objects: the Amazon S3 Encryption Client formats V3 and V2.
//
// Implements, from the public specification `awslabs/aws-encryption-sdk-specification`, folder `s3-encryption/`:
// - `data-format/content-metadata.md`, "Content Metadata MapKeys", "Determining S3EC Object Status",
//   "Content Metadata Values" and "Algorithm Suite and Message Format Version Compatibility";
// - `encryption.md`, "Content Encryption" / "Cipher Initialization" (ALG_AES_256_GCM_IV12_TAG16_NO_KDF and
//   ALG_AES_256_GCM_HKDF_SHA512_COMMIT_KEY);
// - `decryption.md`, "Key Commitment" / "Decrypting With Commitment";
// - `key-derivation.md`, "HKDF Operation" (salt = message id, info = suite id ‖ DERIVEKEY / COMMITKEY,
//   content IV of twelve 0x01 bytes, AAD = suite id);
// - `materials/s3-kms-keyring.md`, "Kms+Context" (stored context minus the reserved keys must equal the
//   caller's), with the reserved `aws:x-amz-cek-alg` context value per suite as the official clients write it.
// Suite parameters (28-byte message id and commitment) are those of the official clients' algorithm suites.
import { createCipheriv, createDecipheriv, randomBytes, timingSafeEqual } from 'node:crypto';
import { availableParallelism } from 'node:os';
import { Transform, TransformCallback } from 'node:stream';
import { ChunkHasher, inlineHasher, workerHasher } from './ciphertext-hash';
import { encodeMetadata, ParsedEnvelope } from './metadata';
import {
  CIPHER_CHUNK_BYTES,
  COMMIT_KEY_CONTENT_IV,
  deriveCommitment,
  deriveEncryptionKey,
  EnvelopeFormatError,
  FormatVersion,
  SUITE_COMMIT_KEY,
  SUITE_GCM_NO_KDF,
} from './suites';

// One module for every user of the format: suites and metadata live in their own files beside it, re-exported here.
export * from './suites';
export * from './metadata';

/** What an encryptor needs to know to write the metadata once the body is done. */
export interface EnvelopeEncryption {
  readonly format: FormatVersion;
  /** The transform: plaintext in, stored body (ciphertext ‖ tag) out. */
  readonly stream: Transform;
  /** Metadata to store with the object (call after the stream ended, or before: it does not depend on the body). */
  metadata(wrappedKey: Uint8Array, context: Record<string, string>, plaintextLength?: number): Record<string, string>;
  /** SHA-256 of the stored body, hex, once the stream ended. */
  ciphertextSha256(): string;
  /** Bytes of plaintext consumed so far. */
  plaintextLength(): number;
}

/** Options of `createEncryption`. */
export interface EncryptionOptions {
  /**
   * The plaintext size, when known: a body under PARALLEL_HASH_MIN_BYTES is hashed on the calling thread, which
   * costs less than a round trip to the hashing worker.
   * @default - unknown: hashed on the worker
   */
  readonly expectedBytes?: number;
  /**
   * Whether a second core is there to hash on: without one, the worker only adds its overhead.
   * @default - true when Node reports at least 2 cores
   */
  readonly secondCore?: boolean;
}

/** From this plaintext size up, the SHA-256 of the body runs on a worker thread beside the cipher. */
export const PARALLEL_HASH_MIN_BYTES = 1024 * 1024;
/** Ciphertext with the hashing worker at most: bounds memory while the worker catches up. */
const MAX_HASH_IN_FLIGHT_BYTES = 1024 * 1024;

/** Feeds a cipher in CIPHER_CHUNK_BYTES pieces: large enough to amortise calls, small enough to stay in cache. */
abstract class ChunkedCipher extends Transform {
  private buffered: Buffer[] = [];
  private bufferedBytes = 0;
  public bytesIn = 0;

  constructor(private readonly update: (b: Buffer) => Buffer, private readonly finish: () => Buffer[]) {
    super({ highWaterMark: CIPHER_CHUNK_BYTES });
  }

  override _transform(chunk: Buffer, _enc: BufferEncoding, done: TransformCallback): void {
    try {
      this.bytesIn += chunk.length;
      this.buffered.push(chunk);
      this.bufferedBytes += chunk.length;
      if (this.bufferedBytes >= CIPHER_CHUNK_BYTES) this.drainBuffer();
      this.afterChunk(done);
    } catch (e) {
      done(e as Error);
    }
  }

  override _flush(done: TransformCallback): void {
    try {
      this.drainBuffer();
      for (const b of this.finish()) this.output(b);
      this.afterFinish(done);
    } catch (e) {
      done(e as Error);
    }
  }

  private drainBuffer(): void {
    if (this.bufferedBytes === 0) return;
    const input = this.buffered.length === 1 ? this.buffered[0] : Buffer.concat(this.buffered, this.bufferedBytes);
    this.buffered = [];
    this.bufferedBytes = 0;
    this.output(this.update(input));
  }

  protected abstract output(b: Buffer): void;
  protected abstract afterChunk(done: TransformCallback): void;
  protected abstract afterFinish(done: TransformCallback): void;
}

/** The encrypting transform: what the cipher emits goes downstream once the hasher has seen it. */
class EncryptTransform extends ChunkedCipher {
  private readonly hasher: ChunkHasher;
  private waiting: TransformCallback | undefined;
  private sha256: string | undefined;

  constructor(update: (b: Buffer) => Buffer, finish: () => Buffer[], parallelHash: boolean) {
    super(update, finish);
    const events = {
      onBack: (b: Buffer) => {
        this.push(b);
        this.release();
      },
      onError: (e: Error) => this.destroy(e),
    };
    this.hasher = parallelHash ? workerHasher(events) : inlineHasher(events);
  }

  protected output(b: Buffer): void {
    if (b.length) this.hasher.update(b);
  }

  /** Takes the next chunk only while the hasher is not too far behind. */
  protected afterChunk(done: TransformCallback): void {
    if (this.hasher.inFlightBytes() > MAX_HASH_IN_FLIGHT_BYTES) this.waiting = done;
    else done();
  }

  private release(): void {
    if (this.waiting && this.hasher.inFlightBytes() <= MAX_HASH_IN_FLIGHT_BYTES / 2) {
      const done = this.waiting;
      this.waiting = undefined;
      done();
    }
  }

  protected afterFinish(done: TransformCallback): void {
    this.hasher.digest().then(
      (hex) => {
        this.sha256 = hex;
        done();
      },
      (e: Error) => done(e),
    );
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    this.hasher.abort();
    callback(error);
  }

  digest(): string {
    if (this.sha256 === undefined) throw new EnvelopeFormatError('the ciphertext hash is known only once the stream has ended');
    return this.sha256;
  }
}

/**
 * Starts encrypting one object under `dataKey` (32 bytes). The key is copied into the cipher and the
 * derived key zeroed here; the caller zeroes `dataKey` itself.
 */
export function createEncryption(format: FormatVersion, dataKey: Buffer, options: EncryptionOptions = {}): EnvelopeEncryption {
  if (dataKey.length !== 32) throw new EnvelopeFormatError(`data key must be 32 bytes, got: ${dataKey.length}`);
  let cipher;
  let nonce: Buffer;
  if (format === 'V3') {
    nonce = randomBytes(SUITE_COMMIT_KEY.messageIdBytes);
    const key = deriveEncryptionKey(dataKey, nonce);
    cipher = createCipheriv('aes-256-gcm', key, COMMIT_KEY_CONTENT_IV, { authTagLength: SUITE_COMMIT_KEY.tagBytes });
    key.fill(0);
    cipher.setAAD(SUITE_COMMIT_KEY.idBytes);
  } else {
    nonce = randomBytes(SUITE_GCM_NO_KDF.ivBytes);
    // encryption.md "Cipher Initialization": an all-zero IV means the generator failed.
    if (nonce.every((b) => b === 0)) throw new EnvelopeFormatError('generated IV is all zeros');
    cipher = createCipheriv('aes-256-gcm', dataKey, nonce, { authTagLength: SUITE_GCM_NO_KDF.tagBytes });
  }
  const commitment = format === 'V3' ? deriveCommitment(dataKey, nonce) : undefined;
  const secondCore = options.secondCore ?? availableParallelism() >= 2;
  const parallelHash = secondCore && (options.expectedBytes === undefined || options.expectedBytes >= PARALLEL_HASH_MIN_BYTES);
  const stream = new EncryptTransform(
    (b) => cipher.update(b),
    () => [cipher.final(), cipher.getAuthTag()],
    parallelHash,
  );
  return {
    format,
    stream,
    ciphertextSha256: () => stream.digest(),
    plaintextLength: () => stream.bytesIn,
    metadata: (wrappedKey, context, plaintextLength) =>
      encodeMetadata({ format, wrappedKey, context, nonce, commitment, plaintextLength }),
  };
}

/** The decrypting transform: plaintext goes straight downstream (nothing to hash). */
class DecryptTransform extends ChunkedCipher {
  protected output(b: Buffer): void {
    if (b.length) this.push(b);
  }
  protected afterChunk(done: TransformCallback): void {
    done();
  }
  protected afterFinish(done: TransformCallback): void {
    done();
  }
}

/**
 * Starts decrypting one stored body. V3 verifies the key commitment (constant time) before deriving the key,
 * so a wrong key fails before any byte flows. GCM releases plaintext before the tag is checked at the end:
 * the caller must treat output as untrusted until the stream finishes without error (write to a temp file,
 * rename on success).
 */
export function createDecryption(envelope: ParsedEnvelope, dataKey: Buffer): Transform & { plaintextLength(): number } {
  if (dataKey.length !== 32) throw new EnvelopeFormatError(`data key must be 32 bytes, got: ${dataKey.length}`);
  let decipher;
  if (envelope.format === 'V3') {
    const derived = deriveCommitment(dataKey, envelope.nonce);
    if (!envelope.commitment || !timingSafeEqual(derived, envelope.commitment)) {
      throw new EnvelopeFormatError('key commitment (x-amz-d) does not match the data key: the object or its metadata was altered');
    }
    const key = deriveEncryptionKey(dataKey, envelope.nonce);
    decipher = createDecipheriv('aes-256-gcm', key, COMMIT_KEY_CONTENT_IV, { authTagLength: SUITE_COMMIT_KEY.tagBytes });
    key.fill(0);
    decipher.setAAD(SUITE_COMMIT_KEY.idBytes);
  } else {
    decipher = createDecipheriv('aes-256-gcm', dataKey, envelope.nonce, { authTagLength: SUITE_GCM_NO_KDF.tagBytes });
  }
  const tagBytes = 16;
  let tail = Buffer.alloc(0);
  let out = 0;
  const expectedLength = envelope.plaintextLength;
  const t = new DecryptTransform(
    (chunk) => {
      // Hold back the last 16 bytes seen: they may be the tag.
      const all = tail.length ? Buffer.concat([tail, chunk]) : chunk;
      if (all.length <= tagBytes) {
        tail = Buffer.from(all);
        return Buffer.alloc(0);
      }
      tail = Buffer.from(all.subarray(all.length - tagBytes));
      const p = decipher.update(all.subarray(0, all.length - tagBytes));
      out += p.length;
      return p;
    },
    () => {
      if (tail.length < tagBytes) throw new EnvelopeFormatError('body is truncated: shorter than the 16-byte authentication tag');
      decipher.setAuthTag(tail);
      let last: Buffer;
      try {
        last = decipher.final();
      } catch {
        throw new EnvelopeFormatError('authentication tag does not match: the body or its metadata was altered or truncated');
      }
      out += last.length;
      if (expectedLength !== undefined && expectedLength !== out) {
        throw new EnvelopeFormatError(`plaintext is ${out} bytes, metadata x-amz-unencrypted-content-length says ${expectedLength}`);
      }
      return [last];
    },
  );
  return Object.assign(t, { plaintextLength: () => out });
}
