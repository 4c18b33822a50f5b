// The two S3 Encryption Client suites this library uses: their parameters, reserved context pairs, limits and key derivation.
import { hkdfSync } from 'node:crypto';

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
