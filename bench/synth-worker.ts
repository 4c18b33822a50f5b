// Child process of the synth benchmark: builds and synthesizes one app, then reports time, peak heap and template size.
// Usage: node --expose-gc synth-worker.js <cmek|plain> <n> <on|off> [--template=<copy path>] [--cpu-profile=<path>]
import * as fs from 'node:fs';
import * as inspector from 'node:inspector';
import * as os from 'node:os';
import * as path from 'node:path';
import * as v8 from 'node:v8';
import { emitResult } from './support';
import { AppKind, buildApp } from './synth-apps';

/** Small enough to be quick, large enough to load every module and warm the JIT on the same code paths. */
const WARMUP_PAIRS = 5;

function synthOnce(kind: AppKind, n: number) {
  const outdir = fs.mkdtempSync(path.join(os.tmpdir(), 'cdk-cmek-bench-'));
  try {
    const t0 = performance.now();
    const app = buildApp(kind, n, outdir);
    const t1 = performance.now();
    const assembly = app.synth();
    const t2 = performance.now();
    const artifact = assembly.getStackArtifact('Bench');
    const templatePath = path.join(assembly.directory, artifact.templateFile);
    const template = artifact.template as { Resources?: Record<string, unknown> };
    return {
      constructMs: t1 - t0,
      synthMs: t2 - t1,
      totalMs: t2 - t0,
      templateBytes: fs.statSync(templatePath).size,
      resources: Object.keys(template.Resources ?? {}).length,
      templateText: fs.readFileSync(templatePath, 'utf8'),
    };
  } finally {
    fs.rmSync(outdir, { recursive: true, force: true });
  }
}

/** Runs `f` under the V8 sampling profiler and writes the profile: only the measured synth, not start-up or warm-up. */
function profiled<T>(file: string | undefined, f: () => T): T {
  if (!file) return f();
  const session = new inspector.Session();
  session.connect();
  // A same-thread session answers synchronously, so the profiler is running before `f` starts.
  session.post('Profiler.enable');
  session.post('Profiler.setSamplingInterval', { interval: 200 });
  session.post('Profiler.start');
  try {
    return f();
  } finally {
    session.post('Profiler.stop', (err, res) => {
      if (!err) fs.writeFileSync(file, JSON.stringify(res.profile));
    });
    session.disconnect();
  }
}

function main(): void {
  const [kind, nArg, validation, ...flags] = process.argv.slice(2);
  const flag = (name: string) => flags.find((f) => f.startsWith(`--${name}=`))?.slice(name.length + 3);
  const copyTo = flag('template');
  if (kind !== 'cmek' && kind !== 'plain') throw new Error(`kind must be cmek or plain, got: ${kind}`);
  const n = Number(nArg);
  // aws-cdk-lib reads this at each synth.
  process.env.CDK_VALIDATION = validation === 'off' ? 'false' : 'true';
  const gc = (globalThis as { gc?: () => void }).gc;
  if (!gc) throw new Error('run with node --expose-gc');

  synthOnce(kind, WARMUP_PAIRS);
  gc();
  const baselineHeap = v8.getHeapStatistics().used_heap_size;
  // The heap only grows between collections, so its peak is either just before one of them or at the end.
  const profiler = new v8.GCProfiler();
  profiler.start();
  const cpu0 = process.cpuUsage();
  const r = profiled(flag('cpu-profile'), () => synthOnce(kind, n));
  const cpu = process.cpuUsage(cpu0);
  const endHeap = v8.getHeapStatistics().used_heap_size;
  const gcs = profiler.stop().statistics;
  const peakHeap = Math.max(endHeap, ...gcs.map((s) => s.beforeGC.heapStatistics.usedHeapSize));
  if (copyTo) fs.writeFileSync(copyTo, r.templateText);
  emitResult({
    kind,
    n,
    validation,
    constructMs: r.constructMs,
    synthMs: r.synthMs,
    totalMs: r.totalMs,
    // CPU time well below wall time means the process waited for a core: the machine was busy.
    cpuMs: (cpu.user + cpu.system) / 1000,
    templateBytes: r.templateBytes,
    resources: r.resources,
    baselineHeapBytes: baselineHeap,
    peakHeapBytes: peakHeap,
    gcCount: gcs.length,
    maxRssBytes: process.resourceUsage().maxRSS * 1024,
  });
}

main();
