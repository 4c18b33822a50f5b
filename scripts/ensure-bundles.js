#!/usr/bin/env node
// Makes sure the esbuild bundles that the constructs load as assets (Lambda handlers, the CLI) exist and are newer
// than every source file; rebuilds them with `projen bundle` when not. `--check` only reports, exit 1 when any is
// missing. The list of bundles is read from projen's own `bundle` task, so a new handler needs no edit here.
'use strict';
const { spawnSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');

const root = path.join(__dirname, '..');

/** Every `--outfile=` of the tasks that projen's `bundle` task spawns. */
function bundleOutputs() {
  const tasks = JSON.parse(fs.readFileSync(path.join(root, '.projen', 'tasks.json'), 'utf8')).tasks;
  const outputs = [];
  for (const step of tasks.bundle?.steps ?? []) {
    for (const sub of tasks[step.spawn]?.steps ?? []) {
      const args = sub.execArgs ?? (sub.exec ? sub.exec.split(/\s+/) : []);
      const out = args.find((a) => a.startsWith('--outfile='));
      if (out) outputs.push(out.slice('--outfile='.length));
    }
  }
  if (outputs.length === 0) throw new Error('ensure-bundles: no bundle outputs found in .projen/tasks.json');
  return outputs;
}

/** The newest modification time of any file under `dir`. */
function newestMtime(dir) {
  let newest = 0;
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, entry.name);
    newest = Math.max(newest, entry.isDirectory() ? newestMtime(p) : fs.statSync(p).mtimeMs);
  }
  return newest;
}

const outputs = bundleOutputs();
const missing = outputs.filter((o) => !fs.existsSync(path.join(root, o)));

if (process.argv.includes('--check')) {
  if (missing.length > 0) {
    console.error(`missing bundles: ${missing.join(', ')} (run \`npx projen bundle\` first)`);
    process.exit(1);
  }
  process.exit(0);
}

const oldest = missing.length > 0 ? 0 : Math.min(...outputs.map((o) => fs.statSync(path.join(root, o)).mtimeMs));
if (missing.length > 0 || newestMtime(path.join(root, 'src')) > oldest) {
  console.error(missing.length > 0 ? `building bundles (missing: ${missing.join(', ')})` : 'rebuilding bundles (src/ changed)');
  const r = spawnSync('npx', ['projen', 'bundle'], { cwd: root, stdio: ['ignore', 'ignore', 'inherit'] });
  if (r.status !== 0) process.exit(r.status ?? 1);
}
