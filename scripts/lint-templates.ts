// Lints CloudFormation templates with cfn-lint and checkov: the example app's and every integration app's, or the files given.
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { exampleApp, integApps, OUT_DIR, ROOT, SynthesizedTemplate, synthApp } from './integ-synth';

/** cfn-lint and checkov come from the project's virtualenv (`scripts/python-env.sh`), pinned in requirements-dev.txt. */
const VENV_BIN = path.join(ROOT, '.venv', 'bin');

/** The regions the apps deploy to; cfn-lint checks resource and property availability per region. */
const REGIONS = ['eu-west-1', 'us-east-1'];

/** One problem found in one template. */
interface Finding {
  readonly tool: 'cfn-lint' | 'checkov' | 'suppression';
  readonly id: string;
  readonly file: string;
  readonly where: string;
  readonly message: string;
}

function tool(name: string): string {
  const bin = path.join(VENV_BIN, name);
  if (!fs.existsSync(bin)) {
    throw new Error(`${name} not found at ${path.relative(ROOT, bin)}: run \`npx projen python:env\` (bash scripts/python-env.sh) first`);
  }
  return bin;
}

/** cfn-lint: every match counts, warnings as much as errors. */
function cfnLint(files: string[]): Finding[] {
  const run = spawnSync(tool('cfn-lint'), ['--format', 'json', '--regions', ...REGIONS, '--', ...files], { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
  if (run.error) throw run.error;
  // Exit codes are a bit mask of error (2), warning (4) and informational (8); 1 means cfn-lint itself failed.
  if (run.status === 1 || !run.stdout.trim()) {
    if (run.status === 0) return [];
    throw new Error(`cfn-lint failed (exit ${run.status}): ${run.stderr.trim() || run.stdout.trim()}`);
  }
  const matches = JSON.parse(run.stdout) as any[];
  return matches.map((m) => ({
    tool: 'cfn-lint' as const,
    id: m.Rule.Id,
    file: m.Filename,
    where: `${(m.Location.Path ?? []).slice(0, 2).join('/')} (line ${m.Location.Start.LineNumber})`,
    message: `${m.Level}: ${m.Message}`,
  }));
}

/** checkov's CloudFormation checks: every failed check counts, and so does a template it cannot parse. */
function checkov(files: string[]): { findings: Finding[]; passed: number; skipped: number } {
  const args = ['--framework', 'cloudformation', '--output', 'json', '--skip-download'];
  for (const f of files) args.push('--file', f);
  // The JSON report carries every check's code block: it outgrows spawnSync's 1 MB default with a few templates.
  const run = spawnSync(tool('checkov'), args, { encoding: 'utf8', env: { ...process.env, LOG_LEVEL: 'ERROR' }, maxBuffer: 256 * 1024 * 1024 });
  if (run.error) throw run.error;
  let report: any;
  try {
    report = JSON.parse(run.stdout);
  } catch {
    throw new Error(`checkov failed (exit ${run.status}): ${run.stderr.trim() || run.stdout.trim()}`);
  }
  // One report per framework; with nothing to scan checkov prints an empty summary instead.
  const reports = (Array.isArray(report) ? report : [report]).filter((r) => r.results);
  const findings: Finding[] = [];
  let passed = 0;
  let skipped = 0;
  for (const r of reports) {
    passed += (r.results.passed_checks ?? []).length;
    skipped += (r.results.skipped_checks ?? []).length;
    for (const c of r.results.failed_checks ?? []) {
      findings.push({
        tool: 'checkov',
        id: c.check_id,
        file: c.file_abs_path ?? c.file_path,
        where: `${c.resource} (lines ${c.file_line_range.join('-')})`,
        message: c.check_name,
      });
    }
    for (const c of r.results.skipped_checks ?? []) {
      const comment = String(c.check_result?.suppress_comment ?? '').trim();
      if (!comment || comment === 'No comment provided') {
        findings.push({
          tool: 'suppression',
          id: c.check_id,
          file: c.file_abs_path ?? c.file_path,
          where: c.resource,
          message: 'checkov skip without a comment: give every skip a reason',
        });
      }
    }
    if (r.summary.parsing_errors > 0) {
      for (const f of r.results.parsing_errors ?? []) {
        findings.push({ tool: 'checkov', id: 'parsing-error', file: f, where: '-', message: 'checkov could not parse the template' });
      }
    }
  }
  const scanned = reports.reduce((n, r) => n + r.summary.resource_count, 0);
  if (scanned === 0 && files.length > 0 && findings.length === 0) {
    throw new Error(`checkov scanned no resources in ${files.length} template(s): ${run.stderr.trim()}`);
  }
  return { findings, passed, skipped };
}

/**
 * A cfn-lint suppression (`Metadata.cfn-lint.config.ignore_checks`) must carry its reason beside it, as
 * `Metadata.cfn-lint.comment`: cfn-lint has no field of its own for one.
 */
function unexplainedCfnLintSuppressions(file: string): Finding[] {
  const template = JSON.parse(fs.readFileSync(file, 'utf8'));
  return Object.entries<any>(template.Resources ?? {}).flatMap(([id, resource]) => {
    const meta = resource.Metadata?.['cfn-lint'];
    const ignored: string[] = meta?.config?.ignore_checks ?? [];
    if (ignored.length === 0 || String(meta.comment ?? '').trim()) return [];
    return [{
      tool: 'suppression' as const,
      id: ignored.join(','),
      file,
      where: `Resources/${id}`,
      message: 'cfn-lint ignore_checks without a `comment` beside it: give every suppression a reason',
    }];
  });
}

function synthesizeAll(): SynthesizedTemplate[] {
  const apps = [exampleApp(), ...integApps()];
  return apps.flatMap((app) => synthApp(app, path.join(OUT_DIR, 'lint', app.name)));
}

function main(): number {
  const given = process.argv.slice(2).filter((a) => !a.startsWith('--'));
  const started = Date.now();
  const templates: SynthesizedTemplate[] = given.length > 0
    ? given.map((f) => ({ app: 'given', stack: path.basename(f), file: path.resolve(f) }))
    : synthesizeAll();
  const synthSeconds = (Date.now() - started) / 1000;
  const files = templates.map((t) => t.file);

  const lintStarted = Date.now();
  const lint = cfnLint(files);
  const lintSeconds = (Date.now() - lintStarted) / 1000;
  const checkovStarted = Date.now();
  const ck = checkov(files);
  const checkovSeconds = (Date.now() - checkovStarted) / 1000;
  const findings = [...lint, ...ck.findings, ...files.flatMap(unexplainedCfnLintSuppressions)];

  for (const t of templates) {
    const own = findings.filter((f) => path.resolve(f.file) === path.resolve(t.file));
    console.log(`${own.length === 0 ? 'ok  ' : 'FAIL'} ${t.app}/${t.stack}  ${path.relative(ROOT, t.file)}`);
    for (const f of own) console.log(`     ${f.tool} ${f.id} ${f.where}: ${f.message}`);
  }
  console.log(
    `${templates.length} template(s): ${lint.length} cfn-lint finding(s), ${ck.findings.length} failed checkov check(s) ` +
      `(${ck.passed} passed, ${ck.skipped} skipped with a reason); ` +
      `synth ${synthSeconds.toFixed(1)} s, cfn-lint ${lintSeconds.toFixed(1)} s, checkov ${checkovSeconds.toFixed(1)} s`,
  );
  if (findings.length > 0) {
    console.error(`template lint failed: ${findings.map((f) => `${f.tool} ${f.id}`).join(', ')}`);
    return 1;
  }
  return 0;
}

try {
  process.exitCode = main();
} catch (e) {
  console.error((e as Error).message);
  process.exitCode = 2;
}
