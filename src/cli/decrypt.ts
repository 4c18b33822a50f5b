// `cdk-cmek decrypt`: reads an S3 Encryption Client object (format V3 or V2), verifies it and writes the plaintext.
import { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { DecryptCommand, DescribeKeyCommand, KMSClient } from '@aws-sdk/client-kms';
import { GetObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { Command } from 'commander';
import { checkConnection } from './args';
import { CliError, EXIT, EXIT_CODES_HELP, oneLine, UsageError, quote } from './exit';
import { checkOutputPath, installSignalCleanup, MemorySink, PendingFile } from './safe-output';
import { EnvelopeFormatError, FormatVersion, RESERVED_CMK_CONTEXT_KEY } from '../envelope/format';
import { decryptBody } from '../envelope/runtime/reader';

/** Without `--out`, plaintext is held in memory until verified: objects larger than this need `--out`. */
export const STDOUT_MAX_BYTES = 64 * 1024 * 1024;
const TAG_BYTES = 16;

/** What to decrypt and where the plaintext goes. */
export interface DecryptObjectOptions {
  readonly s3: S3Client;
  readonly kms: KMSClient;
  readonly bucket: string;
  readonly key: string;
  readonly versionId?: string;
  /** The encryption-context pairs the object must have been written with (without the reserved pair). */
  readonly context?: Record<string, string>;
  /** Require the data key to be wrapped under this KMS key: key id, key ARN, alias name or alias ARN. */
  readonly keyId?: string;
  /** Output file; written to a temp file beside it and moved to its name only once everything verified. */
  readonly out?: string;
  /** Replace `out` when it exists. */
  readonly force?: boolean;
  /** Where plaintext goes without `out`, after verification. */
  readonly stdout?: Writable;
  /** Most plaintext bytes held for `stdout`. */
  readonly stdoutMaxBytes?: number;
}

/** The outcome of a decryption. */
export interface DecryptObjectResult {
  readonly format: FormatVersion;
  readonly plaintextLength: number;
  /** The ARN of the KMS key that unwrapped the data key, as KMS reported it. */
  readonly keyArn: string;
}

/** A decryption failure: one readable line for the terminal, and the exit code it ends with. */
export class DecryptError extends CliError {
  constructor(message: string, exitCode: number = EXIT.FINDINGS) {
    super(message, exitCode);
    this.name = 'DecryptError';
  }
}

/** The data key came back from a key other than the one `--key-id` named. */
class WrongKeyError extends Error {}

const KEY_ARN = /^arn:aws[a-z-]*:kms:[a-z0-9-]+:\d{12}:key\/[a-zA-Z0-9-]+$/;
const ALIAS_ARN = /^arn:aws[a-z-]*:kms:[a-z0-9-]+:\d{12}:alias\/[a-zA-Z0-9/_-]+$/;
const KEY_ID = /^(?:[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}|mrk-[0-9a-f]{32})$/i;
const ALIAS_NAME = /^alias\/[a-zA-Z0-9/_-]+$/;

/** The key `--key-id` names: what to send KMS, and how to recognise it in the Decrypt response's KeyId (an ARN). */
interface ExpectedKey {
  readonly given: string;
  readonly requestKeyId: string;
  matches(responseKeyId: string): boolean;
}

/** What kind of key reference `--key-id` is; refuses anything KMS would not take as one. */
export function keyIdKind(keyId: string): 'arn' | 'id' | 'alias' {
  if (KEY_ARN.test(keyId)) return 'arn';
  if (KEY_ID.test(keyId)) return 'id';
  if (ALIAS_NAME.test(keyId) || ALIAS_ARN.test(keyId)) return 'alias';
  throw new UsageError(`\`--key-id\` must be a key id, key ARN, alias name (alias/...) or alias ARN, got: ${quote(keyId)}`);
}

/** Resolves `--key-id`: an ARN or id is compared as given; an alias is resolved once with DescribeKey. */
export async function resolveExpectedKey(kms: KMSClient, keyId: string): Promise<ExpectedKey> {
  const kind = keyIdKind(keyId);
  if (kind === 'arn') return { given: keyId, requestKeyId: keyId, matches: (r) => r === keyId };
  if (kind === 'id') {
    // KMS key ids are lowercase: an id pasted in capitals names the same key.
    const id = keyId.toLowerCase();
    return { given: keyId, requestKeyId: id, matches: (r) => r === id || (KEY_ARN.test(r) && r.endsWith(`:key/${id}`)) };
  }
  let arn: string | undefined;
  try {
    arn = (await kms.send(new DescribeKeyCommand({ KeyId: keyId }))).KeyMetadata?.Arn;
  } catch (e) {
    if ((e as Error)?.name === 'NotFoundException') throw new UsageError(`\`--key-id\` names no KMS key: ${quote(keyId)} does not exist`);
    throw new DecryptError(`\`--key-id\` ${quote(keyId)} cannot be resolved: ${errorLine(e)}`, EXIT.ERROR);
  }
  if (!arn) throw new DecryptError(`\`--key-id\` ${quote(keyId)} cannot be resolved: DescribeKey returned no ARN`, EXIT.ERROR);
  return { given: keyId, requestKeyId: arn, matches: (r) => r === arn };
}

/**
 * Decrypts one object. No plaintext is released unless the tag, the key commitment (V3), the encryption
 * context and the unwrapping key all verified: bytes go to a private temp file beside `out` (renamed on success,
 * removed on failure or signal), or to memory for stdout (written out on success only, zeroed after).
 */
export async function decryptObject(opts: DecryptObjectOptions): Promise<DecryptObjectResult> {
  const where = `s3://${opts.bucket}/${opts.key}`;
  const target = opts.out !== undefined ? checkOutputPath(opts.out, opts.force ?? false) : undefined;
  const maxStdout = opts.stdoutMaxBytes ?? STDOUT_MAX_BYTES;
  const expected = opts.keyId !== undefined ? await resolveExpectedKey(opts.kms, opts.keyId) : undefined;
  let body: Readable | undefined;
  let pending: PendingFile | undefined;
  let memory: MemorySink | undefined;
  try {
    const obj = await opts.s3.send(new GetObjectCommand({ Bucket: opts.bucket, Key: opts.key, VersionId: opts.versionId }));
    body = obj.Body as Readable;
    if (!target && obj.ContentLength !== undefined && obj.ContentLength > maxStdout + TAG_BYTES) {
      throw new UsageError(`${where} is ${obj.ContentLength} bytes, more than decrypt holds in memory for stdout (${maxStdout}): pass --out FILE`);
    }
    let keyArn: string | undefined;
    const unwrap = async (wrappedKey: Buffer, context: Record<string, string>) => {
      const out = await opts.kms.send(new DecryptCommand({ CiphertextBlob: wrappedKey, EncryptionContext: context, KeyId: expected?.requestKeyId }));
      const key = Buffer.from(out.Plaintext!);
      out.Plaintext?.fill(0);
      if (!out.KeyId || (expected && !expected.matches(out.KeyId))) {
        key.fill(0);
        throw new WrongKeyError(
          out.KeyId
            ? `the data key is wrapped under ${out.KeyId}, not under --key-id ${expected!.given}`
            : 'KMS did not say which key unwrapped the data key',
        );
      }
      keyArn = out.KeyId;
      return key;
    };
    let sink: Writable;
    if (target) {
      pending = await PendingFile.create(target, opts.force ?? false);
      sink = pending.stream();
    } else {
      sink = memory = new MemorySink(maxStdout);
    }
    // Objects written in instruction-file mode keep their metadata in a sibling object.
    const instructionFile = async (suffix: string) => {
      try {
        const file = await opts.s3.send(new GetObjectCommand({ Bucket: opts.bucket, Key: `${opts.key}${suffix}` }));
        return await file.Body!.transformToString('utf8');
      } catch (e) {
        if ((e as { name?: string }).name === 'NoSuchKey') return undefined;
        throw e;
      }
    };
    const result = await decryptBody(obj.Metadata ?? {}, body, opts.context ?? {}, unwrap, sink, instructionFile);
    if (pending) {
      await pending.commit();
    } else {
      await pipeline(Readable.from(memory!.chunks()), opts.stdout ?? process.stdout, { end: false });
    }
    return { ...result, keyArn: keyArn! };
  } catch (e) {
    body?.destroy();
    await pending?.discard();
    throw e instanceof CliError ? e : toDecryptError(e, where, target);
  } finally {
    memory?.wipe();
  }
}

function errorLine(e: unknown): string {
  const name = (e as { name?: string })?.name ?? '';
  const message = String((e as Error)?.message ?? e).split('\n')[0];
  return `${name && name !== 'Error' ? `${name}: ` : ''}${message}`;
}

const NETWORK_SYSCALLS = new Set(['connect', 'getaddrinfo', 'read', 'socket']);

/** Refusals of the object itself exit 1; access, I/O and environment failures exit 2. */
function toDecryptError(e: unknown, where: string, target: string | undefined): DecryptError {
  const name = (e as { name?: string })?.name ?? '';
  const code = (e as NodeJS.ErrnoException)?.code;
  const message = String((e as Error)?.message ?? e).split('\n')[0];
  if (e instanceof EnvelopeFormatError) return new DecryptError(`${where}: ${message}`);
  if (e instanceof WrongKeyError) return new DecryptError(`${where}: ${message}`);
  if (name === 'InvalidCiphertextException' || name === 'IncorrectKeyException') {
    return new DecryptError(`${where}: KMS refused to unwrap the data key (${name}): the wrapped key or its encryption context was altered, or it is not under this key`);
  }
  const syscall = (e as NodeJS.ErrnoException)?.syscall ?? '';
  if (NETWORK_SYSCALLS.has(syscall)) return new DecryptError(`${where}: cannot reach AWS: ${message}`, EXIT.ERROR);
  if (code === 'ENOSPC') return new DecryptError(`cannot write ${target ?? 'the plaintext'}: no space left on device (ENOSPC); nothing was written`, EXIT.ERROR);
  if (code && syscall) return new DecryptError(`cannot write ${target === undefined ? 'the plaintext' : quote(target)}: ${message}`, EXIT.ERROR);
  if (name === 'KMSInvalidStateException' || name === 'DisabledException') return new DecryptError(`${where}: the KMS key cannot be used: ${message}`, EXIT.ERROR);
  if (name === 'AccessDeniedException' || name === 'AccessDenied') return new DecryptError(`${where}: access denied: ${message}`, EXIT.ERROR);
  if (name === 'NoSuchKey' || name === 'NoSuchBucket' || name === 'NoSuchVersion') return new DecryptError(`${where} does not exist (${name})`, EXIT.ERROR);
  if (name === 'CredentialsProviderError' || /Could not load credentials/i.test(message)) {
    return new DecryptError('no AWS credentials found: set AWS_PROFILE (then `aws sso login` if needed) or AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY', EXIT.ERROR);
  }
  if (/Region is missing/i.test(message)) return new DecryptError('no AWS region: pass --region or set AWS_REGION', EXIT.ERROR);
  return new DecryptError(`${where}: ${errorLine(e)}`, EXIT.ERROR);
}

const BUCKET_NAME = /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/;
const IP_ADDRESS = /^\d+\.\d+\.\d+\.\d+$/;
/** Half of a UTF-16 surrogate pair: not encodable as UTF-8, so not an S3 key. */
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/** `s3://bucket/key` → bucket and key. */
export function parseS3Url(url: string): { bucket: string; key: string } {
  const m = /^s3:\/\/([^/]*)\/(.*)$/s.exec(url);
  if (!m || m[2] === '') throw new UsageError(`the object must be given as s3://bucket/key, got: ${quote(url)}`);
  if (!BUCKET_NAME.test(m[1]) || m[1].includes('..') || IP_ADDRESS.test(m[1])) {
    throw new UsageError(`the bucket name must be 3 to 63 lowercase letters, digits, single dots and hyphens (not an IP address), got: ${quote(m[1])}`);
  }
  if (LONE_SURROGATE.test(m[2]) || Buffer.byteLength(m[2]) > 1024) {
    throw new UsageError(`the object key must be 1 to 1024 bytes of UTF-8, got: ${quote(m[2])}`);
  }
  return { bucket: m[1], key: m[2] };
}

/** `k=v` pairs (repeatable `--context`) → a map; reserved keys and repeated keys are refused. */
export function parseContext(pairs: string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const p of pairs) {
    const i = p.indexOf('=');
    if (i <= 0) throw new UsageError(`\`--context\` must be key=value, got: ${quote(p)}`);
    const k = p.slice(0, i);
    if (k.toLowerCase().startsWith('aws:') || k === RESERVED_CMK_CONTEXT_KEY) {
      throw new UsageError(`\`--context\` key ${quote(k)} is reserved (aws: prefix, ${RESERVED_CMK_CONTEXT_KEY}): give only the pairs the object was written with`);
    }
    if (Object.prototype.hasOwnProperty.call(out, k)) throw new UsageError(`\`--context\` key ${quote(k)} is given twice`);
    out[k] = p.slice(i + 1);
  }
  return out;
}

interface DecryptCommandOptions {
  out?: string;
  force?: boolean;
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
    .option('--out <file>', 'write the plaintext to this file, only once verified (default: stdout, objects up to 64 MiB)')
    .option('--force', 'replace --out when it exists')
    .option('--context <key=value>', 'an encryption-context pair the object must carry (repeatable)', collect, [] as string[])
    .option('--version-id <id>', 'a specific object version')
    .option('--key-id <key>', 'require the data key to be wrapped under this KMS key (key id, key ARN, alias name or alias ARN)')
    .option('--region <region>', 'AWS region')
    .option('--endpoint-url <url>', 'S3 and KMS endpoint (a local emulator)')
    .addHelpText('after', EXIT_CODES_HELP('refused: the object failed verification (tag, key commitment, encryption context) or is wrapped under another key'))
    .action(async (object: string, o: DecryptCommandOptions) => {
      process.exitCode = await decryptCommand(object, o, process.stderr);
    });
}

/** Runs `decrypt` from parsed arguments; returns the exit code. */
export async function decryptCommand(object: string, o: DecryptCommandOptions, stderr: { write(s: string): unknown }): Promise<number> {
  // An interrupted run says so and exits 128 + signal, to stdout or to a file alike.
  installSignalCleanup();
  try {
    const { bucket, key } = parseS3Url(object);
    const context = parseContext(o.context);
    checkConnection(o);
    if (o.versionId !== undefined && o.versionId.trim() === '') throw new UsageError(`\`--version-id\` must not be empty, got: ${quote(o.versionId)}`);
    const toStdout = o.out === undefined || o.out === '-';
    // Every argument is checked before a client exists: a usage error is one line, with nothing fetched.
    if (!toStdout) checkOutputPath(o.out!, o.force ?? false);
    if (o.keyId !== undefined) keyIdKind(o.keyId);
    const config = { region: o.region, endpoint: o.endpointUrl };
    const result = await decryptObject({
      s3: new S3Client({ ...config, forcePathStyle: o.endpointUrl !== undefined }),
      kms: new KMSClient(config),
      bucket,
      key,
      versionId: o.versionId,
      keyId: o.keyId,
      context,
      out: toStdout ? undefined : o.out,
      force: o.force,
    });
    stderr.write(`decrypted ${result.plaintextLength} bytes (format ${result.format}, data key unwrapped by ${result.keyArn})${toStdout ? '' : ` to ${o.out}`}\n`);
    return EXIT.OK;
  } catch (e) {
    stderr.write(`cdk-cmek decrypt: ${oneLine((e as Error).message)}\n`);
    return e instanceof CliError ? e.exitCode : EXIT.ERROR;
  }
}
