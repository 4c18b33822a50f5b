// Installs (scripts/localstack-kms.sh) and runs LocalStack on the host for CloudFormation deploys: loopback only, no Docker, Lambda functions created but never run.
import { spawnSync } from 'node:child_process';
import { connect } from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { localStackHost, startWithDataDir } from '../../test/support/localstack';
import { Emulator, freePort, REPO_ROOT, startEmulator } from '../../test/support/moto';

/** Every service the example and integ apps create resources in, plus what the CDK CLI and bootstrap use. */
export const SERVICES = [
  'cloudformation', 'sts', 'iam', 'ssm', 's3', 'kms', 'sns', 'events', 'cloudwatch', 'logs', 'lambda', 'cloudtrail', 'secretsmanager',
];

/** Installs LocalStack into .tools/localstack-venv (cached, idempotent, safe in parallel) and returns its python. */
export function installLocalStack(): string {
  const r = spawnSync('bash', [path.join(REPO_ROOT, 'scripts', 'localstack-kms.sh')], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] });
  if (r.status !== 0) throw new Error(`scripts/localstack-kms.sh failed (exit ${r.status}): cannot install LocalStack`);
  return r.stdout.trim();
}

/**
 * Starts LocalStack's runtime through scripts/deploy/localstack-launcher.py, bound to 127.0.0.1 only (the default
 * gateway server ignores the host part of GATEWAY_LISTEN, hypercorn honours it), in host mode under a throw-away
 * FILESYSTEM_ROOT, with no DNS server, no analytics and no certificate download. Resolves once CloudFormation is up.
 */
export async function startLocalStack(python: string): Promise<Emulator> {
  const port = await freePort();
  const { root, env } = localStackHost(python, port, SERVICES, false);
  const launcher = path.join(REPO_ROOT, 'scripts', 'deploy', 'localstack-launcher.py');
  return startWithDataDir(root, async () => {
    const emulator = await startEmulator(python, [launcher], port, env);
    try {
      await waitForHealth(emulator.endpoint);
    } catch (err) {
      await emulator.stop();
      throw err;
    }
    return emulator;
  });
}

/** Waits until LocalStack reports CloudFormation available or running. */
async function waitForHealth(endpoint: string): Promise<void> {
  const deadline = Date.now() + 120_000;
  let last = '';
  while (Date.now() < deadline) {
    try {
      const health = (await (await fetch(`${endpoint}/_localstack/health`)).json()) as { services?: Record<string, string> };
      last = JSON.stringify(health.services ?? {});
      if (['available', 'running'].includes(health.services?.cloudformation ?? '')) return;
    } catch (e) {
      last = (e as Error).message;
    }
    await new Promise((r) => setTimeout(r, 500));
  }
  throw new Error(`LocalStack at ${endpoint} did not report CloudFormation available within 120 s: ${last}`);
}

/**
 * Fails when the server at `endpoint` also answers on this machine's other addresses: LocalStack's default gateway
 * would listen on every interface whatever GATEWAY_LISTEN names.
 */
export async function assertLoopbackOnly(endpoint: string): Promise<void> {
  const port = Number(new URL(endpoint).port);
  const others = Object.values(os.networkInterfaces())
    .flat()
    .filter((a) => a && !a.internal && a.family === 'IPv4')
    .map((a) => a!.address);
  for (const address of others) {
    const reachable = await new Promise<boolean>((resolve) => {
      const socket = connect({ host: address, port, timeout: 2000 });
      socket.once('connect', () => (socket.destroy(), resolve(true)));
      socket.once('error', () => resolve(false));
      socket.once('timeout', () => (socket.destroy(), resolve(false)));
    });
    if (reachable) throw new Error(`LocalStack answers on ${address}:${port}: it must listen on 127.0.0.1 only (GATEWAY_SERVER=hypercorn)`);
  }
}
