// Shared by the benchmark runner and its child processes: result passing, child spawning and statistics.
import { spawnSync } from 'node:child_process';
import * as os from 'node:os';
import * as path from 'node:path';

const RESULT_PREFIX = 'BENCH_RESULT ';

/** Directory of the compiled benchmark scripts (the runner and its workers sit side by side). */
export const BUILD_DIR = __dirname;
/** The repository root. */
export const ROOT = path.resolve(__dirname, '..', '..');

/**
 * The envelope handler bundles the benchmarks measure: rebuilt by `buildHandlerBundles()` into the build directory
 * with the project's own bundle commands, so that nothing rebuilding `assets/` meanwhile changes what is measured.
 */
export const BENCH_ASSETS = path.join(BUILD_DIR, 'assets');
export const HANDLER = path.join(BENCH_ASSETS, 'envelope', 'runtime', 'envelope.lambda', 'index.js');
export const HANDLER_SDK = path.join(BENCH_ASSETS, 'envelope', 'runtime', 'envelope-sdk.lambda', 'index.js');

/** A child process reports its measurement as one prefixed JSON line on stdout. */
export function emitResult(result: object): void {
  process.stdout.write(`${RESULT_PREFIX}${JSON.stringify(result)}\n`);
}

/** Runs a compiled worker in a fresh `node` and returns what it reported. */
export function runWorker<T>(script: string, args: string[], nodeFlags: string[] = [], env: NodeJS.ProcessEnv = {}): T {
  const res = spawnSync(process.execPath, [...nodeFlags, path.join(BUILD_DIR, script), ...args], {
    cwd: ROOT,
    encoding: 'utf8',
    maxBuffer: 64 * 1024 * 1024,
    env: { ...process.env, ...env },
  });
  const line = res.stdout?.split('\n').find((l) => l.startsWith(RESULT_PREFIX));
  if (res.status !== 0 || !line) {
    const tail = `${res.stderr ?? ''}${res.error ? String(res.error) : ''}`.trim().split('\n').slice(-5).join(' | ');
    throw new Error(`${script} ${args.join(' ')} failed (exit ${res.status}): ${tail}`);
  }
  return JSON.parse(line.slice(RESULT_PREFIX.length)) as T;
}

export function median(xs: number[]): number {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

export function min(xs: number[]): number {
  return xs.reduce((a, b) => Math.min(a, b), Infinity);
}

/** Median of per-pair ratios: each pair ran back to back, so machine load mostly cancels out. */
export function pairedRatio(ours: number[], base: number[]): number {
  return median(ours.map((o, i) => o / base[i]));
}

/** Least-squares slope and intercept of y over x, and R² (how straight the line is). */
export function linearFit(x: number[], y: number[]): { slope: number; intercept: number; r2: number } {
  const n = x.length;
  const mx = x.reduce((a, b) => a + b, 0) / n;
  const my = y.reduce((a, b) => a + b, 0) / n;
  let sxy = 0;
  let sxx = 0;
  let syy = 0;
  for (let i = 0; i < n; i++) {
    sxy += (x[i] - mx) * (y[i] - my);
    sxx += (x[i] - mx) ** 2;
    syy += (y[i] - my) ** 2;
  }
  const slope = sxx === 0 ? 0 : sxy / sxx;
  return { slope, intercept: my - slope * mx, r2: syy === 0 ? 1 : (sxy * sxy) / (sxx * syy) };
}

/** The machine the figures were measured on, and how busy it was. */
export function machine(): Record<string, unknown> {
  const cpus = os.cpus();
  return {
    cpu: cpus[0]?.model ?? 'unknown',
    cores: cpus.length,
    node: process.version,
    platform: `${os.platform()} ${os.release()} ${os.arch()}`,
    totalMemoryMiB: Math.round(os.totalmem() / 2 ** 20),
    loadAverage: os.loadavg().map((l) => Math.round(l * 100) / 100),
  };
}

export const MiB = 2 ** 20;

export function fmt(n: number, digits = 1): string {
  if (!Number.isFinite(n)) return 'n/a';
  return n.toFixed(digits);
}
