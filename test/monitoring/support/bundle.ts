// Builds a handler or CLI bundle with esbuild when the project's bundle task has not produced it (or it is stale).
import * as fs from 'node:fs';
import * as path from 'node:path';
import { buildSync } from 'esbuild';

const ROOT = path.join(__dirname, '..', '..', '..');

function newestSource(dir = path.join(ROOT, 'src')): number {
  return fs.readdirSync(dir, { withFileTypes: true }).reduce((newest, e) => {
    const p = path.join(dir, e.name);
    const t = e.isDirectory() ? newestSource(p) : e.name.endsWith('.ts') ? fs.statSync(p).mtimeMs : 0;
    return Math.max(newest, t);
  }, 0);
}

/** Missing, or older than some source file (a bundle left from an earlier checkout or edit). */
function stale(outfile: string): boolean {
  return !fs.existsSync(outfile) || fs.statSync(outfile).mtimeMs < newestSource();
}

/** `src/monitoring/runtime/key-usage-auditor.lambda.ts` → `assets/monitoring/runtime/key-usage-auditor.lambda/index.js`, as the bundle task does. */
export function ensureLambdaBundle(entry: string): string {
  const rel = path.relative(path.join(ROOT, 'src'), path.join(ROOT, entry)).replace(/\.ts$/, '');
  const outfile = path.join(ROOT, 'assets', rel, 'index.js');
  if (stale(outfile)) {
    buildSync({ entryPoints: [path.join(ROOT, entry)], bundle: true, platform: 'node', target: 'node22', minify: true, outfile, logLevel: 'error' });
  }
  return outfile;
}

/** The `cdk-cmek` executable, as the bundle task writes it. */
export function ensureCliBundle(): string {
  const outfile = path.join(ROOT, 'assets', 'cli', 'main', 'cdk-cmek.js');
  if (stale(outfile)) {
    buildSync({
      entryPoints: [path.join(ROOT, 'src', 'cli', 'main.ts')],
      bundle: true,
      platform: 'node',
      target: 'node20',
      minify: true,
      banner: { js: '#!/usr/bin/env node' },
      outfile,
      logLevel: 'error',
    });
    fs.chmodSync(outfile, 0o755);
  }
  return outfile;
}
