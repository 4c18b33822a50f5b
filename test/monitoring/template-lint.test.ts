// The monitoring constructs synthesize clean under cfn-lint and checkov (every suppression carries its reason).
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { App, Stack } from 'aws-cdk-lib';
import { ensureLambdaBundle } from './support/bundle';
import { KeyDashboard } from '../../src/monitoring/key-dashboard';
import { KeyDeletionMonitor } from '../../src/monitoring/key-deletion-monitor';
import { KeyUsageAuditor } from '../../src/monitoring/key-usage-auditor';

const ROOT = path.join(__dirname, '..', '..');

describe('monitoring templates', () => {
  test('GIVEN a monitor with its own trail, an auditor and a dashboard WHEN linted THEN cfn-lint and checkov report nothing unexplained', () => {
    ensureLambdaBundle('src/monitoring/runtime/key-usage-auditor.lambda.ts');
    const outdir = fs.mkdtempSync(path.join(os.tmpdir(), 'cdk-cmek-monitoring-'));
    const app = new App({ outdir });
    const stack = new Stack(app, 'Monitoring', { env: { account: '999999999999', region: 'eu-west-1' } });
    const monitor = new KeyDeletionMonitor(stack, 'Monitor');
    const auditor = new KeyUsageAuditor(stack, 'Auditor', { tagKey: 'cmek:vendor' });
    new KeyDashboard(stack, 'Dashboard', { monitor, auditor });
    app.synth();
    const template = path.join(outdir, 'Monitoring.template.json');
    const run = spawnSync(
      path.join(ROOT, 'node_modules', '.bin', 'ts-node'),
      ['--transpile-only', '--project', 'tsconfig.dev.json', 'scripts/lint-templates.ts', template],
      { cwd: ROOT, encoding: 'utf8' },
    );
    expect(run.stdout).toContain('0 cfn-lint finding(s), 0 failed checkov check(s)');
    expect(run.status).toBe(0);
    fs.rmSync(outdir, { recursive: true, force: true });
  }, 120_000);
});
