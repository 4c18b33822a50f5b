// The packaging gate: no package without every bundle the `bundle` task builds, byte for byte, and no TypeScript left in a language README.
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

const ROOT = path.resolve(__dirname, '..', '..');
const SCRIPT = path.join(ROOT, 'scripts', 'check-assets.ts');
const TS_NODE = path.join(ROOT, 'node_modules', '.bin', 'ts-node');

const HANDLER = 'assets/thing/thing.lambda/index.js';
const CLI = 'assets/cli/main/tool.js';

/** A project with one handler and one CLI bundled by projen's task layout, and both bundles built. */
function project(dir: string): void {
  const write = (f: string, text: string) => {
    fs.mkdirSync(path.dirname(path.join(dir, f)), { recursive: true });
    fs.writeFileSync(path.join(dir, f), text);
  };
  write('src/thing/thing.lambda.ts', 'export const handler = async () => 1;\n');
  write('package.json', JSON.stringify({ name: 'x', bin: { tool: CLI } }));
  write('.projen/tasks.json', JSON.stringify({
    tasks: {
      'bundle': { steps: [{ spawn: 'bundle:thing' }, { spawn: 'bundle:cli' }] },
      'bundle:thing': { steps: [{ execArgs: ['esbuild', '--bundle', 'src/thing/thing.lambda.ts', `--outfile=${HANDLER}`] }] },
      'bundle:cli': { steps: [{ execArgs: ['esbuild', '--bundle', 'src/cli/main.ts', `--outfile=${CLI}`] }, { execArgs: ['chmod', '+x', CLI] }] },
    },
  }));
  write(HANDLER, 'exports.handler=async()=>1;\n');
  write(CLI, '#!/usr/bin/env node\n');
}

/** An npm package tarball (as jsii-pacmak embeds it) holding the given project files, under `package/`. */
function npmTarball(dir: string, out: string, files: Record<string, string>): void {
  const staging = fs.mkdtempSync(path.join(os.tmpdir(), 'npm-'));
  for (const [f, text] of Object.entries({ 'package.json': '{}', ...files })) {
    fs.mkdirSync(path.dirname(path.join(staging, 'package', f)), { recursive: true });
    fs.writeFileSync(path.join(staging, 'package', f), text);
  }
  fs.mkdirSync(path.dirname(path.join(dir, out)), { recursive: true });
  const tar = spawnSync('tar', ['-czf', path.join(dir, out), '-C', staging, 'package']);
  expect(tar.status).toBe(0);
  fs.rmSync(staging, { recursive: true, force: true });
}

/** A wheel: a zip with the npm tarball under the module's `_jsii` folder and a long description. */
function wheel(dir: string, out: string, tarball: string, description: string): void {
  const staging = fs.mkdtempSync(path.join(os.tmpdir(), 'whl-'));
  fs.mkdirSync(path.join(staging, 'x/_jsii'), { recursive: true });
  fs.mkdirSync(path.join(staging, 'x-0.0.0.dist-info'));
  fs.copyFileSync(path.join(dir, tarball), path.join(staging, 'x/_jsii/x@0.0.0.jsii.tgz'));
  fs.writeFileSync(path.join(staging, 'x-0.0.0.dist-info/METADATA'), `Name: x\n\n${description}`);
  fs.mkdirSync(path.dirname(path.join(dir, out)), { recursive: true });
  const zip = spawnSync('zip', ['-qr', path.join(dir, out), 'x', 'x-0.0.0.dist-info'], { cwd: staging });
  expect(zip.status).toBe(0);
  fs.rmSync(staging, { recursive: true, force: true });
}

function check(dir: string, ...args: string[]): { status: number | null; output: string } {
  const run = spawnSync(TS_NODE, ['--transpile-only', '--project', path.join(ROOT, 'tsconfig.dev.json'), SCRIPT, ...args], {
    cwd: dir,
    encoding: 'utf8',
  });
  return { status: run.status, output: `${run.stdout}\n${run.stderr}` };
}

describe('check-assets', () => {
  let dir: string;
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'check-assets-'));
    project(dir);
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  test('GIVEN a bundle missing or a handler no bundle builds WHEN checked before packaging THEN each is named and packaging is refused', () => {
    expect(check(dir).status).toBe(0);

    fs.rmSync(path.join(dir, HANDLER));
    fs.writeFileSync(path.join(dir, 'src/thing/other.lambda.ts'), 'export const handler = async () => 2;\n');
    const refused = check(dir);

    expect(refused.status).toBe(1);
    expect(refused.output).toContain(`check-assets: ${HANDLER} is missing or empty: run \`npx projen bundle\` before packaging`);
    expect(refused.output).toContain('check-assets: src/thing/other.lambda.ts is not an entry point of the `bundle` task');
  }, 60_000);

  test('GIVEN npm packages with, without and with stale bundles WHEN checked THEN only the complete one passes', () => {
    const handler = fs.readFileSync(path.join(dir, HANDLER), 'utf8');
    const cli = fs.readFileSync(path.join(dir, CLI), 'utf8');
    npmTarball(dir, 'dist/ok/x.tgz', { [HANDLER]: handler, [CLI]: cli });
    npmTarball(dir, 'dist/missing/x.tgz', { [CLI]: cli });
    npmTarball(dir, 'dist/stale/x.tgz', { [HANDLER]: 'exports.handler=async()=>0;\n', [CLI]: cli });

    expect(check(dir, 'dist/ok').status).toBe(0);
    const missing = check(dir, 'dist/missing');
    expect(missing.status).toBe(1);
    expect(missing.output).toContain(`dist/missing/x.tgz: ${HANDLER} is missing`);
    const stale = check(dir, 'dist/stale/x.tgz');
    expect(stale.status).toBe(1);
    expect(stale.output).toContain(`dist/stale/x.tgz: ${HANDLER} differs from the bundle built here`);
  }, 60_000);

  test('GIVEN wheels embedding the npm package WHEN their long description shows TypeScript or a bundle is missing THEN the check fails', () => {
    const handler = fs.readFileSync(path.join(dir, HANDLER), 'utf8');
    const cli = fs.readFileSync(path.join(dir, CLI), 'utf8');
    npmTarball(dir, 'npm/full.tgz', { [HANDLER]: handler, [CLI]: cli });
    npmTarball(dir, 'npm/partial.tgz', { [HANDLER]: handler });
    wheel(dir, 'dist/python/ok.whl', 'npm/full.tgz', '# x\n\n```python\nx = 1\n```\n');
    // jsii-pacmak writes a sample it has no translation of under the language's fence, as TypeScript.
    const untranslated = "```python\nimport { App } from 'aws-cdk-lib';\nconst app = new App();\n```\n";
    wheel(dir, 'dist/ts/x.whl', 'npm/full.tgz', `# x\n\n\`\`\`ts\nconst x = 1;\n\`\`\`\n\n${untranslated}`);
    wheel(dir, 'dist/partial/x.whl', 'npm/partial.tgz', '# x\n');

    expect(check(dir, 'dist/python').status).toBe(0);
    const ts = check(dir, 'dist/ts');
    expect(ts.status).toBe(1);
    expect(ts.output).toContain('dist/ts/x.whl!x-0.0.0.dist-info/METADATA: 2 TypeScript sample(s) left untranslated');
    const partial = check(dir, 'dist/partial');
    expect(partial.status).toBe(1);
    expect(partial.output).toContain(`dist/partial/x.whl!x/_jsii/x@0.0.0.jsii.tgz: ${CLI} is missing`);
  }, 60_000);
});
