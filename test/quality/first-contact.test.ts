// The README's two commands are the contract with a new user: CI runs them first and verbatim, and the first one
// works with nothing built beforehand.
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

const ROOT = path.resolve(__dirname, '..', '..');

/** The one-line `sh` blocks of the README's "Get started" section, in order. */
function readmeCommands(): string[] {
  const readme = fs.readFileSync(path.join(ROOT, 'README.md'), 'utf8');
  const section = readme.split(/^## /m).find((s) => s.startsWith('Get started'));
  if (!section) throw new Error('README has no "Get started" section');
  return [...section.matchAll(/```sh\n([^\n]+)\n```/g)].map((m) => m[1].trim());
}

/** The commands `.ci/run` runs, in order: every line that is not blank, a comment, shell setup or an export. */
function ciCommands(): string[] {
  return fs
    .readFileSync(path.join(ROOT, '.ci', 'run'), 'utf8')
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l !== '' && !l.startsWith('#') && !/^(set |cd |export )/.test(l));
}

describe('first contact', () => {
  test('GIVEN the README WHEN reading "Get started" THEN it names an install-and-synth command and a test command', () => {
    const [install, tests] = readmeCommands();
    expect(install).toMatch(/npm ci/);
    expect(install).toMatch(/cdk synth/);
    expect(tests).toBe('npm test');
  });

  test('GIVEN .ci/run WHEN reading its commands THEN the README commands come first, verbatim and in order', () => {
    const readme = readmeCommands();
    expect(ciCommands().slice(0, readme.length)).toEqual(readme);
  });

  test('GIVEN a checkout without bundles WHEN the cdk.json app runs its build step THEN every bundle the constructs load is built', () => {
    const cdkJson = JSON.parse(fs.readFileSync(path.join(ROOT, 'cdk.json'), 'utf8')) as { app: string };
    const [buildStep] = cdkJson.app.split('&&').map((s) => s.trim());
    expect(buildStep).toMatch(/scripts\/check-assets\.ts --build$/);

    // A copy of what a fresh clone has (sources, projen's task list, node_modules) and no assets/.
    const clone = fs.mkdtempSync(path.join(os.tmpdir(), 'cdk-cmek-first-contact-'));
    try {
      for (const entry of ['src', 'scripts', '.projen', 'package.json', 'tsconfig.json', 'tsconfig.dev.json', '.projenrc.ts', 'projenrc']) {
        fs.cpSync(path.join(ROOT, entry), path.join(clone, entry), { recursive: true });
      }
      fs.symlinkSync(path.join(ROOT, 'node_modules'), path.join(clone, 'node_modules'));
      const check = () =>
        spawnSync(path.join(ROOT, 'node_modules', '.bin', 'ts-node'), ['--transpile-only', '--project', 'tsconfig.dev.json', 'scripts/check-assets.ts'], {
          cwd: clone,
          encoding: 'utf8',
        });

      const before = check();
      expect(before.status).toBe(1);
      expect(before.stderr).toMatch(/assets\/envelope\/runtime\/envelope\.lambda\/index\.js is missing or empty/);

      const build = spawnSync('bash', ['-c', buildStep], { cwd: clone, encoding: 'utf8', timeout: 300_000 });
      expect(build.status).toBe(0);
      expect(check().status).toBe(0);
      for (const bundle of ['envelope/runtime/envelope.lambda/index.js', 'monitoring/runtime/key-usage-auditor.lambda/index.js', 'cli/main/cdk-cmek.js']) {
        expect(fs.statSync(path.join(clone, 'assets', bundle)).size).toBeGreaterThan(1000);
      }
    } finally {
      fs.rmSync(clone, { recursive: true, force: true });
    }
  }, 300_000);
});
