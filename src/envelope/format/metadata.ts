// The content metadata of S3 Encryption Client objects: the V3 and V2 mapkeys, written and parsed (object metadata or instruction file).
import {
  CEK_ALG_CONTEXT_VALUE,
  EnvelopeFormatError,
  FormatVersion,
  RESERVED_CMK_CONTEXT_KEY,
  RESERVED_CONTEXT_KEY,
  SUITE_COMMIT_KEY,
  SUITE_GCM_NO_KDF,
} from './suites';

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
 * the GCM suites. Anything else (V1, CBC, raw keyrings, mixed keys) is rejected; an object whose metadata is in an
 * instruction file is read through `withInstructionFile` first.
 */
export function parseMetadata(raw: Record<string, string>): ParsedEnvelope {
  const meta = lowerKeys(raw);
  const has = (keys: readonly string[]) => keys.some((k) => k in meta);
  const v1 = has(V1_ONLY_KEYS);
  const v2 = has(V2_ONLY_KEYS);
  const v3 = has(V3_ONLY_KEYS);
  if ([v1, v2, v3].filter(Boolean).length > 1) {
    throw new EnvelopeFormatError('metadata mixes keys of several S3 Encryption Client formats');
  }
  if (v1) throw new EnvelopeFormatError('format V1 (x-amz-key) is a legacy unauthenticated format and is not supported');
  if (v3) {
    if (isV3WithInstructionFile(meta)) {
      throw new EnvelopeFormatError(
        `metadata ${V3_KEYS.encryptedDataKey} is missing: the object keeps its content metadata in an instruction file (the object key + "${INSTRUCTION_FILE_SUFFIX}"), which was not read`,
      );
    }
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
  throw new EnvelopeFormatError(`object has no S3 Encryption Client metadata, in its own metadata or in an instruction file (the object key + "${INSTRUCTION_FILE_SUFFIX}")`);
}

/** metadata-strategy.md "Instruction File": the default suffix of the object that holds the content metadata. */
export const INSTRUCTION_FILE_SUFFIX = '.instruction';
/** metadata-strategy.md "V3 Instruction Files": these V3 mapkeys stay in the object's own metadata. */
const V3_OBJECT_ONLY_KEYS: string[] = [V3_KEYS.contentCipher, V3_KEYS.keyCommitment, V3_KEYS.messageId];

function lowerKeys(raw: Record<string, string>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(raw)) out[k.toLowerCase()] = v;
  return out;
}

/** "x-amz-c", "x-amz-d" and "x-amz-i" in the object metadata, "x-amz-3" not: the rest is in the instruction file. */
function isV3WithInstructionFile(meta: Record<string, string>): boolean {
  return V3_OBJECT_ONLY_KEYS.every((k) => k in meta) && !(V3_KEYS.encryptedDataKey in meta);
}

/**
 * Whether the content metadata of an object lives in an instruction file, per metadata-strategy.md: V3 keeps
 * x-amz-c/d/i on the object and the rest in the file; V1/V2 keep everything in the file (the object has none).
 */
export function usesInstructionFile(raw: Record<string, string>): boolean {
  const meta = lowerKeys(raw);
  const any = [...V1_ONLY_KEYS, ...V2_ONLY_KEYS, ...V3_ONLY_KEYS, V2_KEYS.iv, V2_KEYS.matDesc].some((k) => k in meta);
  return isV3WithInstructionFile(meta) || !any;
}

/**
 * The content metadata of an object whose instruction file holds (part of) it: the file is a JSON object of
 * strings. A V3 file must not carry x-amz-c/d/i (they bind the body to its key on the object itself), and a
 * V1/V2 object must carry nothing of its own.
 */
export function withInstructionFile(raw: Record<string, string>, instructionFile: string): Record<string, string> {
  const meta = lowerKeys(raw);
  let parsed: unknown;
  try {
    parsed = JSON.parse(instructionFile);
  } catch {
    throw new EnvelopeFormatError('the instruction file is not a JSON object');
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) throw new EnvelopeFormatError('the instruction file is not a JSON object');
  const file: Record<string, string> = {};
  for (const [k, v] of Object.entries(parsed as Record<string, unknown>)) {
    if (typeof v !== 'string') throw new EnvelopeFormatError(`the instruction file has a non-string value for ${JSON.stringify(k)}`);
    file[k.toLowerCase()] = v;
  }
  if (isV3WithInstructionFile(meta)) {
    const misplaced = V3_OBJECT_ONLY_KEYS.filter((k) => k in file);
    if (misplaced.length) throw new EnvelopeFormatError(`the instruction file of a V3 object must not hold ${misplaced.join(', ')}`);
    const objectPart = Object.fromEntries(V3_OBJECT_ONLY_KEYS.map((k) => [k, meta[k]]));
    return { ...file, ...objectPart };
  }
  return file;
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
