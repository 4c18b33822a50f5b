// Synthesizes the example app and the integration apps in this process, and normalizes templates for snapshots.
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as cxapi from 'aws-cdk-lib/cx-api';

/** The repository root (this file lives in `scripts/`). */
export const ROOT = path.resolve(__dirname, '..');

/** Where integration apps live: `integ/<family>.integ.ts`, snapshots in `integ/<family>.integ.snapshot/`. */
export const INTEG_DIR = path.join(ROOT, 'integ');

/** Local build output of the quality tasks (git-ignored). */
export const OUT_DIR = path.join(ROOT, 'cdk.out.quality');

/** One CDK app: a name for reports and paths, and the file that builds and synthesizes it. */
export interface AppEntry {
  readonly name: string;
  readonly file: string;
  /** Context the CDK CLI would pass (the example app's `cdk.json`); integ apps carry their own. */
  readonly context?: Record<string, unknown>;
}

/** One synthesized stack template. */
export interface SynthesizedTemplate {
  readonly app: string;
  readonly stack: string;
  readonly file: string;
}

/** Every `integ/*.integ.ts`, sorted: adding a file is all it takes to add an integration app. */
export function integApps(dir: string = INTEG_DIR): AppEntry[] {
  return fs
    .readdirSync(dir)
    .filter((f) => f.endsWith('.integ.ts'))
    .sort()
    .map((f) => ({ name: f.replace(/\.integ\.ts$/, ''), file: path.join(dir, f) }));
}

/** What the CDK CLI adds to an app's context on `cdk synth`, so the template is the one users deploy. */
const CLI_CONTEXT = {
  'aws:cdk:enable-path-metadata': true,
  'aws:cdk:enable-asset-metadata': true,
  'aws:cdk:version-reporting': true,
  'aws:cdk:bundling-stacks': ['**'],
};

/** The app `cdk.json` runs, with the context `cdk synth` would give it. */
export function exampleApp(): AppEntry {
  const cdkJson = JSON.parse(fs.readFileSync(path.join(ROOT, 'cdk.json'), 'utf8'));
  const match = /(\S+\.ts)\s*$/.exec(cdkJson.app ?? '');
  if (!match) throw new Error(`cdk.json: expected an app command ending in a .ts file, got: ${JSON.stringify(cdkJson.app)}`);
  return { name: 'example', file: path.join(ROOT, match[1]), context: { ...CLI_CONTEXT, ...cdkJson.context } };
}

/** The snapshot folder of an integration app: beside it, `<family>.integ.snapshot/`. */
export function snapshotDir(app: AppEntry): string {
  return path.join(path.dirname(app.file), `${app.name}.integ.snapshot`);
}

/**
 * Runs an app file in this process (as `cdk synth` runs it in a child) with its output directed to
 * `outdir`, and returns its stack templates. The file must be loaded through ts-node or ts-jest.
 */
export function synthApp(app: AppEntry, outdir: string): SynthesizedTemplate[] {
  fs.rmSync(outdir, { recursive: true, force: true });
  fs.mkdirSync(outdir, { recursive: true });
  const saved = { out: process.env[cxapi.OUTDIR_ENV], context: process.env[cxapi.CONTEXT_ENV] };
  process.env[cxapi.OUTDIR_ENV] = outdir;
  if (app.context) process.env[cxapi.CONTEXT_ENV] = JSON.stringify(app.context);
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    require(app.file);
  } catch (e) {
    throw new Error(`synthesis of ${path.relative(ROOT, app.file)} failed: ${(e as Error).message}`);
  } finally {
    restoreEnv(cxapi.OUTDIR_ENV, saved.out);
    restoreEnv(cxapi.CONTEXT_ENV, saved.context);
  }
  if (!fs.existsSync(path.join(outdir, 'manifest.json'))) {
    throw new Error(`${path.relative(ROOT, app.file)} wrote no cloud assembly to ${outdir}: does it call app.synth()?`);
  }
  const assembly = new cxapi.CloudAssembly(outdir);
  const stacks = assembly.stacksRecursively.map((s) => ({ app: app.name, stack: s.stackName, file: s.templateFullPath }));
  // Nested stacks are assets of their parent, not artifacts of the assembly: their templates sit beside it.
  const nested = assembly.stacksRecursively.flatMap((s) =>
    fs
      .readdirSync(s.assembly.directory)
      .filter((f) => f.endsWith('.nested.template.json'))
      .map((f) => ({ app: app.name, stack: f.replace(/\.template\.json$/, ''), file: path.join(s.assembly.directory, f) })),
  );
  const members = stacks.flatMap((s) => stackSetMembers(s));
  const unique = new Map([...stacks, ...nested, ...members].map((t) => [t.file, t]));
  return [...unique.values()];
}

/**
 * A StackSet's TemplateBody is a template of its own, deployed in other accounts: written beside its stack's template
 * as `<stack>.<logical id>.member.template.json`, it is linted and snapshotted like any other.
 */
export function stackSetMembers(parent: SynthesizedTemplate): SynthesizedTemplate[] {
  const template = JSON.parse(fs.readFileSync(parent.file, 'utf8'));
  return Object.entries<any>(template.Resources ?? {})
    .filter(([, r]) => r.Type === 'AWS::CloudFormation::StackSet' && typeof r.Properties?.TemplateBody === 'string')
    .map(([logicalId, r]) => {
      const stack = `${parent.stack}.${logicalId}.member`;
      const file = path.join(path.dirname(parent.file), `${stack}.template.json`);
      fs.writeFileSync(file, JSON.stringify(JSON.parse(r.Properties.TemplateBody), undefined, 1));
      return { app: parent.app, stack, file };
    });
}

/** Matches what changes with every build of an asset (content hashes), not with the template's meaning. */
const ASSET_HASH = /\b[0-9a-f]{64}\b/g;

/** A template as it is kept in a snapshot: pretty-printed, asset hashes masked. */
export function normalizeTemplate(templateJson: string): string {
  const template = JSON.parse(templateJson);
  return `${JSON.stringify(template, undefined, 1).replace(ASSET_HASH, '<asset-hash>')}\n`;
}

function restoreEnv(name: string, value: string | undefined): void {
  if (value === undefined) delete process.env[name];
  else process.env[name] = value;
}
