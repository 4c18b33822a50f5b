// Where decrypted bytes may go before they are verified: a private temp file beside the target, removed on any
// failure or signal, or a bounded memory buffer for stdout. Nothing unverified ever reaches the target name.
import { randomBytes } from 'node:crypto';
import { promises as fs, lstatSync, rmSync, statSync } from 'node:fs';
import * as path from 'node:path';
import { Writable } from 'node:stream';
import { UsageError, quote } from './exit';

/** Temp files alive right now: removed synchronously when the process is interrupted or exits. */
const live = new Set<string>();
let handlersInstalled = false;
const SIGNALS: Record<string, number> = { SIGINT: 2, SIGTERM: 15, SIGHUP: 1 };

function removeLive(): void {
  for (const p of live) {
    try {
      rmSync(p, { force: true });
    } catch {
      // Best effort on the way out: the name is unguessable and the mode is 0600.
    }
  }
  live.clear();
}

/**
 * Signal handlers that remove every live temp file, then exit 128 + the signal number as shells do. SIGKILL
 * cannot be caught: a temp file may then remain, 0600 and dot-named beside the target.
 */
export function installSignalCleanup(): void {
  if (handlersInstalled) return;
  handlersInstalled = true;
  for (const [signal, n] of Object.entries(SIGNALS)) {
    process.on(signal, () => {
      removeLive();
      process.stderr.write(`cdk-cmek: interrupted (${signal}): no plaintext was written\n`);
      process.exit(128 + n);
    });
  }
  process.on('exit', removeLive);
}

function errnoCode(e: unknown): string | undefined {
  return (e as NodeJS.ErrnoException)?.code;
}

/**
 * Checks `--out` before anything is fetched: a file path (not a directory, not ending in a separator) in an
 * existing directory, and not an existing file unless `force`.
 */
export function checkOutputPath(out: string, force: boolean): string {
  if (out.trim() === '' || out.endsWith('/') || out.endsWith(path.sep)) {
    throw new UsageError(`\`--out\` must be a file path, got: ${quote(out)}`);
  }
  const target = path.resolve(out);
  // /dev/stdout and friends are links a rename would replace (for everyone, when run as root).
  if (/^\/(dev|proc)\//.test(target)) {
    throw new UsageError(`\`--out\` must be a regular file outside /dev and /proc, got: ${quote(out)} (leave --out out, or pass --out -, for stdout)`);
  }
  const dir = path.dirname(target);
  let dirIsDirectory = false;
  try {
    dirIsDirectory = statSync(dir).isDirectory();
  } catch {
    // reported below
  }
  if (!dirIsDirectory) throw new UsageError(`\`--out\` must be in an existing directory, got: ${quote(out)} (${dir} is not a directory)`);
  let existing;
  try {
    existing = lstatSync(target);
  } catch (e) {
    if (errnoCode(e) !== 'ENOENT') throw new UsageError(`\`--out\` cannot be checked: ${quote(out)} (${errnoCode(e) ?? String(e)})`);
  }
  if (existing?.isDirectory() || (existing?.isSymbolicLink() && safeIsDirectory(target))) {
    throw new UsageError(`\`--out\` must be a file path, got a directory: ${quote(out)}`);
  }
  // A device, FIFO or socket (or a link to one, like /dev/stdout) would be replaced by the rename, not written to.
  if (existing && !existing.isFile() && !(existing.isSymbolicLink() && !isSpecial(target))) {
    throw new UsageError(`\`--out\` must be a regular file, got a device, FIFO or socket: ${quote(out)} (leave --out out, or pass --out -, for stdout)`);
  }
  if (existing && !force) throw new UsageError(`\`--out\` ${quote(out)} exists already: pass --force to replace it`);
  return target;
}

/** The link's target exists and is neither a regular file nor a directory. */
function isSpecial(p: string): boolean {
  try {
    const st = statSync(p);
    return !st.isFile() && !st.isDirectory();
  } catch {
    return false;
  }
}

function safeIsDirectory(p: string): boolean {
  try {
    return statSync(p).isDirectory();
  } catch {
    return false;
  }
}

async function writeFully(handle: fs.FileHandle, chunk: Buffer): Promise<void> {
  for (let offset = 0; offset < chunk.length;) {
    offset += (await handle.write(chunk, offset, chunk.length - offset)).bytesWritten;
  }
}

/** A 0600 temp file in the target's directory, so the final rename never crosses a file system. */
export class PendingFile {
  /** Creates the temp file; it is removed by `discard`, a signal or process exit until `commit` succeeds. */
  public static async create(target: string, force: boolean): Promise<PendingFile> {
    installSignalCleanup();
    const tmp = path.join(path.dirname(target), `.${path.basename(target)}.${randomBytes(8).toString('hex')}.cdk-cmek.tmp`);
    // Registered before it exists: a signal between open and return still removes it.
    live.add(tmp);
    try {
      const handle = await fs.open(tmp, 'wx', 0o600);
      return new PendingFile(target, tmp, handle, force);
    } catch (e) {
      live.delete(tmp);
      throw e;
    }
  }

  private closed = false;

  private constructor(readonly target: string, readonly tmp: string, private readonly handle: fs.FileHandle, private readonly force: boolean) {}

  /** A stream into the temp file that leaves the descriptor open for `commit`'s fsync. */
  public stream(): Writable {
    const handle = this.handle;
    return new Writable({
      write(chunk: Buffer, _encoding, done) {
        writeFully(handle, chunk).then(() => done(), done);
      },
    });
  }

  /** Flushes to disk and moves the verified file to its name; without `force`, never replaces an existing file. */
  public async commit(): Promise<void> {
    await this.handle.sync();
    await this.close();
    if (this.force) {
      await fs.rename(this.tmp, this.target);
    } else {
      // link() fails with EEXIST instead of replacing a file that appeared since the check.
      try {
        await fs.link(this.tmp, this.target);
      } catch (e) {
        if (errnoCode(e) === 'EEXIST') throw new UsageError(`\`--out\` ${quote(this.target)} appeared while decrypting: pass --force to replace it`);
        if (!['EPERM', 'ENOTSUP', 'EOPNOTSUPP', 'ENOSYS'].includes(errnoCode(e) ?? '')) throw e;
        // A file system without hard links: check, then rename.
        if (await fs.lstat(this.target).then(() => true, () => false)) {
          throw new UsageError(`\`--out\` ${quote(this.target)} appeared while decrypting: pass --force to replace it`);
        }
        await fs.rename(this.tmp, this.target);
      }
    }
    await fs.rm(this.tmp, { force: true });
    live.delete(this.tmp);
  }

  /** Closes and removes the temp file. */
  public async discard(): Promise<void> {
    await this.close().catch(() => undefined);
    await fs.rm(this.tmp, { force: true }).catch(() => undefined);
    live.delete(this.tmp);
  }

  private async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.handle.close();
  }
}

/** Collects plaintext in memory up to `max` bytes; `wipe` zeroes it. Used for stdout, so no temp file exists at all. */
export class MemorySink extends Writable {
  private readonly parts: Buffer[] = [];
  private size = 0;

  constructor(private readonly max: number) {
    super();
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, done: (error?: Error | null) => void): void {
    this.size += chunk.length;
    // The chunk is the decipher's own output buffer: kept as is, so `wipe` zeroes the only copy.
    this.parts.push(chunk);
    if (this.size > this.max) {
      done(new UsageError(`the plaintext is larger than ${this.max} bytes, the most decrypt holds for stdout: pass --out FILE`));
      return;
    }
    done();
  }

  public chunks(): readonly Buffer[] {
    return this.parts;
  }

  public wipe(): void {
    for (const p of this.parts) p.fill(0);
    this.parts.length = 0;
  }
}
