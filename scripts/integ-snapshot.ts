// Re-synthesizes every integration app and compares its templates with the checked-in snapshots (`--update` rewrites them).
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { AppEntry, INTEG_DIR, integApps, normalizeTemplate, OUT_DIR, snapshotDir, synthApp } from './integ-synth';

const SNAPSHOT_SUFFIX = '.integ.snapshot';

/** Writes the normalized templates of one app into `dir`, one `<stack>.template.json` each. */
function writeSnapshot(app: AppEntry, dir: string): void {
  const templates = synthApp(app, path.join(OUT_DIR, 'integ', app.name));
  fs.rmSync(dir, { recursive: true, force: true });
  fs.mkdirSync(dir, { recursive: true });
  for (const t of templates) {
    fs.writeFileSync(path.join(dir, `${t.stack}.template.json`), normalizeTemplate(fs.readFileSync(t.file, 'utf8')));
  }
}

/** Snapshot folders whose integration app is gone: they would otherwise go stale unnoticed. */
function orphanSnapshots(dir: string, apps: AppEntry[]): string[] {
  const names = new Set(apps.map((a) => a.name));
  return fs
    .readdirSync(dir)
    .filter((f) => f.endsWith(SNAPSHOT_SUFFIX) && !names.has(f.slice(0, -SNAPSHOT_SUFFIX.length)))
    .map((f) => path.join(dir, f));
}

/** Compares (or, with `update`, rewrites) the snapshots of the integration apps in `dir`; returns the exit code. */
function run(dir: string, update: boolean): number {
  const rel = (p: string) => path.relative(process.cwd(), p);
  const apps = integApps(dir);
  if (apps.length === 0) {
    console.error(`no integration apps found: expected *.integ.ts files in ${rel(dir)}`);
    return 1;
  }
  const orphans = orphanSnapshots(dir, apps);
  if (update) {
    for (const o of orphans) fs.rmSync(o, { recursive: true, force: true });
    for (const app of apps) {
      writeSnapshot(app, snapshotDir(app));
      console.log(`updated ${rel(snapshotDir(app))}`);
    }
    return 0;
  }

  let failed = 0;
  for (const o of orphans) {
    console.error(`${rel(o)} belongs to no integration app: delete it, or run \`npx projen integ:update\``);
    failed++;
  }
  for (const app of apps) {
    const expected = snapshotDir(app);
    const actual = path.join(OUT_DIR, 'integ-snapshot', app.name);
    writeSnapshot(app, actual);
    if (!fs.existsSync(expected)) {
      console.error(`${rel(app.file)} has no snapshot: run \`npx projen integ:update\` and commit ${rel(expected)}`);
      failed++;
      continue;
    }
    // git is there wherever the repository is: its no-index diff compares folders, added and removed files included.
    const diff = spawnSync('git', ['--no-pager', 'diff', '--no-index', '--color=never', rel(expected), rel(actual)], { encoding: 'utf8' });
    if (diff.status === 0) {
      console.log(`ok ${rel(app.file)}`);
      continue;
    }
    if (diff.status !== 1) throw new Error(`git diff failed with status ${diff.status}: ${diff.stderr}`);
    console.error(diff.stdout);
    console.error(
      `${rel(app.file)}: synthesized templates differ from ${rel(expected)} (diff above). ` +
        'If the change is intended, run `npx projen integ:update` and commit the snapshot with the change that explains it.',
    );
    failed++;
  }
  return failed === 0 ? 0 : 1;
}

/** `--update` rewrites the snapshots; `--integ-dir <dir>` looks for apps elsewhere than `integ/`. */
function main(argv: string[]): number {
  const at = argv.indexOf('--integ-dir');
  const dir = at >= 0 ? path.resolve(argv[at + 1] ?? '') : INTEG_DIR;
  if (!fs.existsSync(dir)) {
    console.error(`--integ-dir must be an existing folder, got: ${JSON.stringify(argv[at + 1])}`);
    return 2;
  }
  return run(dir, argv.includes('--update'));
}

try {
  process.exitCode = main(process.argv.slice(2));
} catch (e) {
  console.error((e as Error).message);
  process.exitCode = 2;
}
