// SHA-256 of the stored body, computed beside the cipher: on a worker thread for large bodies, inline for small ones.
import { createHash } from 'node:crypto';
import { Worker } from 'node:worker_threads';

/**
 * Hashes chunks in order and hands each chunk back (in order) once it may be used again. `update` takes ownership
 * of the chunk until it comes back through `onBack`.
 */
export interface ChunkHasher {
  update(chunk: Buffer): void;
  /** Bytes handed to `update` and not yet back. */
  inFlightBytes(): number;
  /** Resolves with the hex digest once every chunk is back. */
  digest(): Promise<string>;
  /** Drops the job: no more `onBack` calls. */
  abort(): void;
}

/** Callbacks of a hasher: chunks coming back, and a failure of the worker. */
export interface HasherEvents {
  onBack(chunk: Buffer): void;
  onError(error: Error): void;
}

/** Chunks are posted to the worker in batches of about this size: one message per chunk would cost more than hashing. */
export const HASH_BATCH_BYTES = 128 * 1024;

/** The same thread: the right choice for a body too small to repay a round trip to a worker. */
export function inlineHasher(events: HasherEvents): ChunkHasher {
  const hash = createHash('sha256');
  return {
    update(chunk) {
      hash.update(chunk);
      events.onBack(chunk);
    },
    inFlightBytes: () => 0,
    digest: async () => hash.digest('hex'),
    abort: () => undefined,
  };
}

// Plain JavaScript, evaluated by the worker: a bundler cannot separate it from the file that starts it.
const WORKER_SOURCE = `
const { parentPort } = require('node:worker_threads');
const { createHash } = require('node:crypto');
const hashes = new Map();
parentPort.on('message', (m) => {
  if (m.kind === 'update') {
    let h = hashes.get(m.id);
    if (!h) hashes.set(m.id, (h = createHash('sha256')));
    for (const b of m.buffers) h.update(new Uint8Array(b));
    parentPort.postMessage({ id: m.id, kind: 'back', buffers: m.buffers }, m.buffers);
  } else if (m.kind === 'digest') {
    const h = hashes.get(m.id) || createHash('sha256');
    hashes.delete(m.id);
    parentPort.postMessage({ id: m.id, kind: 'digest', hex: h.digest('hex') });
  } else if (m.kind === 'abort') {
    hashes.delete(m.id);
  }
});
`;

interface Reply {
  readonly id: number;
  readonly kind: 'back' | 'digest';
  readonly buffers?: ArrayBuffer[];
  readonly hex?: string;
}

/** One worker per process, shared by every job; it keeps the process alive only while a job is open. */
class HashWorker {
  private readonly worker: Worker;
  private readonly jobs = new Map<number, { reply(m: Reply): void; fail(e: Error): void }>();
  private nextId = 1;

  constructor() {
    // The worker only hashes: a small heap keeps its isolate to a few MB of the handler's memory.
    this.worker = new Worker(WORKER_SOURCE, { eval: true, resourceLimits: { maxYoungGenerationSizeMb: 1, maxOldGenerationSizeMb: 16 } });
    this.worker.unref();
    this.worker.on('message', (m: Reply) => this.jobs.get(m.id)?.reply(m));
    this.worker.on('error', (e: Error) => this.failAll(e));
    this.worker.on('exit', (code) => this.failAll(new Error(`the hashing worker exited with code ${code}`)));
  }

  private failAll(e: Error): void {
    if (sharedWorker === this) sharedWorker = undefined;
    const jobs = [...this.jobs.values()];
    this.jobs.clear();
    for (const j of jobs) j.fail(e);
  }

  open(reply: (m: Reply) => void, fail: (e: Error) => void): number {
    const id = this.nextId++;
    if (this.jobs.size === 0) this.worker.ref();
    this.jobs.set(id, { reply, fail });
    return id;
  }

  close(id: number): void {
    if (this.jobs.delete(id) && this.jobs.size === 0) this.worker.unref();
  }

  post(message: object, transfer: ArrayBuffer[] = []): void {
    this.worker.postMessage(message, transfer);
  }
}

let sharedWorker: HashWorker | undefined;

/**
 * A buffer whose memory nobody else can see: its ArrayBuffer may be moved to the worker and back. Node's pooled
 * small buffers share one ArrayBuffer (moving it would empty its neighbours), so anything else is copied.
 */
function owned(chunk: Buffer): ArrayBuffer {
  const ab = chunk.buffer;
  if (ab instanceof ArrayBuffer && chunk.byteOffset === 0 && ab.byteLength === chunk.length && chunk.length >= 4096) return ab;
  return new Uint8Array(chunk).buffer;
}

/**
 * Hashes on the shared worker thread. Chunks travel there and back by transfer (no copy), in batches; the caller
 * pushes each chunk downstream when it comes back, so the stored body and the hash see the same bytes in order.
 */
export function workerHasher(events: HasherEvents): ChunkHasher {
  const worker = (sharedWorker ??= new HashWorker());
  let batch: ArrayBuffer[] = [];
  let batchBytes = 0;
  let inFlight = 0;
  let done: ((hex: string) => void) | undefined;
  let failed: ((e: Error) => void) | undefined;
  let closed = false;
  const id = worker.open(
    (m) => {
      if (m.kind === 'back') {
        for (const b of m.buffers!) {
          inFlight -= b.byteLength;
          if (!closed) events.onBack(Buffer.from(b));
        }
      } else {
        closed = true;
        worker.close(id);
        done?.(m.hex!);
      }
    },
    (e) => {
      closed = true;
      failed?.(e);
      events.onError(e);
    },
  );
  const send = () => {
    if (batch.length === 0) return;
    worker.post({ kind: 'update', id, buffers: batch }, batch);
    batch = [];
    batchBytes = 0;
  };
  return {
    update(chunk) {
      if (chunk.length === 0) return;
      const ab = owned(chunk);
      batch.push(ab);
      batchBytes += ab.byteLength;
      inFlight += ab.byteLength;
      if (batchBytes >= HASH_BATCH_BYTES) send();
    },
    inFlightBytes: () => inFlight,
    digest() {
      send();
      return new Promise<string>((resolve, reject) => {
        done = resolve;
        failed = reject;
        worker.post({ kind: 'digest', id });
      });
    },
    abort() {
      if (closed) return;
      closed = true;
      worker.post({ kind: 'abort', id });
      worker.close(id);
    },
  };
}
