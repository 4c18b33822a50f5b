// A KMS emulator that enforces key states (a key pending deletion or disabled fails with AWS's error), on a free
// loopback port: LocalStack's KMS provider run on the host without Docker (scripts/localstack-kms.sh), or local-kms
// (scripts/local-kms.sh) when asked for. moto does not enforce key states.
import { spawnSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { localStackHost, startWithDataDir } from './localstack';
import { Emulator, freePort, REPO_ROOT, startEmulator } from './moto';

/** A key-state-enforcing KMS emulator that could be installed here. */
export interface KeyStateKms {
  /** Which emulator, for test names and messages. */
  readonly name: string;
  /** Starts a fresh instance (no keys). */
  start(): Promise<Emulator>;
}

/**
 * Set to 1 (as CI should) to make a machine where no key-state KMS can be installed fail the key-state tests
 * instead of skipping them.
 */
export const KEY_STATE_KMS_REQUIRED = process.env.CDK_CMEK_REQUIRE_KEY_STATE_KMS === '1';

/** Runs an install script that prints a path on success. */
function install(script: string): { path?: string; reason?: string } {
  const r = spawnSync('bash', [path.join(REPO_ROOT, 'scripts', script)], { encoding: 'utf8', timeout: 600_000 });
  if (r.status === 0) return { path: r.stdout.trim() };
  return { reason: (r.stderr || r.error?.message || 'unknown error').trim().split('\n').slice(-2).join(' ') };
}

/**
 * LocalStack's KMS (installed on first use into .tools/localstack-venv), which binds to 127.0.0.1 only; undefined,
 * with the reason, when it cannot be installed here. local-kms listens on every interface (it binds `:PORT`, with no
 * way to name the address), so it runs only when asked for with `CDK_CMEK_KEY_STATE_KMS=local-kms`.
 */
export function installKeyStateKms(): { kms?: KeyStateKms; reason?: string } {
  if (process.env.CDK_CMEK_KEY_STATE_KMS === 'local-kms') {
    const localKms = install('local-kms.sh');
    if (localKms.path) return { kms: { name: 'local-kms', start: () => startLocalKms(localKms.path!) } };
    return { reason: `local-kms: ${localKms.reason}` };
  }
  const localStack = install('localstack-kms.sh');
  if (localStack.path) return { kms: { name: 'LocalStack KMS', start: () => startLocalStackKms(localStack.path!) } };
  return { reason: `LocalStack KMS: ${localStack.reason}` };
}

/** Runs local-kms with a throw-away data directory. */
export async function startLocalKms(bin: string, account = '111122223333', region = 'eu-west-1'): Promise<Emulator> {
  const port = await freePort();
  const data = mkdtempSync(path.join(os.tmpdir(), 'local-kms-'));
  const env = { PORT: String(port), KMS_DATA_PATH: data, KMS_ACCOUNT_ID: account, KMS_REGION: region };
  return startWithDataDir(data, () => startEmulator(bin, [], port, env));
}

/**
 * Runs LocalStack's runtime with only KMS, on loopback only, in host mode (see localStackHost).
 * Known gap: ReEncrypt without SourceKeyId answers InternalError (the envelope handler always passes it).
 */
export async function startLocalStackKms(python: string): Promise<Emulator> {
  const port = await freePort();
  const { root, env } = localStackHost(python, port, ['kms'], true);
  return startWithDataDir(root, () => startEmulator(python, ['-m', 'localstack.runtime.main'], port, env));
}
