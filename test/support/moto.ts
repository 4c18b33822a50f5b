// Starts a local emulator (moto_server, local-kms, LocalStack's KMS) on a free loopback port for a test file, and stops it.
import { ChildProcess, spawn, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createServer } from 'node:net';
import * as path from 'node:path';

export const REPO_ROOT = path.join(__dirname, '..', '..');

/** Credentials and region the emulators accept; nothing here can reach AWS. */
export const LOCAL_AWS = {
  region: 'eu-west-1',
  credentials: { accessKeyId: 'testing', secretAccessKey: 'testing' },
};

/** A running emulator. */
export interface Emulator {
  readonly endpoint: string;
  stop(): Promise<void>;
}

/** A free TCP port on 127.0.0.1. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const port = (srv.address() as { port: number }).port;
      srv.close(() => resolve(port));
    });
  });
}

/** How long stop() waits after SIGTERM before SIGKILL. */
const STOP_GRACE_MS = 10_000;

/** Spawns `command` and waits until `url` answers (any HTTP status). stop() ends it: SIGTERM, then SIGKILL. */
export async function startEmulator(command: string, args: string[], port: number, env: NodeJS.ProcessEnv = {}): Promise<Emulator> {
  const child: ChildProcess = spawn(command, args, { stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env, ...env } });
  let stderr = '';
  child.stderr?.on('data', (d: Buffer) => {
    stderr = (stderr + d.toString()).slice(-4000);
  });
  const endpoint = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 60_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`${path.basename(command)} exited with ${child.exitCode}: ${stderr}`);
    try {
      await fetch(endpoint, { method: 'GET' });
      return {
        endpoint,
        stop: () =>
          new Promise<void>((resolve) => {
            if (child.exitCode !== null || child.signalCode !== null) return resolve();
            const kill = setTimeout(() => child.kill('SIGKILL'), STOP_GRACE_MS);
            child.once('exit', () => {
              clearTimeout(kill);
              resolve();
            });
            child.kill('SIGTERM');
          }),
      };
    } catch {
      await new Promise((r) => setTimeout(r, 200));
    }
  }
  child.kill('SIGKILL');
  throw new Error(`${path.basename(command)} did not answer on ${endpoint} within 60 s: ${stderr}`);
}

/** moto_server from the project's virtualenv (created by scripts/python-env.sh when missing). */
export async function startMoto(): Promise<Emulator> {
  const bin = path.join(REPO_ROOT, '.venv', 'bin', 'moto_server');
  if (!existsSync(bin)) {
    const r = spawnSync('bash', [path.join(REPO_ROOT, 'scripts', 'python-env.sh')], { stdio: 'inherit' });
    if (r.status !== 0) throw new Error('scripts/python-env.sh failed: cannot start moto_server');
  }
  const port = await freePort();
  return startEmulator(bin, ['-H', '127.0.0.1', '-p', String(port)], port);
}
