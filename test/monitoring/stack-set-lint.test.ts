// The member template of a KeyUsageAuditorStackSet is a template of its own: the integ output writes it, and cfn-lint and checkov pass it.
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { ensureLambdaBundle } from './support/bundle';
import { integApps, OUT_DIR, synthApp, SynthesizedTemplate } from '../../scripts/integ-synth';

const ROOT = path.resolve(__dirname, '..', '..');
const TS_NODE = path.join(ROOT, 'node_modules', '.bin', 'ts-node');

function lint(...files: string[]): { status: number | null; output: string } {
  const run = spawnSync(TS_NODE, ['--transpile-only', '--project', path.join(ROOT, 'tsconfig.dev.json'), path.join(ROOT, 'scripts', 'lint-templates.ts'), ...files], {
    cwd: ROOT,
    encoding: 'utf8',
  });
  return { status: run.status, output: `${run.stdout}\n${run.stderr}` };
}

describe('KeyUsageAuditorStackSet member template', () => {
  let templates: SynthesizedTemplate[];
  beforeAll(() => {
    ensureLambdaBundle('src/monitoring/runtime/key-usage-auditor.lambda.ts');
    const app = integApps().find((a) => a.name === 'stackset')!;
    templates = synthApp(app, path.join(OUT_DIR, 'test-stack-set'));
  }, 120_000);

  test('GIVEN the stackset integ app WHEN synthesized THEN the member template is written beside the StackSet\'s, equal to its TemplateBody', () => {
    expect(templates.map((t) => t.stack).sort()).toEqual(['CmekStackSetInteg', expect.stringMatching(/^CmekStackSetInteg\.KeyUsageAuditors[0-9A-F]{8}\.member$/)]);
    const parent = JSON.parse(fs.readFileSync(templates.find((t) => t.stack === 'CmekStackSetInteg')!.file, 'utf8'));
    const [stackSet] = Object.values<any>(parent.Resources).filter((r) => r.Type === 'AWS::CloudFormation::StackSet');
    const member = templates.find((t) => t.stack.endsWith('.member'))!;
    expect(JSON.parse(fs.readFileSync(member.file, 'utf8'))).toEqual(JSON.parse(stackSet.Properties.TemplateBody));
  });

  test('GIVEN both templates WHEN linted THEN cfn-lint and checkov pass them; the member with a reasonless skip fails', () => {
    const clean = lint(...templates.map((t) => t.file));
    expect(clean.output).toMatch(/ok {3}given\/CmekStackSetInteg\.KeyUsageAuditors[0-9A-F]{8}\.member\.template\.json/);
    expect(clean.output).toMatch(/2 template\(s\): 0 cfn-lint finding\(s\), 0 failed checkov check\(s\)/);
    expect(clean.status).toBe(0);

    // The same member, with the reasons on its function's checkov skips removed: the gate reads the member itself.
    const member = templates.find((t) => t.stack.endsWith('.member'))!;
    const template = JSON.parse(fs.readFileSync(member.file, 'utf8'));
    for (const r of Object.values<any>(template.Resources)) {
      if (r.Type === 'AWS::Lambda::Function') delete r.Metadata.checkov;
    }
    const broken = path.join(path.dirname(member.file), 'broken.member.template.json');
    fs.writeFileSync(broken, JSON.stringify(template));
    const failed = lint(broken);
    expect(failed.status).toBe(1);
    expect(failed.output).toMatch(/FAIL given\/broken\.member\.template\.json[^\n]*\n {5}checkov CKV_AWS_116 AWS::Lambda::Function/);
  }, 240_000);
});
