// 10,000 tampered objects per format: bit flips, truncation, extension and metadata edits never yield plaintext,
// and each is refused with one of the format's documented errors.
/* eslint-disable no-bitwise */ // flipping bits is what tampering tests do
import { randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import * as fc from 'fast-check';
import { bufferSink, encryptInMemory, FakeKms } from './support';
import { EnvelopeFormatError, FormatVersion, parseMetadata, ParsedEnvelope } from '../../src/envelope/format';
import { decryptBody } from '../../src/envelope/runtime/reader';

/** Runs per format; TAMPER_RUNS raises it, TAMPER_SEED replays a failure (fast-check prints the seed and path). */
const RUNS = Number(process.env.TAMPER_RUNS ?? 10_000);
const SEED = process.env.TAMPER_SEED === undefined ? undefined : Number(process.env.TAMPER_SEED);

/** Every refusal the reader documents: EnvelopeFormatError with one of these messages, or KMS refusing to unwrap. */
const DOCUMENTED: RegExp[] = [
  /^metadata mixes keys of several S3 Encryption Client formats$/,
  /^format V1 \(x-amz-key\) is a legacy unauthenticated format and is not supported$/,
  /^metadata x-amz-3 is missing: the object keeps its content metadata in an instruction file \(the object key \+ "\.instruction"\), which was not read$/,
  /^metadata x-amz-[\w-]+ is missing \(format V[23]\)$/,
  /^metadata x-amz-[\w-]+ must be "[^"]+", got: .+$/,
  /^metadata x-amz-m belongs to raw keyrings, not kms\+context$/,
  /^metadata x-amz-unencrypted-content-length is not a byte count$/,
  /^metadata x-amz-[\w-]+ is not valid base64$/,
  /^metadata x-amz-[\w-]+ must decode to \d+ bytes, got: \d+$/,
  /^metadata x-amz-[\w-]+ is empty$/,
  /^metadata x-amz-[\w-]+ is not a JSON object$/,
  /^metadata x-amz-[\w-]+ has a non-string value for ".*"$/,
  /^object has no S3 Encryption Client metadata, in its own metadata or in an instruction file/,
  /^stored encryption context must have aws:x-amz-cek-alg="[^"]+" for format V[23], got: .+$/,
  /^encryption context does not match the object's: expected keys \[.*\], the object has \[.*\] \(or different values\)$/,
  /^key commitment \(x-amz-d\) does not match the data key: the object or its metadata was altered$/,
  /^body is truncated: shorter than the 16-byte authentication tag$/,
  /^authentication tag does not match: the body or its metadata was altered or truncated$/,
  /^plaintext is \d+ bytes, metadata x-amz-unencrypted-content-length says \d+$/,
];
const KMS_REFUSAL = 'InvalidCiphertextException';

type Edit =
  | { kind: 'flip'; at: number; bit: number }
  | { kind: 'truncate'; at: number }
  | { kind: 'extend'; extra: Uint8Array }
  | { kind: 'delete'; key: string }
  | { kind: 'swap'; a: string; b: string }
  | { kind: 'reencode'; key: string; as: 'hex' | 'base64url' | 'unpadded' | 'mime' }
  | { kind: 'whitespace'; key: string; at: number; ws: string }
  | { kind: 'case'; key: string; how: 'upper' | 'lower' | 'key' }
  | { kind: 'metaFlip'; key: string; at: number; bit: number }
  | { kind: 'set'; key: string; value: string };

function edits(keys: string[], foreign: string[]): fc.Arbitrary<Edit> {
  const key = fc.constantFrom(...keys);
  return fc.oneof(
    fc.record({ kind: fc.constant('flip' as const), at: fc.nat(), bit: fc.integer({ min: 0, max: 7 }) }),
    fc.record({ kind: fc.constant('truncate' as const), at: fc.nat() }),
    fc.record({ kind: fc.constant('extend' as const), extra: fc.uint8Array({ minLength: 1, maxLength: 32 }) }),
    fc.record({ kind: fc.constant('delete' as const), key }),
    fc.record({ kind: fc.constant('swap' as const), a: key, b: key }),
    fc.record({ kind: fc.constant('reencode' as const), key, as: fc.constantFrom('hex' as const, 'base64url' as const, 'unpadded' as const, 'mime' as const) }),
    fc.record({ kind: fc.constant('whitespace' as const), key, at: fc.nat(), ws: fc.constantFrom(' ', '\t', '\n', '\r\n', '\u00a0') }),
    fc.record({ kind: fc.constant('case' as const), key, how: fc.constantFrom('upper' as const, 'lower' as const, 'key' as const) }),
    fc.record({ kind: fc.constant('metaFlip' as const), key, at: fc.nat(), bit: fc.integer({ min: 0, max: 6 }) }),
    fc.record({ kind: fc.constant('set' as const), key: fc.constantFrom(...keys, ...foreign), value: fc.string({ maxLength: 40 }) }),
  );
}

function apply(edit: Edit, meta: Record<string, string>, body: Buffer): Buffer {
  switch (edit.kind) {
    case 'flip':
      if (body.length) body[edit.at % body.length] ^= 1 << edit.bit;
      return body;
    case 'truncate':
      return body.subarray(0, edit.at % (body.length + 1));
    case 'extend':
      return Buffer.concat([body, edit.extra]);
    case 'delete':
      delete meta[edit.key];
      return body;
    case 'swap': {
      const a = meta[edit.a];
      const b = meta[edit.b];
      if (b === undefined) delete meta[edit.a];
      else meta[edit.a] = b;
      if (a === undefined) delete meta[edit.b];
      else meta[edit.b] = a;
      return body;
    }
    case 'reencode': {
      const v = meta[edit.key];
      if (v === undefined) return body;
      const bytes = Buffer.from(v, 'base64');
      meta[edit.key] = edit.as === 'hex' ? bytes.toString('hex')
        : edit.as === 'base64url' ? bytes.toString('base64url')
          : edit.as === 'unpadded' ? v.replace(/=+$/, '')
            : v.replace(/(.{4})/g, '$1\n');
      return body;
    }
    case 'whitespace': {
      const v = meta[edit.key];
      if (v === undefined) return body;
      const i = edit.at % (v.length + 1);
      meta[edit.key] = v.slice(0, i) + edit.ws + v.slice(i);
      return body;
    }
    case 'case': {
      const v = meta[edit.key];
      if (v === undefined) return body;
      if (edit.how === 'key') {
        delete meta[edit.key];
        meta[edit.key.toUpperCase()] = v;
      } else {
        meta[edit.key] = edit.how === 'upper' ? v.toUpperCase() : v.toLowerCase();
      }
      return body;
    }
    case 'metaFlip': {
      const v = meta[edit.key];
      if (!v?.length) return body;
      const s = Buffer.from(v, 'latin1');
      s[edit.at % s.length] ^= 1 << edit.bit;
      meta[edit.key] = s.toString('latin1');
      return body;
    }
    case 'set':
      meta[edit.key] = edit.value;
      return body;
  }
}

/**
 * What a reader decrypts with: an edit that leaves all of it (and the body) as it was is no tampering at all. The
 * optional V2 plaintext length is only checked against the result, so dropping it changes nothing decrypted.
 */
function meaning(e: ParsedEnvelope): string {
  return JSON.stringify([e.format, e.wrappedKey.toString('hex'), e.context, e.nonce.toString('hex'), e.commitment?.toString('hex')]);
}

describe('tampering (property, 10,000 runs per format)', () => {
  const tally: Record<string, number> = {};

  afterAll(() => {
    // Which refusals the runs reached: a run that reaches none of the deep checks would not be worth its time.
    console.log(`tamper outcomes: ${JSON.stringify(tally)}`);
  });

  test.each(['V3', 'V2'] as const)('GIVEN %s objects WHEN 1 to 3 random edits hit the body and metadata THEN none yields plaintext and every refusal is a documented one', async (format: FormatVersion) => {
    const kms = new FakeKms();
    const context = { app: 'billing', env: 'prod' };
    const plaintext = randomBytes(200);
    const original = await encryptInMemory(kms, format, plaintext, context);
    const originalMeaning = meaning(parseMetadata(original.metadata));
    const keys = Object.keys(original.metadata);
    const foreign = format === 'V3' ? ['x-amz-key-v2', 'x-amz-m', 'x-amz-key'] : ['x-amz-3', 'x-amz-key', 'x-amz-c'];
    const seen = new Set<string>();
    const started = Date.now();
    await fc.assert(
      fc.asyncProperty(fc.array(edits(keys, foreign), { minLength: 1, maxLength: 3 }), async (list) => {
        const meta = { ...original.metadata };
        let body: Buffer = Buffer.from(original.body);
        for (const e of list) body = apply(e, meta, body);
        const sink = bufferSink();
        let refusal: string | undefined;
        try {
          await decryptBody(meta, Readable.from([body]), context, (w, c) => kms.unwrap(w, c), sink);
        } catch (e) {
          const err = e as Error;
          refusal = err.message;
          const documented = err instanceof EnvelopeFormatError ? DOCUMENTED.find((r) => r.test(err.message)) : err.message === KMS_REFUSAL ? /^KMS refusal/ : undefined;
          if (!documented) throw new Error(`undocumented refusal ${err.name}: ${JSON.stringify(err.message)}`);
          const name = documented.source.slice(1, 40);
          seen.add(name);
          tally[`${format} ${name}`] = (tally[`${format} ${name}`] ?? 0) + 1;
        }
        if (refusal === undefined) {
          // Accepted: only when nothing the reader acts on changed, and then it is the original plaintext.
          expect(body.equals(original.body)).toBe(true);
          const parsed = parseMetadata(meta);
          expect(meaning(parsed)).toBe(originalMeaning);
          if (parsed.plaintextLength !== undefined) expect(parsed.plaintextLength).toBe(plaintext.length);
          expect(sink.bytes().equals(plaintext)).toBe(true);
        }
      }),
      { numRuns: RUNS, seed: SEED },
    );
    console.log(`${format}: ${RUNS} tampered objects in ${Date.now() - started} ms`);
    expect(seen.size).toBeGreaterThanOrEqual(12);
  }, 600_000);
});
