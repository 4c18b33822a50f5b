// Reading an envelope-encrypted body: metadata check, context check, key unwrap, streaming decryption into a sink.
import { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import {
  checkContext,
  createDecryption,
  EnvelopeFormatError,
  FormatVersion,
  INSTRUCTION_FILE_SUFFIX,
  parseMetadata,
  usesInstructionFile,
  withInstructionFile,
} from '../format';

/** Unwraps a data key (KMS Decrypt with the stored encryption context). */
export type UnwrapDataKey = (wrappedKey: Buffer, context: Record<string, string>) => Promise<Uint8Array>;

/** Reads the object's instruction file (the object key + `suffix`): its text, or undefined when there is none. */
export type LoadInstructionFile = (suffix: string) => Promise<string | undefined>;

/** What a successful decryption reports. */
export interface DecryptResult {
  readonly format: FormatVersion;
  readonly plaintextLength: number;
}

/**
 * Decrypts `body` into `sink`. Everything that can be checked before unwrapping (format, context) is checked
 * first; the sink receives bytes before the tag is verified at the end, so only a sink that can be discarded
 * on error (a temp file) may be handed here. The data key is zeroed on every path. With `loadInstructionFile`, an
 * object whose content metadata is in an instruction file (metadata-strategy.md) is read too.
 */
export async function decryptBody(
  metadata: Record<string, string>,
  body: Readable,
  expectedContext: Record<string, string>,
  unwrap: UnwrapDataKey,
  sink: Writable,
  loadInstructionFile?: LoadInstructionFile,
): Promise<DecryptResult> {
  let content = metadata;
  if (loadInstructionFile && usesInstructionFile(metadata)) {
    const file = await loadInstructionFile(INSTRUCTION_FILE_SUFFIX);
    // Without a file, parseMetadata says what is missing.
    if (file !== undefined) content = withInstructionFile(metadata, file);
  }
  const envelope = parseMetadata(content);
  checkContext(envelope, expectedContext);
  const dataKey = Buffer.from(await unwrap(envelope.wrappedKey, envelope.context));
  let decryption;
  try {
    if (dataKey.length !== 32) throw new EnvelopeFormatError(`unwrapped data key must be 32 bytes, got: ${dataKey.length}`);
    decryption = createDecryption(envelope, dataKey);
  } finally {
    dataKey.fill(0);
  }
  await pipeline(body, decryption, sink);
  return { format: envelope.format, plaintextLength: decryption.plaintextLength() };
}
