// `cdk-cmek decrypt`: reads an S3 Encryption Client object (format V3 or V2), verifies it and writes the plaintext.
import { randomBytes } from 'node:crypto';
import { createReadStream, promises as fs } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { DecryptCommand, KMSClient } from '@aws-sdk/client-kms';
import { GetObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { Command } from 'commander';
import { EnvelopeFormatError, FormatVersion } from '../envelope/format';
import { decryptBody } from '../envelope/reader';

/** What to decrypt and where the plaintext goes. */
export interface DecryptObjectOptions {
  readonly s3: S3Client;
  readonly kms: KMSClient;
  readonly bucket: string;
  readonly key: string;
  readonly versionId?: string;
  /** The encryption-context pairs the object must have been written with (without the reserved pair). */
  readonly context?: Record<string, string>;
  /** Pin the KMS key the data key must be wrapped under. */
  readonly keyId?: string;
  /** Output file; written to a temp file beside it and renamed only once everything verified. */
  readonly out?: string;
  /** Where plaintext goes without `out` (after verification). */
  readonly stdout?: Writable;
}

/** The outcome of a decryption. */
export interface DecryptObjectResult {
  readonly format: FormatVersion;
  readonly plaintextLength: number;
}

/** A decryption failure: one readable line for the terminal. */
export class DecryptError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'DecryptError';
  }
}

/**
 * Decrypts one object. No plaintext is released unless the tag, the key commitment (V3) and the encryption
 * context all verified: bytes go to a private temp file first, which is renamed (or streamed out) on success
 * and removed on failure.
 */
export async function decryptObject(opts: DecryptObjectOptions): Promise<DecryptObjectResult> {
  const target = opts.out ? path.resolve(opts.out) : undefined;
  const dir = target ? path.dirname(target) : os.tmpdir();
  const tmp = path.join(dir, `.${target ? path.basename(target) : 'cdk-cmek'}.${randomBytes(6).toString('hex')}.tmp`);
  let result: DecryptObjectResult;
  // The temp file is opened (and so exists) before any byte is written: on failure it is closed, then removed,
  // with no stream still opening it behind our back.
  let handle: fs.FileHandle | undefined;
  try {
    const obj = await opts.s3.send(new GetObjectCommand({ Bucket: opts.bucket, Key: opts.key, VersionId: opts.versionId }));
    const unwrap = async (wrappedKey: Buffer, context: Record<string, string>) => {
      const out = await opts.kms.send(new DecryptCommand({ CiphertextBlob: wrappedKey, EncryptionContext: context, KeyId: opts.keyId }));
      const key = Buffer.from(out.Plaintext!);
      out.Plaintext?.fill(0);
      return key;
    };
    const instructionFile = async (suffix: string) => {
      try {
        const file = await opts.s3.send(new GetObjectCommand({ Bucket: opts.bucket, Key: `${opts.key}${suffix}` }));
        return await file.Body!.transformToString('utf8');
      } catch (e) {
        if ((e as { name?: string }).name === 'NoSuchKey') return undefined;
        throw e;
      }
    };
    handle = await fs.open(tmp, 'wx', 0o600);
    result = await decryptBody(obj.Metadata ?? {}, obj.Body as Readable, opts.context ?? {}, unwrap, handle.createWriteStream(), instructionFile);
  } catch (e) {
    await handle?.close().catch(() => undefined);
    await fs.rm(tmp, { force: true });
    throw new DecryptError(describe(e, opts));
  }
  if (target) {
    await fs.rename(tmp, target);
  } else {
    try {
      await pipeline(createReadStream(tmp), opts.stdout ?? process.stdout, { end: false });
    } finally {
      await fs.rm(tmp, { force: true });
    }
  }
  return result;
}

function describe(e: unknown, opts: DecryptObjectOptions): string {
  const name = (e as { name?: string })?.name ?? '';
  const message = String((e as Error)?.message ?? e).split('\n')[0];
  const where = `s3://${opts.bucket}/${opts.key}`;
  if (e instanceof EnvelopeFormatError) return `${where}: ${message}`;
  if (name === 'InvalidCiphertextException' || name === 'IncorrectKeyException') {
    return `${where}: KMS refused to unwrap the data key (${name}): the wrapped key or its encryption context was altered, or it is not under this key`;
  }
  if (name === 'KMSInvalidStateException' || name === 'DisabledException') return `${where}: the KMS key cannot be used: ${message}`;
  if (name === 'AccessDeniedException' || name === 'AccessDenied') return `${where}: access denied: ${message}`;
  if (name === 'NoSuchKey' || name === 'NoSuchBucket' || name === 'NoSuchVersion') return `${where} does not exist (${name})`;
  return `${where}: ${name ? `${name}: ` : ''}${message}`;
}

/** `s3://bucket/key` → bucket and key. */
export function parseS3Url(url: string): { bucket: string; key: string } {
  const m = /^s3:\/\/([^/]+)\/(.+)$/.exec(url);
  if (!m) throw new DecryptError(`the object must be given as s3://bucket/key, got: ${JSON.stringify(url)}`);
  return { bucket: m[1], key: m[2] };
}

/** `k=v` pairs (repeatable `--context`) → a map. */
export function parseContext(pairs: string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const p of pairs) {
    const i = p.indexOf('=');
    if (i <= 0) throw new DecryptError(`--context must be key=value, got: ${JSON.stringify(p)}`);
    out[p.slice(0, i)] = p.slice(i + 1);
  }
  return out;
}

interface DecryptCommandOptions {
  out?: string;
  context: string[];
  versionId?: string;
  keyId?: string;
  region?: string;
  endpointUrl?: string;
}

function collect(value: string, previous: string[]): string[] {
  return [...previous, value];
}

/** Registers `cdk-cmek decrypt` on the program. */
export function registerDecryptCommand(program: Command): void {
  program
    .command('decrypt')
    .description('decrypt an object written by EnvelopeEncryptedObject or any S3 Encryption Client (format V3 or V2)')
    .argument('<object>', 's3://bucket/key')
    .option('--out <file>', 'write the plaintext to this file (default: stdout)')
    .option('--context <key=value>', 'an encryption-context pair the object must carry (repeatable)', collect, [] as string[])
    .option('--version-id <id>', 'a specific object version')
    .option('--key-id <arn>', 'require the data key to be wrapped under this KMS key')
    .option('--region <region>', 'AWS region')
    .option('--endpoint-url <url>', 'S3 and KMS endpoint (a local emulator)')
    .action(async (object: string, o: DecryptCommandOptions) => {
      try {
        const { bucket, key } = parseS3Url(object);
        const config = { region: o.region, endpoint: o.endpointUrl };
        const result = await decryptObject({
          s3: new S3Client({ ...config, forcePathStyle: o.endpointUrl !== undefined }),
          kms: new KMSClient(config),
          bucket,
          key,
          versionId: o.versionId,
          keyId: o.keyId,
          context: parseContext(o.context),
          out: o.out,
        });
        if (o.out) process.stderr.write(`decrypted ${result.plaintextLength} bytes (format ${result.format}) to ${o.out}\n`);
      } catch (e) {
        process.stderr.write(`cdk-cmek decrypt: ${(e as Error).message}\n`);
        process.exitCode = 1;
      }
    });
}
