// `npm run bench`: runs every benchmark (each measurement in its own child process, ours and baseline interleaved)
// and writes bench/results/latest.json, bench/RESULTS.md and bench/synth-time.svg.
// Flags: --quick (fewer repetitions and sizes, to try the harness), --only=bundles,synth,fleet,profile,envelope,footprint,calls,audit
// (a part that needs bundles needs `bundles` too; the parts not run keep their figures from the previous
// results/latest.json, each part with the time it was measured), --render (rewrite RESULTS.md and the chart from
// results/latest.json).
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as zlib from 'node:zlib';
import { buildSync } from 'esbuild';
import { summarizeProfile } from './profile';
import { BenchDocument, renderResults, renderSynthChart } from './report';
import { BENCH_ASSETS, HANDLER, HANDLER_SDK, linearFit, machine, median, MiB, pairedRatio, ROOT, runWorker } from './support';
import type { SynthRow, SynthSample } from './types';

const args = process.argv.slice(2);
const QUICK = args.includes('--quick');
const ONLY = args.find((a) => a.startsWith('--only='))?.slice('--only='.length).split(',');
const enabled = (part: string) => !ONLY || ONLY.includes(part);

const loadSamples: number[] = [];
function sampleLoad(): void {
  loadSamples.push(os.loadavg()[0]);
}

function log(message: string): void {
  process.stderr.write(`[bench ${new Date().toISOString().slice(11, 19)}] ${message}\n`);
}

// ---------------------------------------------------------------------------------------------- synth

const SYNTH_NS = QUICK ? [1, 50] : [1, 50, 125, 500];
/**
 * Repetitions per cell (N × validation): at least MIN pairs, more while the cell's share of the time budget lasts.
 * A pair's ratio scatters by ±15% on a busy 2-core machine, so the median of 9 pairs still moves by ±0.05 from run to
 * run: the validation-off cells, whose goal is the tighter one, take up to 21 pairs.
 */
const SYNTH_MIN_PAIRS = QUICK ? 1 : 2;
const SYNTH_MAX_PAIRS = QUICK ? 2 : 21;
/** The synth part's share of the time `npm run bench` takes; the other parts are measured separately with `--only`. */
const SYNTH_BUDGET_MS = (QUICK ? 3 : 14) * 60_000;
/** A validation-off cell's share of the budget against a validation-on cell's. */
const SYNTH_OFF_WEIGHT = 2;

function sameResources(a: string, b: string): boolean {
  const strip = (t: string) => {
    const r = (JSON.parse(t) as { Resources: Record<string, Record<string, unknown>> }).Resources;
    return JSON.stringify(Object.fromEntries(Object.entries(r).map(([k, v]) => [k, { ...v, Metadata: undefined }])));
  };
  return strip(a) === strip(b);
}

function runSynth(tmp: string) {
  const samples: SynthSample[] = [];
  let templatesIdentical: boolean | undefined;
  const cells = (['off', 'on'] as const).flatMap((validation) => SYNTH_NS.map((n) => ({ validation, n })));
  const deadline = Date.now() + SYNTH_BUDGET_MS;
  const weight = (validation: 'off' | 'on') => (validation === 'off' ? SYNTH_OFF_WEIGHT : 1);
  cells.forEach(({ validation, n }, i) => {
    // Each remaining cell gets its weighted share of what is left: cheap cells finish early and leave time to the big ones.
    const cellStart = Date.now();
    const remainingWeight = cells.slice(i).reduce((sum, c) => sum + weight(c.validation), 0);
    const share = ((deadline - cellStart) * weight(validation)) / remainingWeight;
    let lastPairMs = 0;
    for (let r = 0; r < SYNTH_MAX_PAIRS; r++) {
      if (r >= SYNTH_MIN_PAIRS && Date.now() - cellStart + lastPairMs > share) break;
      const pairStart = Date.now();
      // Ours and the baseline back to back, alternating who goes first.
      const order = r % 2 === 0 ? (['cmek', 'plain'] as const) : (['plain', 'cmek'] as const);
      const copy = r === 0 && n === 50 && validation === 'off';
      for (const kind of order) {
        sampleLoad();
        const extra = copy ? [`--template=${path.join(tmp, `${kind}.template.json`)}`] : [];
        samples.push(runWorker<SynthSample>('synth-worker.js', [kind, String(n), validation, ...extra], ['--expose-gc']));
      }
      if (copy) {
        templatesIdentical = sameResources(
          fs.readFileSync(path.join(tmp, 'cmek.template.json'), 'utf8'),
          fs.readFileSync(path.join(tmp, 'plain.template.json'), 'utf8'),
        );
      }
      lastPairMs = Date.now() - pairStart;
    }
    log(`synth N=${n} validation ${validation}: ${samples.filter((x) => x.n === n && x.validation === validation).length / 2} pairs`);
  });

  const rows: SynthRow[] = [];
  for (const validation of ['off', 'on'] as const) {
    for (const n of SYNTH_NS) {
      const of = (kind: string) => samples.filter((s) => s.kind === kind && s.n === n && s.validation === validation);
      const c = of('cmek');
      const p = of('plain');
      const pick = (xs: SynthSample[], f: (s: SynthSample) => number) => xs.map(f);
      rows.push({
        n,
        validation,
        reps: c.length,
        cmekMs: median(pick(c, (s) => s.totalMs)),
        plainMs: median(pick(p, (s) => s.totalMs)),
        timeRatio: pairedRatio(pick(c, (s) => s.totalMs), pick(p, (s) => s.totalMs)),
        cmekCpuMs: median(pick(c, (s) => s.cpuMs)),
        plainCpuMs: median(pick(p, (s) => s.cpuMs)),
        cpuRatio: pairedRatio(pick(c, (s) => s.cpuMs), pick(p, (s) => s.cpuMs)),
        cmekPeakHeapMiB: median(pick(c, (s) => s.peakHeapBytes)) / MiB,
        plainPeakHeapMiB: median(pick(p, (s) => s.peakHeapBytes)) / MiB,
        heapRatio: pairedRatio(pick(c, (s) => s.peakHeapBytes), pick(p, (s) => s.peakHeapBytes)),
        cmekPeakRssMiB: median(pick(c, (s) => s.maxRssBytes)) / MiB,
        plainPeakRssMiB: median(pick(p, (s) => s.maxRssBytes)) / MiB,
        templateBytesPerKey: c[0].templateBytes / n,
        plainTemplateBytesPerKey: p[0].templateBytes / n,
        resourcesPerKey: c[0].resources / n,
        plainResourcesPerKey: p[0].resources / n,
        cpuShare: median([...c, ...p].map((s) => s.cpuMs / s.totalMs)),
      });
    }
  }

  const growth: Record<string, unknown> = {};
  for (const validation of ['off', 'on'] as const) {
    const rs = rows.filter((r) => r.validation === validation);
    const ns = rs.map((r) => r.n);
    growth[validation] = {
      cmekTime: linearFit(ns, rs.map((r) => r.cmekMs)),
      plainTime: linearFit(ns, rs.map((r) => r.plainMs)),
      cmekCpu: linearFit(ns, rs.map((r) => r.cmekCpuMs)),
      plainCpu: linearFit(ns, rs.map((r) => r.plainCpuMs)),
      cmekHeap: linearFit(ns, rs.map((r) => r.cmekPeakHeapMiB)),
      plainHeap: linearFit(ns, rs.map((r) => r.plainPeakHeapMiB)),
    };
  }
  return { ns: SYNTH_NS, rows, growth, templatesIdentical, samples };
}

/** Profiles of the measured synth, several runs per app interleaved and averaged: one run is noisier than the difference. */
function profileSynth(tmp: string) {
  const n = QUICK ? 50 : 125;
  const runs = QUICK ? 1 : 3;
  const files: Record<string, string[]> = { cmek: [], plain: [] };
  for (let r = 0; r < runs; r++) {
    for (const kind of r % 2 ? ['plain', 'cmek'] : ['cmek', 'plain']) {
      const file = path.join(tmp, `${kind}-${r}.cpuprofile`);
      runWorker('synth-worker.js', [kind, String(n), 'off', `--cpu-profile=${file}`], ['--expose-gc']);
      files[kind].push(file);
    }
  }
  const out: Record<string, unknown> = { n, validation: 'off', runs };
  for (const kind of ['cmek', 'plain']) out[kind] = summarizeProfile(files[kind], 'synth-worker.js', 60);
  // What the CMEK app spends more time on than the plain one, by self time.
  const c = out.cmek as ReturnType<typeof summarizeProfile>;
  const p = out.plain as ReturnType<typeof summarizeProfile>;
  const plainSelf = new Map(p.self.map((f) => [`${f.name}@${f.file}`, f.ms]));
  out.extraSelf = c.self
    .map((f) => ({ ...f, ms: f.ms - (plainSelf.get(`${f.name}@${f.file}`) ?? 0) }))
    .filter((f) => f.ms > 0)
    .sort((a, b) => b.ms - a.ms)
    .slice(0, 8);
  out.cmek = { ...c, self: c.self.slice(0, 10), own: c.own.filter((f) => !['main', 'synthOnce', '(anonymous)'].includes(f.name)).slice(0, 12) };
  out.plain = { ...p, self: p.self.slice(0, 10), own: [] };
  return out;
}

// ---------------------------------------------------------------------------------------------- fleet

interface FleetSample {
  kind: 'fleet' | 'cmek' | 'plain';
  n: number;
  validation: 'on' | 'off';
  constructMs: number;
  synthMs: number;
  totalMs: number;
  cpuMs: number;
  templates: number;
  templateBytes: number;
  resources: number;
  keys: number;
}

const FLEET_TENANTS = QUICK ? 100 : 1000;

/** N tenants in a CmekKeyFleet, N CmekKeys in one stack and N plain kms.Keys in one stack, interleaved. */
function runFleet() {
  const reps = QUICK ? 1 : 3;
  const kinds = ['fleet', 'cmek', 'plain'] as const;
  const samples: FleetSample[] = [];
  for (const validation of ['off', 'on'] as const) {
    for (let r = 0; r < reps; r++) {
      // Rotate the order each repetition so no app always runs after the same neighbour.
      const rotated = [...kinds.slice(r % kinds.length), ...kinds.slice(0, r % kinds.length)];
      for (const kind of rotated) {
        sampleLoad();
        samples.push(runWorker<FleetSample>('fleet-worker.js', [kind, String(FLEET_TENANTS), validation], ['--expose-gc']));
      }
    }
    log(`fleet validation ${validation}: ${reps} repetitions`);
  }
  const rows = (['off', 'on'] as const).map((validation) => {
    const of = (kind: string) => samples.filter((s) => s.kind === kind && s.validation === validation);
    const [fleet, cmek, plain] = [of('fleet'), of('cmek'), of('plain')];
    const first = (xs: FleetSample[]) => {
      const { templates, resources, keys, templateBytes } = xs[0];
      return { templates, resources, keys, templateBytes };
    };
    return {
      n: FLEET_TENANTS,
      validation,
      reps,
      fleetMs: median(fleet.map((s) => s.totalMs)),
      cmekMs: median(cmek.map((s) => s.totalMs)),
      plainMs: median(plain.map((s) => s.totalMs)),
      fleetCpuMs: median(fleet.map((s) => s.cpuMs)),
      cmekCpuMs: median(cmek.map((s) => s.cpuMs)),
      plainCpuMs: median(plain.map((s) => s.cpuMs)),
      fleetToPlainCpu: pairedRatio(fleet.map((s) => s.cpuMs), plain.map((s) => s.cpuMs)),
      cmekToPlainCpu: pairedRatio(cmek.map((s) => s.cpuMs), plain.map((s) => s.cpuMs)),
      fleetToPlainWall: pairedRatio(fleet.map((s) => s.totalMs), plain.map((s) => s.totalMs)),
      shape: { fleet: first(fleet), cmek: first(cmek), plain: first(plain) },
    };
  });
  return { tenants: FLEET_TENANTS, rows, samples };
}

// ------------------------------------------------------------------------------------------- envelope

interface EnvelopeSample {
  kind: string;
  bytes: number;
  chunk: number;
  repeats: number;
  ms: number;
  mbPerSec: number;
  cpuShare: number;
  rssBeforeBytes: number;
  maxRssBytes: number;
}

const ENVELOPE_SIZES = QUICK ? [MiB, 64 * MiB] : [MiB, 64 * MiB, 1024 * MiB];
/** The ESDK runs at tens of MB/s here: 1 GiB would take most of a minute per run. */
const ESDK_MAX_BYTES = 64 * MiB;
const CHUNK = 64 * 1024;

function runEnvelope() {
  const samples: EnvelopeSample[] = [];
  const reps = QUICK ? 1 : 3;
  const kinds = ['ours-v3', 'ours-v2', 'bare', 'sha256', 'esdk', 'esdk-nosig'];
  for (let r = 0; r < reps; r++) {
    for (const bytes of ENVELOPE_SIZES) {
      // Rotate the order each repetition so no encryptor always runs after the same neighbour.
      const rotated = [...kinds.slice(r % kinds.length), ...kinds.slice(0, r % kinds.length)];
      for (const kind of rotated) {
        if (kind.startsWith('esdk') && bytes > ESDK_MAX_BYTES) continue;
        sampleLoad();
        samples.push(runWorker<EnvelopeSample>('envelope-worker.js', [kind, String(bytes), String(CHUNK)]));
      }
    }
    log(`envelope repetition ${r + 1}/${reps}: done`);
  }
  // Chunk size: the same 64 MiB in 1 MiB pieces.
  for (let r = 0; r < reps; r++) {
    for (const kind of r % 2 ? ['bare', 'ours-v3'] : ['ours-v3', 'bare']) {
      samples.push(runWorker<EnvelopeSample>('envelope-worker.js', [kind, String(64 * MiB), String(MiB)]));
    }
  }

  const of = (kind: string, bytes: number, chunk = CHUNK) => samples.filter((s) => s.kind === kind && s.bytes === bytes && s.chunk === chunk);
  const rows = ENVELOPE_SIZES.map((bytes) => {
    const speed = (kind: string) => median(of(kind, bytes).map((s) => s.mbPerSec));
    const rss = (kind: string) => Math.max(...of(kind, bytes).map((s) => s.maxRssBytes)) / MiB;
    const ratio = (a: string, b: string) => {
      const x = of(a, bytes);
      const y = of(b, bytes);
      return x.length && y.length && x.length === y.length ? pairedRatio(x.map((s) => s.mbPerSec), y.map((s) => s.mbPerSec)) : NaN;
    };
    return {
      bytes,
      mbPerSec: Object.fromEntries(kinds.map((k) => [k, of(k, bytes).length ? speed(k) : NaN])),
      peakRssMiB: Object.fromEntries(kinds.map((k) => [k, of(k, bytes).length ? rss(k) : NaN])),
      v3ToBare: ratio('ours-v3', 'bare'),
      v2ToBare: ratio('ours-v2', 'bare'),
      v3ToEsdk: ratio('ours-v3', 'esdk'),
      v3ToEsdkNoSig: ratio('ours-v3', 'esdk-nosig'),
      cpuShare: median(samples.filter((s) => s.bytes === bytes).map((s) => s.cpuShare)),
    };
  });
  const chunkRows = ['ours-v3', 'bare'].map((kind) => ({
    kind,
    chunk64KiB: median(of(kind, 64 * MiB).map((s) => s.mbPerSec)),
    chunk1MiB: median(of(kind, 64 * MiB, MiB).map((s) => s.mbPerSec)),
  }));
  return { chunkBytes: CHUNK, esdkMaxBytes: ESDK_MAX_BYTES, rows, chunkRows, samples, endToEnd: runEnvelopeEndToEnd() };
}

interface EndToEndSample {
  bytes: number;
  createMs: number;
  peakRssBytes: number;
  downloadMs: number;
  encryptHashMs: number;
  bareGcmMs: number;
  sha256Ms: number;
  uploadMs: number;
}

/** The handler's create path on moto (asset in, object out), 64 MiB and 1 GiB, each in a fresh process and moto. */
function runEnvelopeEndToEnd() {
  if (!fs.existsSync(HANDLER) || !fs.existsSync(HANDLER_SDK)) buildHandlerBundles();
  const sizes = QUICK ? [64 * MiB] : [64 * MiB, 1024 * MiB];
  const samples: EndToEndSample[] = [];
  try {
    for (const bytes of sizes) {
      sampleLoad();
      samples.push(runWorker<EndToEndSample>('envelope-e2e-worker.js', [String(bytes)]));
      log(`envelope end to end ${bytes / MiB} MiB: done`);
    }
  } catch (e) {
    return { skipped: `moto_server run failed: ${(e as Error).message.slice(0, 300)}`, samples };
  }
  const mbs = (bytes: number, ms: number) => bytes / MiB / (ms / 1000);
  return {
    rows: samples.map((s) => ({
      bytes: s.bytes,
      createMbPerSec: mbs(s.bytes, s.createMs),
      peakRssMiB: s.peakRssBytes / MiB,
      createMs: s.createMs,
      downloadMs: s.downloadMs,
      encryptHashMs: s.encryptHashMs,
      bareGcmMs: s.bareGcmMs,
      sha256Ms: s.sha256Ms,
      uploadMs: s.uploadMs,
    })),
    samples,
  };
}

// ------------------------------------------------------------------------------------------ footprint

interface ProjenTask {
  steps?: { execArgs?: string[] }[];
}

/** Rebuilds the envelope handler bundles into BENCH_ASSETS with the commands of the project's `bundle:envelope/*` tasks. */
function buildHandlerBundles(): string[] {
  const tasks = (JSON.parse(fs.readFileSync(path.join(ROOT, '.projen', 'tasks.json'), 'utf8')) as { tasks: Record<string, ProjenTask> }).tasks;
  const built: string[] = [];
  for (const [name, task] of Object.entries(tasks)) {
    if (!/^bundle:envelope\/[^:]+$/.test(name)) continue;
    for (const step of task.steps ?? []) {
      if (!step.execArgs) continue;
      const [cmd, ...rest] = step.execArgs.map((a) => a.replace(/^--outfile=assets\//, `--outfile=${BENCH_ASSETS}/`));
      const r = spawnSync(path.join(ROOT, 'node_modules', '.bin', cmd), rest, { cwd: ROOT, encoding: 'utf8' });
      if (r.status !== 0) throw new Error(`${name} failed: ${(r.stderr ?? '').trim().split('\n').slice(-3).join(' | ')}`);
      built.push(name);
    }
  }
  return built;
}
const SDK_ENTRY = path.join('src', 'envelope', 'runtime', 'envelope-sdk.lambda.ts');
const AWS_CUSTOM_RESOURCE = path.join(
  ROOT, 'node_modules', 'aws-cdk-lib', 'custom-resource-handlers', 'dist', 'custom-resources', 'aws-custom-resource-handler', 'index.js',
);

/** Bytes each npm package contributes to a minified bundle of `entry` (esbuild's metafile), largest first. */
function bundleBreakdown(entry: string, top = 10): { pkg: string; bytes: number }[] {
  const r = buildSync({
    entryPoints: [entry], bundle: true, platform: 'node', target: 'node22', minify: true, write: false, metafile: true, outfile: 'out.js', logLevel: 'silent',
  });
  const byPkg = new Map<string, number>();
  for (const output of Object.values(r.metafile!.outputs)) {
    for (const [file, input] of Object.entries(output.inputs)) {
      const pkg = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(file)?.[1] ?? file;
      byPkg.set(pkg, (byPkg.get(pkg) ?? 0) + input.bytesInOutput);
    }
  }
  return [...byPkg.entries()].map(([pkg, bytes]) => ({ pkg, bytes })).sort((a, b) => b.bytes - a.bytes).slice(0, top);
}

function runFootprint() {
  for (const f of [HANDLER, HANDLER_SDK, AWS_CUSTOM_RESOURCE]) {
    if (!fs.existsSync(f)) return { skipped: `${path.relative(ROOT, f)} is missing: the project has no envelope handler bundle task` };
  }
  const size = (f: string) => {
    const raw = fs.readFileSync(f);
    return { bytes: raw.length, gzipBytes: zlib.gzipSync(raw, { level: 9 }).length };
  };
  const samples = QUICK ? 5 : 20;
  const handlerOnly: number[] = [];
  const withSdk: number[] = [];
  const acr: number[] = [];
  const acrWithSdk: number[] = [];
  const runtimeSdk = require.resolve('@aws-sdk/client-kms', { paths: [ROOT] });
  for (let i = 0; i < samples; i++) {
    // A fresh node per sample: nothing cached, as in a Lambda cold start.
    sampleLoad();
    handlerOnly.push(runWorker<{ times: number[] }>('require-worker.js', [HANDLER]).times[0]);
    const t = runWorker<{ times: number[] }>('require-worker.js', [HANDLER, HANDLER_SDK]).times;
    withSdk.push(t[0] + t[1]);
    acr.push(runWorker<{ times: number[] }>('require-worker.js', [AWS_CUSTOM_RESOURCE]).times[0]);
    const a = runWorker<{ times: number[] }>('require-worker.js', [AWS_CUSTOM_RESOURCE, runtimeSdk]).times;
    acrWithSdk.push(a[0] + a[1]);
  }
  return {
    samples,
    handler: { ...size(HANDLER), coldRequireMs: median(handlerOnly) },
    handlerSdk: { ...size(HANDLER_SDK) },
    sdkBreakdown: fs.existsSync(path.join(ROOT, SDK_ENTRY)) ? bundleBreakdown(path.join(ROOT, SDK_ENTRY)) : [],
    handlerWithSdk: { bytes: size(HANDLER).bytes + size(HANDLER_SDK).bytes, coldRequireMs: median(withSdk) },
    awsCustomResource: { ...size(AWS_CUSTOM_RESOURCE), coldRequireMs: median(acr) },
    awsCustomResourceWithSdk: { bytes: NaN, coldRequireMs: median(acrWithSdk) },
  };
}

// ------------------------------------------------------------------------------------- calls & audit

function runCalls() {
  if (!fs.existsSync(HANDLER) || !fs.existsSync(HANDLER_SDK)) return { skipped: 'the envelope handler bundle is missing' };
  try {
    return runWorker<{ results: Record<string, unknown> }>('calls-worker.js', []);
  } catch (e) {
    return { skipped: `moto_server run failed: ${(e as Error).message.slice(0, 300)}` };
  }
}

function runAudit() {
  const keys = 1000;
  const reps = QUICK ? 1 : 3;
  const runs = Array.from({ length: reps }, () => runWorker<Record<string, number>>('audit-worker.js', [String(keys)]));
  // A whole organization: 10 accounts × 4 Regions × 250 keys, one rate limit per account+Region, all at once.
  const orgRuns = Array.from({ length: reps }, () => runWorker<Record<string, number>>('audit-org-worker.js', ['10', '4', '250']));
  const organization = { ...orgRuns[0], wallMs: median(orgRuns.map((r) => r.wallMs)) };
  return { ...runs[0], wallMs: median(runs.map((r) => r.wallMs)), reps, organization };
}

// ------------------------------------------------------------------------------------------------ main

/** Re-renders RESULTS.md and the chart from results/latest.json, without measuring anything. */
function render(): void {
  const doc = JSON.parse(fs.readFileSync(path.join(ROOT, 'bench', 'results', 'latest.json'), 'utf8')) as BenchDocument;
  fs.writeFileSync(path.join(ROOT, 'bench', 'RESULTS.md'), renderResults(doc));
  if (doc.results.synth) fs.writeFileSync(path.join(ROOT, 'bench', 'synth-time.svg'), renderSynthChart(doc.results.synth as never));
}

function main(): void {
  if (args.includes('--render')) return render();
  const started = Date.now();
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'cdk-cmek-bench-run-'));
  const before = machine();
  log(`machine: ${before.cpu} × ${before.cores}, node ${before.node}, load ${(before.loadAverage as number[]).join(' ')}`);
  const results: Record<string, unknown> = {};
  const timings: Record<string, number> = {};
  const timed = (name: string, f: () => unknown) => {
    if (!enabled(name)) return;
    const t0 = Date.now();
    log(`${name}: start`);
    try {
      results[name] = f();
    } catch (e) {
      // One part failing (a missing handler, a changed module) must not lose the others' figures.
      results[name] = { skipped: (e as Error).message.split('\n')[0].slice(0, 400) };
      log(`${name}: skipped: ${(results[name] as { skipped: string }).skipped}`);
    }
    timings[name] = (Date.now() - t0) / 1000;
    log(`${name}: ${timings[name].toFixed(0)} s`);
  };
  try {
    fs.rmSync(BENCH_ASSETS, { recursive: true, force: true });
    timed('bundles', () => buildHandlerBundles());
    timed('synth', () => runSynth(tmp));
    timed('fleet', () => runFleet());
    timed('profile', () => profileSynth(tmp));
    timed('envelope', () => runEnvelope());
    timed('footprint', () => runFootprint());
    timed('calls', () => runCalls());
    timed('audit', () => runAudit());
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
  const durationSeconds = (Date.now() - started) / 1000;
  const sorted = [...loadSamples].sort((a, b) => a - b);
  const load = {
    samples: loadSamples.length,
    min: sorted[0] ?? NaN,
    median: median(loadSamples),
    max: sorted[sorted.length - 1] ?? NaN,
  };
  const outDir = path.join(ROOT, 'bench', 'results');
  const generatedAt = new Date().toISOString();
  const thisRun = { measuredAt: generatedAt, quick: QUICK, load };
  // With --only, the parts not run keep their figures from the previous run, and say when they were measured.
  const previous = ONLY && fs.existsSync(path.join(outDir, 'latest.json'))
    ? (JSON.parse(fs.readFileSync(path.join(outDir, 'latest.json'), 'utf8')) as BenchDocument)
    : undefined;
  const previousParts = previous
    ? Object.fromEntries(Object.keys(previous.results).map((k) => [
      k,
      previous.parts?.[k] ?? { measuredAt: previous.generatedAt, quick: previous.quick, load: previous.load },
    ]))
    : {};
  const doc = {
    generatedAt,
    quick: QUICK,
    only: ONLY ?? null,
    durationSeconds,
    timings: { ...previous?.timings, ...timings },
    machine: { ...before, loadAverageAtEnd: os.loadavg().map((l) => Math.round(l * 100) / 100) },
    load,
    results: { ...previous?.results, ...results },
    parts: { ...previousParts, ...Object.fromEntries(Object.keys(results).map((k) => [k, thisRun])) },
  };
  fs.mkdirSync(outDir, { recursive: true });
  fs.writeFileSync(path.join(outDir, 'latest.json'), `${JSON.stringify(doc, null, 2)}\n`);
  fs.writeFileSync(path.join(ROOT, 'bench', 'RESULTS.md'), renderResults(doc as never));
  if (results.synth) fs.writeFileSync(path.join(ROOT, 'bench', 'synth-time.svg'), renderSynthChart(results.synth as never));
  log(`done in ${durationSeconds.toFixed(0)} s: bench/RESULTS.md, bench/results/latest.json, bench/synth-time.svg`);
}

main();
