// Child process of the envelope benchmark: streams generated plaintext through one encryptor, reports MB/s and peak RSS.
// Usage: node envelope-worker.js <ours-v3|ours-v2|bare|sha256|esdk|esdk-nosig> <bytes> <chunk-bytes>
import { createCipheriv, createHash, randomBytes } from 'node:crypto';
import { Readable, Transform, TransformCallback, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { emitResult, median, MiB } from './support';
import { createEncryption } from '../src/envelope/format';

export type Encryptor = 'ours-v3' | 'ours-v2' | 'bare' | 'sha256' | 'esdk' | 'esdk-nosig';

/** Plaintext as a stream of `chunk`-sized pieces of one random block: no buffer of the object's size exists. */
function source(bytes: number, chunk: number, block: Buffer): Readable {
  let left = bytes;
  return new Readable({
    highWaterMark: chunk,
    read() {
      if (left <= 0) {
        this.push(null);
        return;
      }
      const n = Math.min(chunk, left);
      left -= n;
      this.push(n === block.length ? block : block.subarray(0, n));
    },
  });
}

/** Counts and drops ciphertext. */
function sink(): Writable & { bytes: number } {
  const w = new Writable({
    write(c: Buffer, _e, done) {
      w.bytes += c.length;
      done();
    },
  }) as Writable & { bytes: number };
  w.bytes = 0;
  return w;
}

/** The ceiling: node:crypto AES-256-GCM on each chunk as it comes, nothing else. */
function bareGcm(): Transform {
  const cipher = createCipheriv('aes-256-gcm', randomBytes(32), randomBytes(12));
  return new Transform({
    transform(c: Buffer, _e, done: TransformCallback) {
      done(null, cipher.update(c));
    },
    flush(done: TransformCallback) {
      this.push(cipher.final());
      done(null, cipher.getAuthTag());
    },
  });
}

/** SHA-256 alone over the same bytes: what the handler's ciphertext checksum costs on top of AES-GCM. */
function sha256Only(): Transform {
  const hash = createHash('sha256');
  return new Transform({
    transform(c: Buffer, _e, done: TransformCallback) {
      hash.update(c);
      done(null, c);
    },
    flush(done: TransformCallback) {
      done(null, hash.digest());
    },
  });
}

function esdkStream(signed: boolean): Transform {
  // Loaded only here, so that the other encryptors' RSS does not include the ESDK.
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const esdk = require('@aws-crypto/client-node') as typeof import('@aws-crypto/client-node');
  const { encryptStream } = esdk.buildClient(esdk.CommitmentPolicy.REQUIRE_ENCRYPT_REQUIRE_DECRYPT);
  const keyring = new esdk.RawAesKeyringNode({
    keyName: 'bench',
    keyNamespace: 'cdk-cmek-bench',
    unencryptedMasterKey: randomBytes(32),
    wrappingSuite: esdk.RawAesWrappingSuiteIdentifier.AES256_GCM_IV12_TAG16_NO_PADDING,
  });
  return encryptStream(keyring, {
    encryptionContext: { purpose: 'bench' },
    suiteId: signed
      ? esdk.AlgorithmSuiteIdentifier.ALG_AES256_GCM_IV12_TAG16_HKDF_SHA512_COMMIT_KEY_ECDSA_P384
      : esdk.AlgorithmSuiteIdentifier.ALG_AES256_GCM_IV12_TAG16_HKDF_SHA512_COMMIT_KEY,
  }) as unknown as Transform;
}

function encryptor(kind: Encryptor): Transform {
  switch (kind) {
    case 'ours-v3':
      return createEncryption('V3', randomBytes(32)).stream;
    case 'ours-v2':
      return createEncryption('V2', randomBytes(32)).stream;
    case 'bare':
      return bareGcm();
    case 'sha256':
      return sha256Only();
    case 'esdk':
      return esdkStream(true);
    case 'esdk-nosig':
      return esdkStream(false);
  }
}

async function once(kind: Encryptor, bytes: number, chunk: number, block: Buffer): Promise<{ ms: number; out: number }> {
  const out = sink();
  const t0 = performance.now();
  await pipeline(source(bytes, chunk, block), encryptor(kind), out);
  return { ms: performance.now() - t0, out: out.bytes };
}

async function main(): Promise<void> {
  const [kind, bytesArg, chunkArg] = process.argv.slice(2) as [Encryptor, string, string];
  const bytes = Number(bytesArg);
  const chunk = Number(chunkArg);
  const block = randomBytes(chunk);
  // Warm-up on the same code path; small objects are repeated so that each figure covers at least 64 MiB.
  await once(kind, Math.min(bytes, 16 * MiB), chunk, block);
  const rssBefore = process.memoryUsage().rss;
  const repeats = Math.max(1, Math.min(64, Math.floor((64 * MiB) / bytes)));
  const times: number[] = [];
  const cpu0 = process.cpuUsage();
  let outBytes = 0;
  for (let i = 0; i < repeats; i++) {
    const r = await once(kind, bytes, chunk, block);
    times.push(r.ms);
    outBytes = r.out;
  }
  const ms = median(times);
  const cpu = process.cpuUsage(cpu0);
  emitResult({
    cpuShare: (cpu.user + cpu.system) / 1000 / times.reduce((a, b) => a + b, 0),
    kind,
    bytes,
    chunk,
    repeats,
    ms,
    mbPerSec: bytes / MiB / (ms / 1000),
    ciphertextBytes: outBytes,
    rssBeforeBytes: rssBefore,
    maxRssBytes: process.resourceUsage().maxRSS * 1024,
  });
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
