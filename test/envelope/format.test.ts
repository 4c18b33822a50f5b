// The S3 Encryption Client formats: known answers, round trips, tampering and a property test over mutations.
/* eslint-disable no-bitwise */ // flipping bits is what tampering tests do
import { createHash, createHmac, randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import * as fc from 'fast-check';
import { bufferSink, chunked, encryptInMemory, FakeKms } from './support';
import {
  checkContext,
  COMMIT_KEY_CONTENT_IV,
  createDecryption,
  deriveCommitment,
  deriveEncryptionKey,
  encodeMetadata,
  EnvelopeFormatError,
  FormatVersion,
  kmsEncryptionContext,
  metadataBytes,
  parseMetadata,
  usesInstructionFile,
  withInstructionFile,
} from '../../src/envelope/format';
import { decryptBody } from '../../src/envelope/runtime/reader';

const DK = Buffer.from(Array.from({ length: 32 }, (_, i) => i));
const MESSAGE_ID = Buffer.from(Array.from({ length: 28 }, (_, i) => 100 + i));
const IV_V2 = Buffer.from(Array.from({ length: 12 }, (_, i) => 200 + i));
const PLAINTEXT = Buffer.from('cdk-cmek known answer');
// Computed with Python `cryptography` (HKDF-SHA512, AESGCM), independently of this module.
const KAT_COMMITMENT = '2d59a480d136f5982791c93a93d760ceade5011ccf465dbfc303c597';
const KAT_V3_BODY = '3a75ee1ddef35b1cf781becf59669b970a06c8a830bb591094bdad012288272900823f8d77';
const KAT_V2_BODY = '721c0af6e5a19e4b545771d16968cb758ef49bcd767126b8ef038c1a23d2bb326aba639df3';

/** RFC 5869 written out with HMAC, to check the library HKDF is called with the spec's inputs. */
function hkdfByHand(ikm: Buffer, salt: Buffer, info: Buffer, length: number): Buffer {
  const prk = createHmac('sha512', salt).update(ikm).digest();
  const t = createHmac('sha512', prk).update(Buffer.concat([info, Buffer.from([1])])).digest();
  return t.subarray(0, length);
}

async function decryptAll(
  kms: FakeKms,
  metadata: Record<string, string>,
  body: Buffer,
  context: Record<string, string>,
): Promise<Buffer> {
  const sink = bufferSink();
  await decryptBody(metadata, chunked(body), context, (w, c) => kms.unwrap(w, c), sink);
  return sink.bytes();
}

describe('format', () => {
  test('GIVEN the key-derivation.md inputs WHEN deriving THEN commitment and key equal HKDF-SHA512 with info = suite id ‖ label, salt = message id', () => {
    const suite = Buffer.from([0x00, 0x73]);
    expect(deriveCommitment(DK, MESSAGE_ID).toString('hex')).toBe(
      hkdfByHand(DK, MESSAGE_ID, Buffer.concat([suite, Buffer.from('COMMITKEY')]), 28).toString('hex'),
    );
    expect(deriveEncryptionKey(DK, MESSAGE_ID).toString('hex')).toBe(
      hkdfByHand(DK, MESSAGE_ID, Buffer.concat([suite, Buffer.from('DERIVEKEY')]), 32).toString('hex'),
    );
    expect(deriveCommitment(DK, MESSAGE_ID).toString('hex')).toBe(KAT_COMMITMENT);
    expect(COMMIT_KEY_CONTENT_IV).toEqual(Buffer.alloc(12, 1));
  });

  test.each([
    ['V3', KAT_V3_BODY, MESSAGE_ID],
    ['V2', KAT_V2_BODY, IV_V2],
  ] as const)('GIVEN a %s body from an independent implementation WHEN decrypting with the known data key THEN the known plaintext', async (format, body, nonce) => {
    const env = parseMetadata(
      encodeMetadata({
        format,
        wrappedKey: Buffer.from('wrapped'),
        context: kmsEncryptionContext(format, {}),
        nonce,
        commitment: format === 'V3' ? Buffer.from(KAT_COMMITMENT, 'hex') : undefined,
      }),
    );
    const sink = bufferSink();
    const d = createDecryption(env, DK);
    await new Promise<void>((resolve, reject) => {
      Readable.from([Buffer.from(body, 'hex')]).pipe(d).pipe(sink).on('finish', resolve).on('error', reject);
      d.on('error', reject);
    });
    expect(sink.bytes().toString()).toBe(PLAINTEXT.toString());
  });

  test('GIVEN format V3 WHEN writing metadata THEN exactly the V3 mapkeys with suite 115, wrap 12 and the reserved context pair', async () => {
    const kms = new FakeKms();
    const { metadata } = await encryptInMemory(kms, 'V3', Buffer.from('x'), { app: 'billing' });
    expect(Object.keys(metadata).sort()).toEqual(['x-amz-3', 'x-amz-c', 'x-amz-d', 'x-amz-i', 'x-amz-t', 'x-amz-w']);
    expect(metadata['x-amz-c']).toBe('115');
    expect(metadata['x-amz-w']).toBe('12');
    expect(JSON.parse(metadata['x-amz-t'])).toEqual({ 'app': 'billing', 'aws:x-amz-cek-alg': '115' });
    expect(Buffer.from(metadata['x-amz-i'], 'base64')).toHaveLength(28);
    expect(Buffer.from(metadata['x-amz-d'], 'base64')).toHaveLength(28);
  });

  test('GIVEN format V2 WHEN writing metadata THEN the V2 mapkeys, a 12-byte IV, tag length 128 and the plaintext length', async () => {
    const kms = new FakeKms();
    const { metadata, body } = await encryptInMemory(kms, 'V2', Buffer.from('hello'), {});
    expect(metadata).toMatchObject({
      'x-amz-cek-alg': 'AES/GCM/NoPadding',
      'x-amz-wrap-alg': 'kms+context',
      'x-amz-tag-len': '128',
      'x-amz-unencrypted-content-length': '5',
      'x-amz-matdesc': '{"aws:x-amz-cek-alg":"AES/GCM/NoPadding"}',
    });
    expect(Buffer.from(metadata['x-amz-iv'], 'base64')).toHaveLength(12);
    expect(body).toHaveLength(5 + 16);
  });

  test.each(['V3', 'V2'] as const)('GIVEN format %s WHEN sizes around the 64 KiB chunk round-trip THEN the bytes come back and the sha256 is the body\'s', async (format) => {
    const kms = new FakeKms();
    for (const n of [0, 1, 15, 16, 17, 65535, 65536, 65537, 1024 * 1024 + 3]) {
      const pt = randomBytes(n);
      const { metadata, body, sha256 } = await encryptInMemory(kms, format, pt, { n: String(n) });
      expect(body.length).toBe(n + 16);
      expect(sha256).toBe(createHash('sha256').update(body).digest('hex'));
      expect((await decryptAll(kms, metadata, body, { n: String(n) })).equals(pt)).toBe(true);
    }
  });

  test.each(['V3', 'V2'] as const)('GIVEN a %s object WHEN a body byte is flipped THEN the tag check fails', async (format) => {
    const kms = new FakeKms();
    const { metadata, body } = await encryptInMemory(kms, format, randomBytes(1000), {});
    body[500] ^= 1;
    await expect(decryptAll(kms, metadata, body, {})).rejects.toThrow('authentication tag does not match');
  });

  test.each(['V3', 'V2'] as const)('GIVEN a %s object WHEN the body is truncated THEN it is rejected', async (format) => {
    const kms = new FakeKms();
    const { metadata, body } = await encryptInMemory(kms, format, randomBytes(1000), {});
    await expect(decryptAll(kms, metadata, body.subarray(0, 990), {})).rejects.toThrow(EnvelopeFormatError);
    await expect(decryptAll(kms, metadata, body.subarray(0, 10), {})).rejects.toThrow('truncated');
  });

  test('GIVEN a V3 object WHEN x-amz-d is flipped THEN it is rejected before any plaintext is released', async () => {
    const kms = new FakeKms();
    const { metadata, body } = await encryptInMemory(kms, 'V3', randomBytes(100), {});
    const d = Buffer.from(metadata['x-amz-d'], 'base64');
    d[0] ^= 0x80;
    const sink = bufferSink();
    await expect(
      decryptBody({ ...metadata, 'x-amz-d': d.toString('base64') }, chunked(body), {}, (w, c) => kms.unwrap(w, c), sink),
    ).rejects.toThrow('key commitment (x-amz-d) does not match');
    expect(sink.bytes()).toHaveLength(0);
  });

  test.each(['V3', 'V2'] as const)('GIVEN a %s object WHEN the caller presents another context THEN it is rejected before unwrapping', async (format) => {
    const kms = new FakeKms();
    const { metadata, body } = await encryptInMemory(kms, format, Buffer.from('abc'), { app: 'a' });
    const unwrap = jest.fn((w: Buffer, c: Record<string, string>) => kms.unwrap(w, c));
    await expect(decryptBody(metadata, chunked(body), { app: 'b' }, unwrap, bufferSink())).rejects.toThrow(
      'encryption context does not match',
    );
    expect(unwrap).not.toHaveBeenCalled();
  });

  test('GIVEN a V2 object WHEN its matdesc is changed THEN the caller\'s context no longer matches, and with a matching caller KMS refuses', async () => {
    const kms = new FakeKms();
    const { metadata, body } = await encryptInMemory(kms, 'V2', Buffer.from('abc'), { app: 'a' });
    const changed = { ...metadata, 'x-amz-matdesc': JSON.stringify({ 'app': 'b', 'aws:x-amz-cek-alg': 'AES/GCM/NoPadding' }) };
    await expect(decryptAll(kms, changed, body, { app: 'a' })).rejects.toThrow('encryption context does not match');
    await expect(decryptAll(kms, changed, body, { app: 'b' })).rejects.toThrow('InvalidCiphertextException');
  });

  test('GIVEN metadata of another shape WHEN parsing THEN each is one readable error', () => {
    expect(() => parseMetadata({})).toThrow('no S3 Encryption Client metadata');
    expect(() => parseMetadata({ 'x-amz-key': 'a', 'x-amz-iv': 'b' })).toThrow('format V1');
    expect(() => parseMetadata({ 'x-amz-key-v2': 'a', 'x-amz-3': 'b' })).toThrow('mixes keys');
    const v3 = encodeMetadata({ format: 'V3', wrappedKey: Buffer.from('k'), context: {}, nonce: MESSAGE_ID, commitment: Buffer.alloc(28) });
    expect(() => parseMetadata({ ...v3, 'x-amz-c': '114' })).toThrow('metadata x-amz-c must be "115", got: "114"');
    expect(() => parseMetadata({ ...v3, 'x-amz-w': '02' })).toThrow('metadata x-amz-w must be "12"');
    expect(() => parseMetadata({ ...v3, 'x-amz-i': 'AAAA' })).toThrow('must decode to 28 bytes, got: 3');
    expect(() => parseMetadata({ ...v3, 'x-amz-t': '[1]' })).toThrow('x-amz-t is not a JSON object');
    const v2 = encodeMetadata({ format: 'V2', wrappedKey: Buffer.from('k'), context: {}, nonce: IV_V2 });
    expect(() => parseMetadata({ ...v2, 'x-amz-cek-alg': 'AES/CBC/PKCS5Padding' })).toThrow('x-amz-cek-alg must be "AES/GCM/NoPadding"');
    expect(() => parseMetadata({ ...v2, 'x-amz-tag-len': '96' })).toThrow('x-amz-tag-len must be "128"');
  });

  test('GIVEN a V2 object whose reserved pair names another suite WHEN checking the context THEN it is a downgrade and rejected', () => {
    const env = parseMetadata(encodeMetadata({ format: 'V2', wrappedKey: Buffer.from('k'), context: kmsEncryptionContext('V3', {}), nonce: IV_V2 }));
    expect(() => checkContext(env, {})).toThrow('aws:x-amz-cek-alg="AES/GCM/NoPadding" for format V2, got: "115"');
  });

  test('GIVEN user pairs with reserved keys WHEN building the KMS context THEN rejected', () => {
    expect(() => kmsEncryptionContext('V3', { 'aws:x-amz-cek-alg': 'x' })).toThrow('is reserved');
    expect(() => kmsEncryptionContext('V3', { kms_cmk_id: 'x' })).toThrow('is reserved');
  });

  test('GIVEN metadata WHEN measuring THEN UTF-8 bytes of keys and values are summed', () => {
    expect(metadataBytes({ ab: 'cd', é: 'x' })).toBe(4 + 3);
  });

  describe('instruction files', () => {
    const split = (metadata: Record<string, string>, onObject: string[]) => {
      const object = Object.fromEntries(Object.entries(metadata).filter(([k]) => onObject.includes(k)));
      const file = JSON.stringify(Object.fromEntries(Object.entries(metadata).filter(([k]) => !onObject.includes(k))));
      return { object, file };
    };

    test.each([
      ['V3', ['x-amz-c', 'x-amz-d', 'x-amz-i']],
      ['V2', []],
    ] as const)('GIVEN a %s object whose metadata is in an instruction file WHEN the reader gets the file THEN it decrypts; without the file THEN it says so', async (format, onObject) => {
      const kms = new FakeKms();
      const plaintext = randomBytes(500);
      const { metadata, body } = await encryptInMemory(kms, format, plaintext, { app: 'a' });
      const { object, file } = split(metadata, [...onObject]);
      expect(usesInstructionFile(object)).toBe(true);
      expect(usesInstructionFile(metadata)).toBe(false);
      const load = jest.fn(async (suffix: string) => (suffix === '.instruction' ? file : undefined));
      const sink = bufferSink();
      await decryptBody(object, chunked(body), { app: 'a' }, (w, c) => kms.unwrap(w, c), sink, load);
      expect(sink.bytes().equals(plaintext)).toBe(true);
      await expect(decryptBody(object, chunked(body), { app: 'a' }, (w, c) => kms.unwrap(w, c), bufferSink(), async () => undefined))
        .rejects.toThrow(format === 'V3' ? 'metadata x-amz-3 is missing: the object keeps its content metadata in an instruction file' : 'object has no S3 Encryption Client metadata, in its own metadata or in an instruction file');
    });

    test('GIVEN a V3 instruction file that also carries x-amz-d WHEN read THEN rejected: the commitment must come from the object', async () => {
      const kms = new FakeKms();
      const { metadata } = await encryptInMemory(kms, 'V3', Buffer.from('x'), {});
      const { object } = split(metadata, ['x-amz-c', 'x-amz-d', 'x-amz-i']);
      const file = JSON.stringify({ 'x-amz-3': metadata['x-amz-3'], 'x-amz-w': '12', 'x-amz-d': metadata['x-amz-d'] });
      expect(() => withInstructionFile(object, file)).toThrow('the instruction file of a V3 object must not hold x-amz-d');
      expect(() => withInstructionFile(object, '[1]')).toThrow('the instruction file is not a JSON object');
      expect(() => withInstructionFile(object, '{"x-amz-3": 1}')).toThrow('the instruction file has a non-string value for "x-amz-3"');
    });
  });

  test.each(['V3', 'V2'] as const)('GIVEN random mutations of a %s object WHEN decrypting THEN each is rejected with a clear error or yields the original bytes', async (format: FormatVersion) => {
    const kms = new FakeKms();
    const plaintext = randomBytes(300);
    const original = await encryptInMemory(kms, format, plaintext, { app: 'billing', env: 'prod' });
    const keys = Object.keys(original.metadata);
    const mutation = fc.oneof(
      fc.record({ kind: fc.constant('flip' as const), at: fc.nat(), bit: fc.integer({ min: 0, max: 7 }) }),
      fc.record({ kind: fc.constant('truncate' as const), at: fc.nat() }),
      fc.record({ kind: fc.constant('append' as const), extra: fc.uint8Array({ minLength: 1, maxLength: 20 }) }),
      fc.record({ kind: fc.constant('metaDelete' as const), key: fc.constantFrom(...keys) }),
      fc.record({ kind: fc.constant('metaFlip' as const), key: fc.constantFrom(...keys), at: fc.nat(), bit: fc.integer({ min: 0, max: 6 }) }),
      fc.record({ kind: fc.constant('metaSet' as const), key: fc.constantFrom(...keys, 'x-amz-key', 'x-amz-m', 'x-amz-3', 'x-amz-iv'), value: fc.string() }),
    );
    await fc.assert(
      fc.asyncProperty(fc.array(mutation, { minLength: 1, maxLength: 3 }), async (mutations) => {
        let body = Buffer.from(original.body);
        const metadata = { ...original.metadata };
        for (const m of mutations) {
          if (m.kind === 'flip' && body.length) body[m.at % body.length] ^= 1 << m.bit;
          if (m.kind === 'truncate') body = body.subarray(0, m.at % (body.length + 1));
          if (m.kind === 'append') body = Buffer.concat([body, Buffer.from(m.extra)]);
          if (m.kind === 'metaDelete') delete metadata[m.key];
          if (m.kind === 'metaFlip' && metadata[m.key]?.length) {
            const s = Buffer.from(metadata[m.key], 'latin1');
            s[m.at % s.length] ^= 1 << m.bit;
            metadata[m.key] = s.toString('latin1');
          }
          if (m.kind === 'metaSet') metadata[m.key] = m.value;
        }
        try {
          const out = await decryptAll(kms, metadata, body, { app: 'billing', env: 'prod' });
          expect(out.equals(plaintext)).toBe(true);
        } catch (e) {
          const err = e as Error;
          expect(err.message === 'InvalidCiphertextException' || err instanceof EnvelopeFormatError).toBe(true);
          expect(err.message).not.toMatch(/\n/);
          expect(err.message.length).toBeGreaterThan(10);
        }
      }),
      { numRuns: 2000 },
    );
  }, 120_000);
});
