// The ciphertext hashers: the worker thread and the inline one agree with SHA-256, and hand every byte back in order.
import { createHash, randomBytes } from 'node:crypto';
import { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import * as fc from 'fast-check';
import { createEncryption } from '../../../src/envelope/format';
import * as hashes from '../../../src/envelope/format/ciphertext-hash';
import { ChunkHasher, HasherEvents, inlineHasher, workerHasher } from '../../../src/envelope/format/ciphertext-hash';

async function run(make: (e: HasherEvents) => ChunkHasher, chunks: Buffer[]): Promise<{ back: Buffer; hex: string }> {
  const back: Buffer[] = [];
  const hasher = make({ onBack: (b) => back.push(Buffer.from(b)), onError: (e) => { throw e; } });
  // Each chunk is handed over as a buffer the hasher owns (as the cipher's output is).
  for (const c of chunks) hasher.update(Buffer.from(c));
  const hex = await hasher.digest();
  return { back: Buffer.concat(back), hex };
}

describe('ciphertext hashers', () => {
  test.each([
    ['worker', workerHasher],
    ['inline', inlineHasher],
  ] as const)('GIVEN chunks of any size WHEN the %s hasher runs THEN the digest is SHA-256 and the bytes come back in order', async (_name, make) => {
    await fc.assert(
      fc.asyncProperty(fc.array(fc.integer({ min: 0, max: 700_000 }), { maxLength: 12 }), async (sizes) => {
        const chunks = sizes.map((n) => randomBytes(n));
        const all = Buffer.concat(chunks);
        const { back, hex } = await run(make, chunks);
        expect(back.equals(all)).toBe(true);
        expect(hex).toBe(createHash('sha256').update(all).digest('hex'));
      }),
      { numRuns: 25 },
    );
  });

  test('GIVEN small buffers from Node\'s shared pool WHEN the worker hasher takes them THEN their neighbours in the pool stay readable', async () => {
    const neighbour = Buffer.from('neighbour in the pool');
    const small = Buffer.from('small chunk');
    expect(small.buffer).toBe(neighbour.buffer);
    const back: Buffer[] = [];
    const hasher = workerHasher({ onBack: (b) => back.push(b), onError: (e) => { throw e; } });
    hasher.update(small);
    hasher.update(randomBytes(64 * 1024));
    await hasher.digest();
    expect(neighbour.toString()).toBe('neighbour in the pool');
    expect(back[0].toString()).toBe('small chunk');
  });

  test('GIVEN a 32 MiB body WHEN encrypted with the worker hash and with the inline hash THEN both report the SHA-256 of what was stored', async () => {
    for (const expectedBytes of [undefined, 1]) {
      const enc = createEncryption('V3', randomBytes(32), { expectedBytes });
      const hash = createHash('sha256');
      let stored = 0;
      const sink = new Writable({
        write(c: Buffer, _e, done) {
          hash.update(c);
          stored += c.length;
          done();
        },
      });
      const block = randomBytes(1024 * 1024);
      await pipeline(Readable.from(Array.from({ length: 32 }, () => block)), enc.stream, sink);
      expect(stored).toBe(32 * 1024 * 1024 + 16);
      expect(enc.ciphertextSha256()).toBe(hash.digest('hex'));
    }
  });

  test.each([
    [{}, true],
    [{ expectedBytes: 64 * 1024 * 1024 }, true],
    [{ expectedBytes: 1000 }, false],
    [{ expectedBytes: 64 * 1024 * 1024, secondCore: false }, false],
  ])('GIVEN options %j WHEN an encryption starts THEN the worker hashes: %s', (options, worker) => {
    const spy = jest.spyOn(hashes, 'workerHasher');
    try {
      const enc = createEncryption('V3', randomBytes(32), options);
      expect(spy).toHaveBeenCalledTimes(worker ? 1 : 0);
      enc.stream.destroy();
    } finally {
      spy.mockRestore();
    }
  });

  test('GIVEN an encryption WHEN the hash is asked before the stream ended THEN a clear error', () => {
    const enc = createEncryption('V2', randomBytes(32));
    expect(() => enc.ciphertextSha256()).toThrow('the ciphertext hash is known only once the stream has ended');
    enc.stream.destroy();
  });
});
