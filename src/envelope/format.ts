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
import { createCipheriv, createDecipheriv, createHash, hkdfSync, randomBytes, timingSafeEqual } from 'node:crypto';
import { Transform, TransformCallback } from 'node:stream';

/** The two on-object formats this library writes and reads. */
export type FormatVersion = 'V3' | 'V2';

/** ALG_AES_256_GCM_HKDF_SHA512_COMMIT_KEY (0x0073): the key-committing suite of format V3. */
export const SUITE_COMMIT_KEY = {
  id: 0x0073,
  idBytes: Buffer.from([0x00, 0x73]),
  dataKeyBytes: 32,
  messageIdBytes: 28,
  commitmentBytes: 28,
  ivBytes: 12,
  tagBytes: 16,
} as const;

/** ALG_AES_256_GCM_IV12_TAG16_NO_KDF (0x0078): the suite of format V2. */
export const SUITE_GCM_NO_KDF = {
  id: 0x0078,
  cipherName: 'AES/GCM/NoPadding',
  dataKeyBytes: 32,
  ivBytes: 12,
  tagBytes: 16,
  tagLengthBits: '128',
} as const;

/** The encryption context key the S3 Encryption Client reserves for the content cipher (kms+context). */
export const RESERVED_CONTEXT_KEY = 'aws:x-amz-cek-alg';
/** The other context key the clients reserve (legacy KMS materials); never written, rejected in user pairs. */
export const RESERVED_CMK_CONTEXT_KEY = 'kms_cmk_id';

/** The reserved context value per format: the suite id in V3, the cipher name in V2. */
export const CEK_ALG_CONTEXT_VALUE: Record<FormatVersion, string> = { V3: '115', V2: SUITE_GCM_NO_KDF.cipherName };

/** Metadata mapkeys (without the `x-amz-meta-` prefix S3 adds). */
export const V3_KEYS = {
  contentCipher: 'x-amz-c',
  encryptedDataKey: 'x-amz-3',
  matDesc: 'x-amz-m',
  encryptionContext: 'x-amz-t',
  wrappingAlgorithm: 'x-amz-w',
  keyCommitment: 'x-amz-d',
  messageId: 'x-amz-i',
} as const;
export const V2_KEYS = {
  encryptedDataKey: 'x-amz-key-v2',
  matDesc: 'x-amz-matdesc',
  iv: 'x-amz-iv',
  wrappingAlgorithm: 'x-amz-wrap-alg',
  contentCipher: 'x-amz-cek-alg',
  tagLength: 'x-amz-tag-len',
  unencryptedLength: 'x-amz-unencrypted-content-length',
} as const;
const V1_ONLY_KEYS = ['x-amz-key'];
// x-amz-iv, x-amz-matdesc and x-amz-unencrypted-content-length are shared by V1 and V2.
const V2_ONLY_KEYS = [V2_KEYS.encryptedDataKey, V2_KEYS.wrappingAlgorithm, V2_KEYS.contentCipher, V2_KEYS.tagLength];
const V3_ONLY_KEYS: string[] = Object.values(V3_KEYS);

/** V3 compresses the wrapping algorithm: `12` is kms+context. */
export const V3_WRAP_KMS_CONTEXT = '12';
export const V2_WRAP_KMS_CONTEXT = 'kms+context';

/** AES-GCM may encrypt at most 2^39 - 256 bits under one key and IV. */
export const GCM_MAX_CONTENT_BYTES = 2 ** 36 - 32;
/** S3 limits user-defined metadata to 2 KB (UTF-8 bytes of keys and values). */
export const S3_USER_METADATA_MAX_BYTES = 2048;
/** An upper bound for base64 of a KMS CiphertextBlob wrapping a 32-byte data key (184 bytes in practice). */
export const WRAPPED_KEY_BASE64_MAX_CHARS = 344;
/** Chunk size handed to the cipher: large enough to amortise calls, small enough to stay in cache. */
export const CIPHER_CHUNK_BYTES = 64 * 1024;

/** Any violation of the format: the message is one readable line and never contains secret bytes. */
export class EnvelopeFormatError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'EnvelopeFormatError';
  }
}

/** The KMS encryption context of an object: the user's pairs plus the reserved cipher pair. */
export function kmsEncryptionContext(format: FormatVersion, user: Record<string, string>): Record<string, string> {
  validateUserContext(user);
  return { ...user, [RESERVED_CONTEXT_KEY]: CEK_ALG_CONTEXT_VALUE[format] };
}

/** Rejects reserved keys in user pairs (`aws:` is reserved by KMS, the others by the S3 Encryption Client). */
export function validateUserContext(user: Record<string, string>): void {
  for (const [k, v] of Object.entries(user)) {
    if (k.toLowerCase().startsWith('aws:') || k === RESERVED_CMK_CONTEXT_KEY) {
      throw new EnvelopeFormatError(`encryption context key ${JSON.stringify(k)} is reserved`);
    }
    if (typeof v !== 'string') {
      throw new EnvelopeFormatError(`encryption context value of ${JSON.stringify(k)} must be a string`);
    }
  }
}

/** UTF-8 size of user-defined metadata as S3 counts it. */
export function metadataBytes(metadata: Record<string, string>): number {
  return Object.entries(metadata).reduce((n, [k, v]) => n + Buffer.byteLength(k) + Buffer.byteLength(v), 0);
}

/** HKDF-SHA512 per key-derivation.md "HKDF Operation": the commitment first, so a reader checks it before deriving the key. */
export function deriveCommitment(dataKey: Buffer, messageId: Buffer): Buffer {
  const info = Buffer.concat([SUITE_COMMIT_KEY.idBytes, Buffer.from('COMMITKEY', 'utf8')]);
  return Buffer.from(hkdfSync('sha512', dataKey, messageId, info, SUITE_COMMIT_KEY.commitmentBytes));
}

/** The derived encryption key of the committing suite. The caller zeroes it after use. */
export function deriveEncryptionKey(dataKey: Buffer, messageId: Buffer): Buffer {
  const info = Buffer.concat([SUITE_COMMIT_KEY.idBytes, Buffer.from('DERIVEKEY', 'utf8')]);
  return Buffer.from(hkdfSync('sha512', dataKey, messageId, info, 32));
}

/** The content IV of the committing suite: twelve 0x01 bytes (the message id carries the randomness). */
export const COMMIT_KEY_CONTENT_IV = Buffer.alloc(SUITE_COMMIT_KEY.ivBytes, 0x01);

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

/** Base class: feeds the cipher in CIPHER_CHUNK_BYTES pieces and hashes what it emits. */
class GcmTransform extends Transform {
  private buffered: Buffer[] = [];
  private bufferedBytes = 0;
  protected readonly hash = createHash('sha256');
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
      done();
    } catch (e) {
      done(e as Error);
    }
  }

  override _flush(done: TransformCallback): void {
    try {
      this.drainBuffer();
      for (const b of this.finish()) this.emit1(b);
      done();
    } catch (e) {
      done(e as Error);
    }
  }

  private drainBuffer(): void {
    if (this.bufferedBytes === 0) return;
    const input = this.buffered.length === 1 ? this.buffered[0] : Buffer.concat(this.buffered, this.bufferedBytes);
    this.buffered = [];
    this.bufferedBytes = 0;
    this.emit1(this.update(input));
  }

  protected emit1(b: Buffer): void {
    if (b.length === 0) return;
    this.hash.update(b);
    this.push(b);
  }

  digest(): string {
    return this.hash.copy().digest('hex');
  }
}

/**
 * Starts encrypting one object under `dataKey` (32 bytes). The key is copied into the cipher and the
 * derived key zeroed here; the caller zeroes `dataKey` itself.
 */
export function createEncryption(format: FormatVersion, dataKey: Buffer): EnvelopeEncryption {
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
  const stream = new GcmTransform(
    (b) => cipher.update(b),
    () => [cipher.final(), cipher.getAuthTag()],
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

/** Inputs of `encodeMetadata`. */
export interface MetadataInput {
  readonly format: FormatVersion;
  readonly wrappedKey: Uint8Array;
  /** The full KMS encryption context (user pairs plus the reserved pair). */
  readonly context: Record<string, string>;
  /** V3: the message id; V2: the IV. */
  readonly nonce: Buffer;
  /** V3 only. */
  readonly commitment?: Buffer;
  /** V2 only, optional. */
  readonly plaintextLength?: number;
}

/** The metadata map of content-metadata.md "Content Metadata MapKeys" for one object. */
export function encodeMetadata(input: MetadataInput): Record<string, string> {
  const b64 = (b: Uint8Array) => Buffer.from(b).toString('base64');
  const ctx = JSON.stringify(input.context);
  if (input.format === 'V3') {
    if (!input.commitment) throw new EnvelopeFormatError('format V3 needs a key commitment');
    return {
      [V3_KEYS.contentCipher]: String(SUITE_COMMIT_KEY.id),
      [V3_KEYS.encryptedDataKey]: b64(input.wrappedKey),
      [V3_KEYS.wrappingAlgorithm]: V3_WRAP_KMS_CONTEXT,
      [V3_KEYS.encryptionContext]: ctx,
      [V3_KEYS.keyCommitment]: b64(input.commitment),
      [V3_KEYS.messageId]: b64(input.nonce),
    };
  }
  const m: Record<string, string> = {
    [V2_KEYS.encryptedDataKey]: b64(input.wrappedKey),
    [V2_KEYS.iv]: b64(input.nonce),
    [V2_KEYS.contentCipher]: SUITE_GCM_NO_KDF.cipherName,
    [V2_KEYS.wrappingAlgorithm]: V2_WRAP_KMS_CONTEXT,
    [V2_KEYS.matDesc]: ctx,
    [V2_KEYS.tagLength]: SUITE_GCM_NO_KDF.tagLengthBits,
  };
  if (input.plaintextLength !== undefined) m[V2_KEYS.unencryptedLength] = String(input.plaintextLength);
  return m;
}

/** A parsed, validated envelope: everything a reader needs besides the data key. */
export interface ParsedEnvelope {
  readonly format: FormatVersion;
  readonly wrappedKey: Buffer;
  /** The stored KMS encryption context, reserved pair included. */
  readonly context: Record<string, string>;
  /** V3: message id (28 bytes); V2: IV (12 bytes). */
  readonly nonce: Buffer;
  /** V3 only. */
  readonly commitment?: Buffer;
  /** V2 only, when stored. */
  readonly plaintextLength?: number;
}

const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

function decodeBase64(key: string, value: string, length?: number): Buffer {
  if (!BASE64.test(value)) throw new EnvelopeFormatError(`metadata ${key} is not valid base64`);
  const b = Buffer.from(value, 'base64');
  if (length !== undefined && b.length !== length) {
    throw new EnvelopeFormatError(`metadata ${key} must decode to ${length} bytes, got: ${b.length}`);
  }
  if (b.length === 0) throw new EnvelopeFormatError(`metadata ${key} is empty`);
  return b;
}

/** content-metadata.md: JSON values "MAY be encoded by the esoteric double-encoding scheme" (RFC 2047, as S3 returns non-ASCII). */
function decodeMetadataString(value: string): string {
  const m = /^=\?UTF-8\?B\?([A-Za-z0-9+/=]*)\?=$/i.exec(value);
  return m ? Buffer.from(m[1], 'base64').toString('utf8') : value;
}

function parseContext(key: string, value: string): Record<string, string> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(decodeMetadataString(value));
  } catch {
    throw new EnvelopeFormatError(`metadata ${key} is not a JSON object`);
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) {
    throw new EnvelopeFormatError(`metadata ${key} is not a JSON object`);
  }
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(parsed as Record<string, unknown>)) {
    if (typeof v !== 'string') throw new EnvelopeFormatError(`metadata ${key} has a non-string value for ${JSON.stringify(k)}`);
    out[k] = v;
  }
  return out;
}

function expect(meta: Record<string, string>, key: string, value: string): void {
  if (meta[key] !== value) {
    throw new EnvelopeFormatError(`metadata ${key} must be ${JSON.stringify(value)}, got: ${JSON.stringify(meta[key] ?? null)}`);
  }
}

/**
 * Reads the content metadata of an object (keys without `x-amz-meta-`, any case), per content-metadata.md
 * "Determining S3EC Object Status": exactly one format's exclusive keys, each value valid for kms+context and
 * the GCM suites. Anything else (V1, CBC, raw keyrings, instruction files, mixed keys) is rejected.
 */
export function parseMetadata(raw: Record<string, string>): ParsedEnvelope {
  const meta: Record<string, string> = {};
  for (const [k, v] of Object.entries(raw)) meta[k.toLowerCase()] = v;
  const has = (keys: readonly string[]) => keys.some((k) => k in meta);
  const v1 = has(V1_ONLY_KEYS);
  const v2 = has(V2_ONLY_KEYS);
  const v3 = has(V3_ONLY_KEYS);
  if ([v1, v2, v3].filter(Boolean).length > 1) {
    throw new EnvelopeFormatError('metadata mixes keys of several S3 Encryption Client formats');
  }
  if (v1) throw new EnvelopeFormatError('format V1 (x-amz-key) is a legacy unauthenticated format and is not supported');
  if (v3) {
    for (const k of [V3_KEYS.contentCipher, V3_KEYS.encryptedDataKey, V3_KEYS.wrappingAlgorithm, V3_KEYS.keyCommitment, V3_KEYS.messageId]) {
      if (!(k in meta)) throw new EnvelopeFormatError(`metadata ${k} is missing (format V3)`);
    }
    expect(meta, V3_KEYS.contentCipher, String(SUITE_COMMIT_KEY.id));
    expect(meta, V3_KEYS.wrappingAlgorithm, V3_WRAP_KMS_CONTEXT);
    if (V3_KEYS.matDesc in meta) throw new EnvelopeFormatError(`metadata ${V3_KEYS.matDesc} belongs to raw keyrings, not kms+context`);
    const context = V3_KEYS.encryptionContext in meta ? parseContext(V3_KEYS.encryptionContext, meta[V3_KEYS.encryptionContext]) : {};
    return {
      format: 'V3',
      wrappedKey: decodeBase64(V3_KEYS.encryptedDataKey, meta[V3_KEYS.encryptedDataKey]),
      context,
      nonce: decodeBase64(V3_KEYS.messageId, meta[V3_KEYS.messageId], SUITE_COMMIT_KEY.messageIdBytes),
      commitment: decodeBase64(V3_KEYS.keyCommitment, meta[V3_KEYS.keyCommitment], SUITE_COMMIT_KEY.commitmentBytes),
    };
  }
  if (v2) {
    for (const k of [V2_KEYS.encryptedDataKey, V2_KEYS.matDesc, V2_KEYS.iv, V2_KEYS.wrappingAlgorithm, V2_KEYS.contentCipher, V2_KEYS.tagLength]) {
      if (!(k in meta)) throw new EnvelopeFormatError(`metadata ${k} is missing (format V2)`);
    }
    expect(meta, V2_KEYS.contentCipher, SUITE_GCM_NO_KDF.cipherName);
    expect(meta, V2_KEYS.wrappingAlgorithm, V2_WRAP_KMS_CONTEXT);
    expect(meta, V2_KEYS.tagLength, SUITE_GCM_NO_KDF.tagLengthBits);
    let plaintextLength: number | undefined;
    if (V2_KEYS.unencryptedLength in meta) {
      const s = meta[V2_KEYS.unencryptedLength];
      if (!/^\d{1,15}$/.test(s)) throw new EnvelopeFormatError(`metadata ${V2_KEYS.unencryptedLength} is not a byte count`);
      plaintextLength = Number(s);
    }
    return {
      format: 'V2',
      wrappedKey: decodeBase64(V2_KEYS.encryptedDataKey, meta[V2_KEYS.encryptedDataKey]),
      context: parseContext(V2_KEYS.matDesc, meta[V2_KEYS.matDesc]),
      nonce: decodeBase64(V2_KEYS.iv, meta[V2_KEYS.iv], SUITE_GCM_NO_KDF.ivBytes),
      plaintextLength,
    };
  }
  throw new EnvelopeFormatError('object has no S3 Encryption Client metadata (instruction files are not supported)');
}

/**
 * s3-kms-keyring.md "Kms+Context": the stored context minus the reserved keys must equal the caller's pairs,
 * and the reserved cipher pair must name this object's suite (a swapped pair would be a downgrade).
 */
export function checkContext(envelope: ParsedEnvelope, expectedUser: Record<string, string>): void {
  const stored = { ...envelope.context };
  const cek = stored[RESERVED_CONTEXT_KEY];
  if (cek !== CEK_ALG_CONTEXT_VALUE[envelope.format]) {
    throw new EnvelopeFormatError(
      `stored encryption context must have ${RESERVED_CONTEXT_KEY}=${JSON.stringify(CEK_ALG_CONTEXT_VALUE[envelope.format])} for format ${envelope.format}, got: ${JSON.stringify(cek ?? null)}`,
    );
  }
  delete stored[RESERVED_CONTEXT_KEY];
  delete stored[RESERVED_CMK_CONTEXT_KEY];
  const a = Object.keys(stored).sort();
  const b = Object.keys(expectedUser).sort();
  const same = a.length === b.length && a.every((k, i) => k === b[i] && stored[k] === expectedUser[k]);
  if (!same) {
    throw new EnvelopeFormatError(
      `encryption context does not match the object's: expected keys [${b.join(', ')}], the object has [${a.join(', ')}] (or different values)`,
    );
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
  const t = new GcmTransform(
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
