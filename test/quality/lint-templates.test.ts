// The template gate: cfn-lint warnings, failed checkov checks and unexplained suppressions fail it; a clean template passes.
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

const ROOT = path.resolve(__dirname, '..', '..');
const SCRIPT = path.join(ROOT, 'scripts', 'lint-templates.ts');
const TS_NODE = path.join(ROOT, 'node_modules', '.bin', 'ts-node');

/** Runs the gate on the given template files, as the `lint:templates` task runs it. */
function lint(...files: string[]): { status: number | null; output: string } {
  const run = spawnSync(TS_NODE, ['--transpile-only', '--project', path.join(ROOT, 'tsconfig.dev.json'), SCRIPT, ...files], {
    cwd: ROOT,
    encoding: 'utf8',
  });
  return { status: run.status, output: `${run.stdout}\n${run.stderr}` };
}

/** A key that passes both linters: rotation on, the account root as the only principal. */
function cleanTemplate(): any {
  return {
    AWSTemplateFormatVersion: '2010-09-09',
    Resources: {
      Key: {
        Type: 'AWS::KMS::Key',
        Properties: {
          EnableKeyRotation: true,
          KeyPolicy: {
            Version: '2012-10-17',
            Statement: [{
              Sid: 'Root',
              Effect: 'Allow',
              Principal: { AWS: { 'Fn::Sub': 'arn:${AWS::Partition}:iam::${AWS::AccountId}:root' } },
              Action: 'kms:*',
              Resource: '*',
            }],
          },
        },
      },
    },
  };
}

/** Adds an alias whose DependsOn repeats what its Ref already says: a cfn-lint warning (W3005). */
function withRedundantDependsOn(template: any): any {
  template.Resources.Alias = {
    Type: 'AWS::KMS::Alias',
    DependsOn: 'Key',
    Properties: { AliasName: 'alias/test', TargetKeyId: { Ref: 'Key' } },
  };
  return template;
}

describe('lint-templates', () => {
  let dir: string;
  const write = (name: string, template: unknown): string => {
    const file = path.join(dir, name);
    fs.writeFileSync(file, JSON.stringify(template, undefined, 1));
    return file;
  };

  beforeAll(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cdk-cmek-lint-'));
  });
  afterAll(() => {
    fs.rmSync(dir, { recursive: true, force: true });
  });

  test('GIVEN a template clean under cfn-lint and checkov WHEN linted THEN the gate passes and says so', () => {
    const result = lint(write('clean.json', cleanTemplate()));
    expect(result.output).toMatch(/ok {3}given\/clean\.json/);
    expect(result.output).toMatch(/0 cfn-lint finding\(s\), 0 failed checkov check\(s\)/);
    expect(result.status).toBe(0);
  }, 120_000);

  test('GIVEN templates that each add one finding WHEN linted THEN the gate fails and names every check on its template', () => {
    // cfn-lint only: a DependsOn that a Ref already implies (W3005), on a resource checkov has no check for.
    const warning = withRedundantDependsOn(cleanTemplate());
    // checkov only: rotation off (CKV_AWS_7), valid for cfn-lint.
    const unrotated = cleanTemplate();
    unrotated.Resources.Key.Properties.EnableKeyRotation = false;
    // A checkov skip must say why.
    const silentSkip = cleanTemplate();
    silentSkip.Resources.Key.Properties.EnableKeyRotation = false;
    silentSkip.Resources.Key.Metadata = { checkov: { skip: [{ id: 'CKV_AWS_7' }] } };
    // So must a cfn-lint suppression.
    const silentIgnore = withRedundantDependsOn(cleanTemplate());
    silentIgnore.Resources.Alias.Metadata = { 'cfn-lint': { config: { ignore_checks: ['W3005'] } } };

    const result = lint(
      write('warning.json', warning),
      write('unrotated.json', unrotated),
      write('silent-skip.json', silentSkip),
      write('silent-ignore.json', silentIgnore),
    );

    expect(result.status).toBe(1);
    const block = (name: string) => new RegExp(`FAIL given/${name}[^\\n]*\\n((?: {5}[^\\n]*\\n)+)`).exec(result.output)?.[1] ?? '';
    expect(block('warning.json')).toMatch(/cfn-lint W3005 Resources\/Alias/);
    expect(block('warning.json')).not.toMatch(/checkov/);
    expect(block('unrotated.json')).toMatch(/checkov CKV_AWS_7 AWS::KMS::Key\.Key/);
    expect(block('unrotated.json')).not.toMatch(/cfn-lint/);
    expect(block('silent-skip.json')).toMatch(/suppression CKV_AWS_7 .*without a comment/);
    expect(block('silent-ignore.json')).toMatch(/suppression W3005 Resources\/Alias: cfn-lint ignore_checks without a `comment`/);
    expect(result.output).toMatch(/template lint failed: .*cfn-lint W3005.*checkov CKV_AWS_7/);
  }, 120_000);

  test('GIVEN suppressions that carry their reasons WHEN linted THEN the findings they cover no longer fail the gate', () => {
    const explained = withRedundantDependsOn(cleanTemplate());
    explained.Resources.Key.Properties.EnableKeyRotation = false;
    explained.Resources.Key.Metadata = { checkov: { skip: [{ id: 'CKV_AWS_7', comment: 'a key for one test run' }] } };
    explained.Resources.Alias.Metadata = {
      'cfn-lint': { config: { ignore_checks: ['W3005'] }, comment: 'the DependsOn documents the order for readers' },
    };
    const result = lint(write('explained.json', explained));
    expect(result.output).toMatch(/1 skipped with a reason/);
    expect(result.status).toBe(0);
  }, 120_000);
});
