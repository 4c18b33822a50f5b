// Child process of the fleet benchmark: synthesizes one app of N tenant keys after a small warm-up, then reports times.
// Usage: node --expose-gc fleet-worker.js <fleet|cmek|plain> <n> <on|off>
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { FleetKind, synthFleetApp } from './fleet-apps';
import { emitResult } from './support';

/** Loads every module and warms the JIT on the same code paths as the measured run. */
const WARMUP_TENANTS = 5;

function once(kind: FleetKind, n: number) {
  const outdir = fs.mkdtempSync(path.join(os.tmpdir(), 'cdk-cmek-bench-fleet-'));
  try {
    return synthFleetApp(kind, n, outdir);
  } finally {
    fs.rmSync(outdir, { recursive: true, force: true });
  }
}

function main(): void {
  const [kind, nArg, validation] = process.argv.slice(2);
  if (kind !== 'fleet' && kind !== 'cmek' && kind !== 'plain') throw new Error(`kind must be fleet, cmek or plain, got: ${kind}`);
  const n = Number(nArg);
  if (!Number.isInteger(n) || n < 1) throw new Error(`n must be a positive integer, got: ${nArg}`);
  process.env.CDK_VALIDATION = validation === 'off' ? 'false' : 'true';
  once(kind, WARMUP_TENANTS);
  (globalThis as { gc?: () => void }).gc?.();
  const cpu0 = process.cpuUsage();
  const r = once(kind, n);
  const cpu = process.cpuUsage(cpu0);
  emitResult({ kind, n, validation, ...r, totalMs: r.constructMs + r.synthMs, cpuMs: (cpu.user + cpu.system) / 1000 });
}

main();
