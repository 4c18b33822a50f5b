// Refuses to package without the Lambda and CLI bundles, and checks that each built package carries them.
//
// Usage: check-assets.ts [--build] [ARTIFACT...]
//   --build    run `projen bundle` first when a bundle is missing or older than its sources
//   ARTIFACT   a built package (npm .tgz, wheel, sdist, jar, or a folder such as the Go module) whose embedded npm
//              package must hold every bundle byte for byte; a language README in it must not show TypeScript
//
// The expected bundles come from the `bundle` task projen writes (every `--outfile=` of the tasks it spawns) and the
// package's `bin` entries; every `src/**/*.lambda.ts` must be one of the bundle task's entry points.
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as zlib from 'node:zlib';

interface TaskStep {
  readonly spawn?: string;
  readonly exec?: string;
  readonly execArgs?: string[];
}
interface Tasks {
  readonly tasks: Record<string, { readonly steps?: TaskStep[] }>;
}

/** The bundle task's entry points and output files, read from projen's generated task list. */
export function bundleTask(tasksFile = '.projen/tasks.json'): { entries: string[]; outfiles: string[] } {
  const { tasks } = JSON.parse(fs.readFileSync(tasksFile, 'utf8')) as Tasks;
  const words: string[] = [];
  const visit = (name: string) => {
    for (const step of tasks[name]?.steps ?? []) {
      if (step.spawn) visit(step.spawn);
      words.push(...(step.execArgs ?? step.exec?.split(/\s+/) ?? []));
    }
  };
  visit('bundle');
  return {
    entries: words.filter((w) => /^src\/.*\.ts$/.test(w)),
    outfiles: words.filter((w) => w.startsWith('--outfile=')).map((w) => path.posix.normalize(w.slice('--outfile='.length))),
  };
}

/** Every bundle the packages must carry: the bundle task's outputs and the package's executables. */
export function expectedAssets(): string[] {
  const { outfiles } = bundleTask();
  const pkg = JSON.parse(fs.readFileSync('package.json', 'utf8')) as { bin?: Record<string, string> };
  const bins = Object.values(pkg.bin ?? {}).map((b) => path.posix.normalize(b));
  return [...new Set([...outfiles, ...bins])].sort();
}

function filesUnder(dir: string, keep: (f: string) => boolean): string[] {
  if (!fs.existsSync(dir)) return [];
  return fs.readdirSync(dir, { withFileTypes: true, recursive: true })
    .filter((e) => e.isFile())
    .map((e) => path.posix.join(e.parentPath.split(path.sep).join('/'), e.name))
    .filter(keep);
}

/** Handlers under `src/` that no bundle builds: their constructs would point at an asset no package has. */
function unbundledHandlers(): string[] {
  const { entries } = bundleTask();
  return filesUnder('src', (f) => f.endsWith('.lambda.ts')).filter((f) => !entries.includes(f));
}

/** True when a bundle is missing or older than a source file, the lock file or the task list that builds it. */
function stale(assets: string[]): boolean {
  const inputs = [...filesUnder('src', () => true), 'package-lock.json', '.projen/tasks.json'].filter((f) => fs.existsSync(f));
  const newest = Math.max(...inputs.map((f) => fs.statSync(f).mtimeMs));
  return assets.some((a) => !fs.existsSync(a) || fs.statSync(a).mtimeMs < newest);
}

// ---- reading packages: zip (wheel, jar, nupkg) and gzipped tar (npm package, sdist) with Node alone ----

type Entries = Map<string, Buffer>;

function readZip(buf: Buffer): Entries {
  const out: Entries = new Map();
  const eocd = buf.lastIndexOf(Buffer.from([0x50, 0x4b, 0x05, 0x06]));
  if (eocd < 0) throw new Error('not a zip file');
  const count = buf.readUInt16LE(eocd + 10);
  let p = buf.readUInt32LE(eocd + 16);
  for (let i = 0; i < count; i++) {
    const method = buf.readUInt16LE(p + 10);
    const size = buf.readUInt32LE(p + 20);
    const nameLen = buf.readUInt16LE(p + 28);
    const extraLen = buf.readUInt16LE(p + 30);
    const commentLen = buf.readUInt16LE(p + 32);
    const local = buf.readUInt32LE(p + 42);
    const name = buf.toString('utf8', p + 46, p + 46 + nameLen);
    const start = local + 30 + buf.readUInt16LE(local + 26) + buf.readUInt16LE(local + 28);
    const raw = buf.subarray(start, start + size);
    if (!name.endsWith('/')) out.set(name, method === 8 ? zlib.inflateRawSync(raw) : raw);
    p += 46 + nameLen + extraLen + commentLen;
  }
  return out;
}

function readTarGz(buf: Buffer): Entries {
  const tar = zlib.gunzipSync(buf);
  const out: Entries = new Map();
  let longName: string | undefined;
  for (let p = 0; p + 512 <= tar.length && tar[p] !== 0;) {
    const field = (at: number, len: number) => tar.toString('utf8', p + at, p + at + len).replace(/\0.*$/s, '');
    const size = parseInt(field(124, 12).trim() || '0', 8);
    const type = field(156, 1);
    const prefix = field(345, 155);
    const name = longName ?? (prefix ? `${prefix}/${field(0, 100)}` : field(0, 100));
    const body = tar.subarray(p + 512, p + 512 + size);
    longName = undefined;
    if (type === 'L') longName = body.toString('utf8').replace(/\0.*$/s, '');
    if (type === 'x') longName = /(?:^|\n)\d+ path=([^\n]*)\n/.exec(body.toString('utf8'))?.[1];
    else if (type === '0' || type === '') out.set(name, body);
    p += 512 + Math.ceil(size / 512) * 512;
  }
  return out;
}

const isZip = (f: string) => /\.(whl|jar|zip|nupkg)$/.test(f);
const isTarGz = (f: string) => /\.(tgz|tar\.gz)$/.test(f);

interface Found {
  /** Where the npm package sits, e.g. `dist/python/x.whl!cdk_cmek/_jsii/cdk-cmek@0.0.0.jsii.tgz`. */
  readonly where: string;
  readonly entries: Entries;
}

/** The npm packages embedded in a package, however deep (a wheel holds one; an sdist holds it in another tarball). */
function embeddedNpmPackages(where: string, buf: Buffer): Found[] {
  const entries = isZip(where) ? readZip(buf) : readTarGz(buf);
  if (entries.has('package/package.json')) return [{ where, entries }];
  return [...entries].filter(([name]) => isZip(name) || isTarGz(name)).flatMap(([name, b]) => embeddedNpmPackages(`${where}!${name}`, b));
}

/** Language READMEs a package carries (a wheel's long description, a Go module's README) that must not show TypeScript. */
function languageReadmes(artifact: string): Array<{ where: string; text: string }> {
  const wheelReadmes = (whl: string) => [...readZip(fs.readFileSync(whl))]
    .filter(([name]) => /\.dist-info\/METADATA$/.test(name))
    .map(([name, b]) => ({ where: `${whl}!${name}`, text: b.toString('utf8') }));
  if (!fs.statSync(artifact).isDirectory()) return artifact.endsWith('.whl') ? wheelReadmes(artifact) : [];
  const goReadmes = filesUnder(artifact, (f) => path.basename(f) === 'README.md' && fs.existsSync(path.join(path.dirname(f), 'go.mod')))
    .map((f) => ({ where: f, text: fs.readFileSync(f, 'utf8') }));
  return [...filesUnder(artifact, (f) => f.endsWith('.whl')).flatMap(wheelReadmes), ...goReadmes];
}

/**
 * Fenced samples that are TypeScript: fenced as such, or TypeScript under another language's fence (what jsii-pacmak
 * writes for a sample it has no translation of). `import {` and `new Foo(` are TypeScript in neither Python nor Go.
 */
export function typeScriptSamples(markdown: string): number {
  const blocks = [...markdown.matchAll(/^\s*```(\w*)[^\n]*\n(.*?)^\s*```/gms)];
  return blocks.filter(([, lang, body]) => /^(ts|typescript)$/.test(lang) || /^\s*import \{|\bnew [A-Z]\w*\(/m.test(body)).length;
}

/** One line per problem with an artifact: a missing or different bundle, TypeScript left in a language README. */
export function checkArtifact(artifact: string, assets: string[]): string[] {
  const files = fs.statSync(artifact).isDirectory()
    ? filesUnder(artifact, (f) => isZip(f) || isTarGz(f))
    : [artifact];
  const packages = files.flatMap((f) => embeddedNpmPackages(f, fs.readFileSync(f)));
  if (packages.length === 0) return [`${artifact}: holds no npm package (the jsii runtime would have nothing to load)`];
  const problems: string[] = [];
  for (const { where, entries } of packages) {
    for (const asset of assets) {
      const packed = entries.get(`package/${asset}`);
      if (!packed) problems.push(`${where}: ${asset} is missing`);
      else if (!packed.equals(fs.readFileSync(asset))) problems.push(`${where}: ${asset} differs from the bundle built here (stale package?)`);
    }
  }
  for (const { where, text } of languageReadmes(artifact)) {
    const ts = typeScriptSamples(text);
    if (ts > 0) problems.push(`${where}: ${ts} TypeScript sample(s) left untranslated (run \`jsii-rosetta extract\` before packaging)`);
  }
  return problems;
}

function main(args: string[]): number {
  const build = args.includes('--build');
  const artifacts = args.filter((a) => a !== '--build');
  const assets = expectedAssets();
  const problems: string[] = [];
  if (assets.length === 0) problems.push('the `bundle` task builds nothing: no `--outfile=` in .projen/tasks.json');
  for (const h of unbundledHandlers()) problems.push(`${h} is not an entry point of the \`bundle\` task: its construct would ship without its handler`);
  if (build && problems.length === 0 && stale(assets)) {
    console.log('bundles missing or older than their sources: running `projen bundle`');
    const r = spawnSync('npx', ['projen', 'bundle'], { stdio: 'inherit' });
    if (r.status !== 0) return r.status ?? 1;
  }
  for (const a of assets) {
    if (!fs.existsSync(a) || fs.statSync(a).size === 0) problems.push(`${a} is missing or empty: run \`npx projen bundle\` before packaging`);
  }
  if (problems.length === 0) for (const a of artifacts) problems.push(...checkArtifact(a, assets));
  for (const p of problems) console.error(`check-assets: ${p}`);
  if (problems.length > 0) return 1;
  const what = artifacts.length > 0 ? `in ${artifacts.join(', ')}` : 'built';
  console.log(`check-assets: ${assets.length} bundles ${what}: ${assets.join(', ')}`);
  return 0;
}

if (require.main === module) process.exitCode = main(process.argv.slice(2));
