// Starts local-kms (installed by scripts/local-kms.sh) on a free loopback port: KMS with real key-state errors.
import { spawnSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Emulator, freePort, REPO_ROOT, startEmulator } from './moto';

/** The local-kms binary, installed on first use; undefined (with the reason) when it cannot be installed here. */
export function installLocalKms(): { bin?: string; reason?: string } {
  const r = spawnSync('bash', [path.join(REPO_ROOT, 'scripts', 'local-kms.sh')], { encoding: 'utf8', timeout: 600_000 });
  if (r.status === 0) return { bin: r.stdout.trim() };
  return { reason: (r.stderr || r.error?.message || 'unknown error').trim().split('\n').slice(-2).join(' ') };
}

/** Runs local-kms with a throw-away data directory. */
export async function startLocalKms(bin: string, account = '111122223333', region = 'eu-west-1'): Promise<Emulator> {
  const port = await freePort();
  const data = mkdtempSync(path.join(os.tmpdir(), 'local-kms-'));
  return startEmulator(bin, [], port, { PORT: String(port), KMS_DATA_PATH: data, KMS_ACCOUNT_ID: account, KMS_REGION: region });
}
