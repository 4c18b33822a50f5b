// Runs LocalStack on the host (no Docker) for tests and deploys: its environment, bound to loopback only, and a throw-away data directory.
import { cpSync, existsSync, mkdtempSync, rmSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Emulator } from './moto';

/** What a LocalStack runtime on the host needs: a throw-away FILESYSTEM_ROOT and the environment naming it. */
export interface LocalStackHost {
  readonly root: string;
  readonly env: NodeJS.ProcessEnv;
}

/**
 * The environment of a LocalStack runtime in host mode (OVERRIDE_IN_DOCKER=0: its files go under a throw-away
 * FILESYSTEM_ROOT even when this machine is a container), on 127.0.0.1 only, with no DNS server, no analytics and
 * no certificate download, and the service catalog scripts/localstack-kms.sh built ahead (without it, the first
 * request builds it, ~3 s). The account of its resources is the client's access key id when that is 12 digits.
 */
export function localStackHost(python: string, port: number, services: string[], eager: boolean): LocalStackHost {
  const root = mkdtempSync(path.join(os.tmpdir(), 'localstack-'));
  const staticLibs = path.join(path.dirname(path.dirname(python)), 'fs', 'usr', 'lib', 'localstack');
  if (existsSync(staticLibs)) cpSync(staticLibs, path.join(root, 'usr', 'lib', 'localstack'), { recursive: true });
  const env = {
    OVERRIDE_IN_DOCKER: '0',
    FILESYSTEM_ROOT: root,
    CONFIG_DIR: path.join(root, 'config'),
    // Both: the default gateway server ignores the host part and listens on every interface.
    GATEWAY_LISTEN: `127.0.0.1:${port}`,
    GATEWAY_SERVER: 'hypercorn',
    SERVICES: services.join(','),
    EAGER_SERVICE_LOADING: eager ? '1' : '0',
    DNS_ADDRESS: '0',
    DISABLE_EVENTS: '1',
    SKIP_SSL_CERT_DOWNLOAD: '1',
    PERSISTENCE: '0',
    DEBUG: '0',
  };
  return { root, env };
}

/** Starts an emulator whose data directory is removed once it has stopped, or failed to start. */
export async function startWithDataDir(dir: string, start: () => Promise<Emulator>): Promise<Emulator> {
  let emulator: Emulator;
  try {
    emulator = await start();
  } catch (err) {
    rmSync(dir, { recursive: true, force: true });
    throw err;
  }
  return {
    endpoint: emulator.endpoint,
    stop: async () => {
      await emulator.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
