// The integ snapshot gate: a template change fails the check until the snapshot is updated on purpose; asset hashes are masked.
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { normalizeTemplate } from '../../scripts/integ-synth';

const ROOT = path.resolve(__dirname, '..', '..');
const SCRIPT = path.join(ROOT, 'scripts', 'integ-snapshot.ts');
const TS_NODE = path.join(ROOT, 'node_modules', '.bin', 'ts-node');

/** A one-topic integration app; `displayName` is what the test changes. */
function tinyApp(displayName: string): string {
  return [
    "import { App, Stack } from 'aws-cdk-lib';",
    "import * as sns from 'aws-cdk-lib/aws-sns';",
    'const app = new App({ analyticsReporting: false });',
    `new sns.Topic(new Stack(app, 'Tiny'), 'Topic', { displayName: '${displayName}' });`,
    'app.synth();',
    '',
  ].join('\n');
}

function snapshot(dir: string, ...args: string[]): { status: number | null; output: string } {
  const run = spawnSync(TS_NODE, ['--transpile-only', '--project', path.join(ROOT, 'tsconfig.dev.json'), SCRIPT, '--integ-dir', dir, ...args], {
    cwd: ROOT,
    encoding: 'utf8',
  });
  return { status: run.status, output: `${run.stdout}\n${run.stderr}` };
}

describe('integ-snapshot', () => {
  // Inside the repository, so that the app resolves aws-cdk-lib from its node_modules.
  const dir = path.join(ROOT, 'cdk.out.quality', 'test-integ-snapshot');

  beforeEach(() => {
    fs.rmSync(dir, { recursive: true, force: true });
    fs.mkdirSync(dir, { recursive: true });
  });
  afterAll(() => {
    fs.rmSync(dir, { recursive: true, force: true });
  });

  test('GIVEN a snapshot taken with --update WHEN the app changes THEN the check fails with the diff and the way to accept it', () => {
    fs.writeFileSync(path.join(dir, 'tiny.integ.ts'), tinyApp('before'));
    const update = snapshot(dir, '--update');
    expect(update.status).toBe(0);
    const taken = fs.readFileSync(path.join(dir, 'tiny.integ.snapshot', 'Tiny.template.json'), 'utf8');
    const topics = Object.values<any>(JSON.parse(taken).Resources).filter((r) => r.Type === 'AWS::SNS::Topic');
    expect(topics.map((t) => t.Properties.DisplayName)).toEqual(['before']);

    fs.writeFileSync(path.join(dir, 'tiny.integ.ts'), tinyApp('after'));
    const check = snapshot(dir);

    expect(check.status).toBe(1);
    expect(check.output).toMatch(/^-\s+"DisplayName": "before"/m);
    expect(check.output).toMatch(/^\+\s+"DisplayName": "after"/m);
    expect(check.output).toMatch(/tiny\.integ\.ts: synthesized templates differ from .*run `npx projen integ:update`/);
  }, 120_000);

  test('GIVEN an app without a snapshot and a snapshot without an app WHEN checked THEN both are reported', () => {
    fs.writeFileSync(path.join(dir, 'tiny.integ.ts'), tinyApp('x'));
    fs.mkdirSync(path.join(dir, 'gone.integ.snapshot'));
    const check = snapshot(dir);
    expect(check.status).toBe(1);
    expect(check.output).toMatch(/tiny\.integ\.ts has no snapshot/);
    expect(check.output).toMatch(/gone\.integ\.snapshot belongs to no integration app/);
  }, 120_000);

  test('GIVEN a template with asset hashes WHEN normalized THEN the hashes are masked and everything else is kept', () => {
    const hash = 'a'.repeat(24) + '0123456789abcdef'.repeat(2) + 'b'.repeat(8);
    const template = { Resources: { Fn: { Properties: { Code: { S3Key: `${hash}.zip` }, Handler: 'index.handler' } } } };
    const normalized = JSON.parse(normalizeTemplate(JSON.stringify(template)));
    expect(normalized.Resources.Fn.Properties).toEqual({ Code: { S3Key: '<asset-hash>.zip' }, Handler: 'index.handler' });
  });
});
