// Builds a handler or CLI bundle with esbuild when the project's bundle task has not produced it yet.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { buildSync } from 'esbuild';

const ROOT = path.join(__dirname, '..', '..', '..');

/** `src/monitoring/key-usage-auditor.lambda.ts` → `assets/monitoring/key-usage-auditor.lambda/index.js`, as the bundle task does. */
export function ensureLambdaBundle(entry: string): string {
  const rel = path.relative(path.join(ROOT, 'src'), path.join(ROOT, entry)).replace(/\.ts$/, '');
  const outfile = path.join(ROOT, 'assets', rel, 'index.js');
  if (!fs.existsSync(outfile)) {
    buildSync({ entryPoints: [path.join(ROOT, entry)], bundle: true, platform: 'node', target: 'node22', minify: true, outfile, logLevel: 'error' });
  }
  return outfile;
}

/** The `cdk-cmek` executable, as the bundle task writes it. */
export function ensureCliBundle(): string {
  const outfile = path.join(ROOT, 'assets', 'cli', 'main', 'cdk-cmek.js');
  if (!fs.existsSync(outfile)) {
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
