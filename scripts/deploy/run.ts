// `test:deploy`: deploys the example app, every integ app and a redeploy app to LocalStack with the project's own CDK CLI, reads every stack back, redeploys, destroys, and prints what it found.
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { DisableKeyRotationCommand, EnableKeyRotationCommand, GetKeyPolicyCommand, PutKeyPolicyCommand } from '@aws-sdk/client-kms';
import * as cxapi from 'aws-cdk-lib/cx-api';
import Table from 'cli-table3';
import { AppEntry, exampleApp, integApps, ROOT, synthApp } from '../integ-synth';
import { assertLoopbackOnly, installLocalStack, startLocalStack } from './localstack';
import { Clients, DeployedStack, readDeployed, StackRef, Template, Verification, verifyRetained, verifyStack } from './verify';

/** The platform account the apps deploy to (the integ apps name it); the vendor stacks deploy to theirs by role. */
const ACCOUNT = '999999999999';
const REGION = 'eu-west-1';
const OUT = path.join(ROOT, 'cdk.out.deploy');
const CDK = path.join(ROOT, 'node_modules', '.bin', 'cdk');

/** Resource types LocalStack's community edition cannot create for real, and why a stack holding one is left out. */
const LEFT_OUT: Record<string, string> = {
  'AWS::KMS::ReplicaKey': 'LocalStack fakes AWS::KMS::ReplicaKey (physical id `unknown`), so its alias and anything using it fail',
  'AWS::Organizations::Policy': 'LocalStack\'s community edition has no AWS Organizations; the policy simulator proves what the policy denies (test/organization)',
  'AWS::CloudFormation::StackSet': 'LocalStack\'s community edition has no AWS Organizations, so no service-managed StackSet; its member template is deployed as a plain stack with its code bucket by test/monitoring/stack-set-deploy.test.ts',
};

/** The app whose second version changes grantees, alias, guard and fleet tenants, and must keep every key. */
const REDEPLOY_APP = path.join(ROOT, 'test', 'deploy', 'apps', 'redeploy.ts');

/** Nested stacks are found through their asset metadata, which the CDK CLI asks for and an app alone does not write. */
const ASSET_METADATA = { 'aws:cdk:enable-asset-metadata': true };

function redeployApp(variant: 'before' | 'after'): AppEntry {
  return { name: 'redeploy', file: REDEPLOY_APP, context: { ...ASSET_METADATA, 'cmek-deploy:variant': variant } };
}

/** One line of the report. */
interface Row {
  stack: string;
  phase: string;
  result: 'ok' | 'FAILED' | 'left out';
  seconds: number;
  keys: number;
  mismatches: string[];
  note?: string;
}

/** A synthesized app: its assembly folder, the stacks to deploy, those left out and why. */
interface SynthesizedApp {
  readonly name: string;
  readonly dir: string;
  readonly stacks: StackRef[];
  readonly leftOut: { name: string; reason: string }[];
}

const rows: Row[] = [];
const elapsed = (since: number) => (Date.now() - since) / 1000;

/** Synthesizes in this process (ts-node is loaded once for every app), fresh each time even for the same file. */
function synth(app: AppEntry, dirName: string): SynthesizedApp {
  delete require.cache[require.resolve(app.file)];
  const dir = path.join(OUT, dirName);
  synthApp(app, dir);
  const assembly = new cxapi.CloudAssembly(dir);
  const stacks: StackRef[] = [];
  const leftOut: { name: string; reason: string }[] = [];
  for (const s of assembly.stacks) {
    const files = [s.templateFullPath, ...nestedTemplates(s.templateFullPath)];
    const types = new Set(files.flatMap((f) => Object.values((JSON.parse(fs.readFileSync(f, 'utf8')) as Template).Resources).map((r) => r.Type)));
    const reason = [...types].map((t) => LEFT_OUT[t]).find((r) => r);
    if (reason) leftOut.push({ name: s.stackName, reason });
    else stacks.push({ name: s.stackName, account: s.environment.account, region: s.environment.region, templateFile: s.templateFullPath });
  }
  return { name: app.name, dir, stacks, leftOut };
}

function nestedTemplates(templateFile: string): string[] {
  const template = JSON.parse(fs.readFileSync(templateFile, 'utf8')) as Template;
  return Object.values(template.Resources)
    .map((r) => r.Metadata?.['aws:asset:path'])
    .filter((p): p is string => typeof p === 'string' && p.endsWith('.template.json'))
    .flatMap((p) => {
      const file = path.join(path.dirname(templateFile), p);
      return [file, ...nestedTemplates(file)];
    });
}

/** Runs the project's CDK CLI outside the project folder (it would otherwise synthesize `cdk.json`'s app first). */
async function cdk(args: string[], env: NodeJS.ProcessEnv, log: string): Promise<{ ok: boolean; tail: string }> {
  const child = spawn(CDK, args, { cwd: os.tmpdir(), env, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout.on('data', (d: Buffer) => (output += d.toString()));
  child.stderr.on('data', (d: Buffer) => (output += d.toString()));
  const kill = setTimeout(() => child.kill('SIGKILL'), 600_000);
  const status = await new Promise<number | null>((resolve) => child.on('close', resolve));
  clearTimeout(kill);
  fs.mkdirSync(path.dirname(log), { recursive: true });
  fs.writeFileSync(log, `$ cdk ${args.join(' ')}\n${output}`);
  const errors = output.split('\n').filter((l) => /FAILED|❌|Error|error/.test(l) && !/NodeVersionSupportWarning/.test(l));
  return { ok: status === 0, tail: (errors.length ? errors : output.trim().split('\n')).slice(-3).join(' | ') };
}

/** Runs `task` on every item, at most `limit` at a time: LocalStack serves several stacks at once, the CLI mostly waits. */
async function pool<T>(items: T[], limit: number, task: (item: T) => Promise<void>): Promise<void> {
  const queue = [...items];
  await Promise.all(Array.from({ length: Math.min(limit, queue.length) }, async () => {
    for (let item = queue.shift(); item !== undefined; item = queue.shift()) await task(item);
  }));
}

/** A stack as deployed and what its read-back found. */
interface Deployed {
  readonly stack: StackRef;
  readonly d: DeployedStack[];
  readonly v: Verification;
}

/** Deploys an app's stacks, then reads each back. */
async function deployAndVerify(endpoint: string, env: NodeJS.ProcessEnv, app: SynthesizedApp, phase: string): Promise<Map<string, Deployed>> {
  const out = new Map<string, Deployed>();
  for (const s of app.leftOut) rows.push({ stack: s.name, phase, result: 'left out', seconds: 0, keys: 0, mismatches: [], note: s.reason });
  if (app.stacks.length === 0) return out;
  const start = Date.now();
  const names = app.stacks.map((s) => s.name);
  const deploy = await cdk(['deploy', '--app', app.dir, '--require-approval', 'never', '--progress', 'events', '--exclusively', ...names], env, path.join(OUT, 'logs', `${app.name}-${phase}.log`));
  const deploySeconds = elapsed(start);
  for (const stack of app.stacks) {
    const began = Date.now();
    const row: Row = { stack: stack.name, phase, result: 'ok', seconds: 0, keys: 0, mismatches: [] };
    rows.push(row);
    try {
      const d = await readDeployed(endpoint, stack);
      const v = await verifyStack(endpoint, stack, d);
      out.set(stack.name, { stack, d, v });
      row.keys = v.keys;
      row.mismatches.push(...v.mismatches);
    } catch (e) {
      row.mismatches.push(`${(e as Error).message}`);
    }
    if (!deploy.ok) row.mismatches.unshift(`cdk deploy failed: ${deploy.tail}`);
    if (row.mismatches.length) row.result = 'FAILED';
    row.seconds = deploySeconds / app.stacks.length + elapsed(began);
  }
  return out;
}

/** The second version of the redeploy app must keep every key of the first, and add the new tenant's. */
async function redeploy(endpoint: string, env: NodeJS.ProcessEnv, deployed: Map<string, Deployed>): Promise<SynthesizedApp> {
  const app = synth(redeployApp('after'), 'redeploy-after');
  const after = await deployAndVerify(endpoint, env, app, 'redeploy');
  for (const [stackName, { v }] of after) {
    const row = rows.find((r) => r.stack === stackName && r.phase === 'redeploy')!;
    const old = deployed.get(stackName)?.v.keyIds ?? new Map<string, string>();
    for (const [key, id] of old) {
      const now = v.keyIds.get(key);
      if (now !== id) row.mismatches.push(`${key}: key id changed from ${id} to ${now ?? '(gone)'}: the key was replaced`);
    }
    if (v.keyIds.size <= old.size) row.mismatches.push(`expected the added tenant's key: ${old.size} keys before, ${v.keyIds.size} after`);
    if (row.mismatches.length) row.result = 'FAILED';
  }
  // What the second version deployed is what destroy must leave behind.
  for (const [name, x] of after) deployed.set(name, x);
  return app;
}

/**
 * Proves the read-back can fail: changes one deployed key behind CloudFormation's back (a statement dropped from its
 * policy, rotation off), expects the checks to report both, then puts the key back.
 */
async function selfCheck(endpoint: string, x: Deployed): Promise<void> {
  const began = Date.now();
  const row: Row = { stack: x.stack.name, phase: 'self-check', result: 'ok', seconds: 0, keys: 1, mismatches: [] };
  rows.push(row);
  const [keyId] = x.v.keyIds.values();
  const kms = Clients.for(endpoint, x.stack.account, x.stack.region).kms;
  const original = (await kms.send(new GetKeyPolicyCommand({ KeyId: keyId, PolicyName: 'default' }))).Policy!;
  const tampered = JSON.parse(original);
  tampered.Statement.pop();
  await kms.send(new PutKeyPolicyCommand({ KeyId: keyId, PolicyName: 'default', Policy: JSON.stringify(tampered) }));
  await kms.send(new DisableKeyRotationCommand({ KeyId: keyId }));
  try {
    const found = (await verifyStack(endpoint, x.stack, x.d)).mismatches.join('\n');
    for (const what of ['key policy', 'rotation']) {
      if (!found.includes(`: ${what} differs`)) row.mismatches.push(`a changed ${what} of key ${keyId} went unnoticed by the read-back`);
    }
  } finally {
    await kms.send(new PutKeyPolicyCommand({ KeyId: keyId, PolicyName: 'default', Policy: original }));
    await kms.send(new EnableKeyRotationCommand({ KeyId: keyId }));
  }
  if (row.mismatches.length) row.result = 'FAILED';
  row.seconds = elapsed(began);
}

/** Destroys an app's stacks; every retained key must still be there and Enabled. */
async function destroyAndVerify(endpoint: string, env: NodeJS.ProcessEnv, app: SynthesizedApp, deployed: Map<string, Deployed>) {
  if (app.stacks.length === 0) return;
  const start = Date.now();
  const names = app.stacks.map((s) => s.name);
  const destroy = await cdk(['destroy', '--app', app.dir, '--force', '--exclusively', ...names], env, path.join(OUT, 'logs', `${app.name}-destroy.log`));
  for (const stack of app.stacks) {
    const row: Row = { stack: stack.name, phase: 'destroy', result: 'ok', seconds: elapsed(start) / app.stacks.length, keys: 0, mismatches: [] };
    rows.push(row);
    if (!destroy.ok) row.mismatches.push(`cdk destroy failed: ${destroy.tail}`);
    const known = deployed.get(stack.name);
    if (known) {
      row.keys = known.v.keyIds.size;
      row.mismatches.push(...(await verifyRetained(endpoint, stack, known.v.keyIds, known.d)));
    }
    if (row.mismatches.length) row.result = 'FAILED';
  }
}

/** Bootstraps every environment a deployed stack lives in, each account with its own credentials, accounts at once. */
async function bootstrap(env: NodeJS.ProcessEnv, apps: SynthesizedApp[]): Promise<void> {
  const byAccount = new Map<string, Set<string>>();
  for (const s of apps.flatMap((a) => a.stacks)) byAccount.set(s.account, (byAccount.get(s.account) ?? new Set()).add(`aws://${s.account}/${s.region}`));
  const failed: string[] = [];
  await Promise.all(
    [...byAccount].map(async ([account, envs]) => {
      const start = Date.now();
      const r = await cdk(['bootstrap', ...envs], { ...env, AWS_ACCESS_KEY_ID: account }, path.join(OUT, 'logs', `bootstrap-${account}.log`));
      rows.push({ stack: `bootstrap ${[...envs].join(' ')}`, phase: 'bootstrap', result: r.ok ? 'ok' : 'FAILED', seconds: elapsed(start), keys: 0, mismatches: r.ok ? [] : [r.tail] });
      if (!r.ok) failed.push(`${account}: ${r.tail}`);
    }),
  );
  if (failed.length) throw new Error(`cdk bootstrap failed for ${failed.join('; ')}`);
}

/** How many apps deploy or destroy at once. */
const PARALLEL = 3;

function report(total: number): number {
  const phases = ['synth', 'bootstrap', 'deploy', 'redeploy', 'self-check', 'destroy'];
  rows.sort((a, b) => phases.indexOf(a.phase) - phases.indexOf(b.phase));
  const table = new Table({ head: ['stack', 'phase', 'result', 'time (s)', 'keys compared', 'mismatches'] });
  for (const r of rows) table.push([r.stack, r.phase, r.result, r.seconds.toFixed(1), r.keys, r.mismatches.length]);
  console.log(table.toString());
  for (const r of rows) {
    if (r.note) console.log(`${r.stack} left out: ${r.note}`);
    for (const m of r.mismatches) console.error(`${r.stack} [${r.phase}]: ${m}`);
  }
  const failed = rows.filter((r) => r.result === 'FAILED').length;
  console.log(`${failed === 0 ? 'ok' : `${failed} FAILED`}: ${rows.length} rows in ${total.toFixed(0)} s (logs in ${path.relative(ROOT, OUT)}/logs)`);
  return failed === 0 ? 0 : 1;
}

async function main(): Promise<number> {
  const began = Date.now();
  fs.rmSync(OUT, { recursive: true, force: true });
  const python = installLocalStack();
  const localstack = await startLocalStack(python);
  try {
    await assertLoopbackOnly(localstack.endpoint);
    const env: NodeJS.ProcessEnv = {
      ...process.env,
      AWS_ENDPOINT_URL: localstack.endpoint,
      AWS_ACCESS_KEY_ID: ACCOUNT,
      AWS_SECRET_ACCESS_KEY: 'test',
      AWS_REGION: REGION,
      AWS_DEFAULT_REGION: REGION,
      CDK_DEFAULT_ACCOUNT: ACCOUNT,
      CDK_DEFAULT_REGION: REGION,
      CDK_DISABLE_CLI_TELEMETRY: 'true',
      CDK_DISABLE_VERSION_CHECK: 'true',
      AWS_SDK_JS_SUPPRESS_NODE_VERSION_WARNING: '1',
    };
    delete env.AWS_PROFILE;
    Object.assign(process.env, { CDK_DEFAULT_ACCOUNT: ACCOUNT, CDK_DEFAULT_REGION: REGION });

    const synthStart = Date.now();
    const apps = [exampleApp(), ...integApps().map((a) => ({ ...a, context: ASSET_METADATA }))].map((a) => synth(a, a.name));
    const redeployBefore = synth(redeployApp('before'), 'redeploy-before');
    rows.push({ stack: `${apps.length + 1} apps`, phase: 'synth', result: 'ok', seconds: elapsed(synthStart), keys: 0, mismatches: [] });
    await bootstrap(env, [...apps, redeployBefore]);

    const deployed = new Map<string, Deployed>();
    await pool([...apps, redeployBefore], PARALLEL, async (app) => {
      for (const [name, x] of await deployAndVerify(localstack.endpoint, env, app, 'deploy')) deployed.set(name, x);
    });
    const redeployAfter = await redeploy(localstack.endpoint, env, deployed);
    const redeployed = deployed.get(redeployAfter.stacks[0]?.name ?? '');
    if (redeployed) await selfCheck(localstack.endpoint, redeployed);
    await pool([...apps, redeployAfter], PARALLEL, (app) => destroyAndVerify(localstack.endpoint, env, app, deployed));
  } finally {
    await localstack.stop();
  }
  return report(elapsed(began));
}

main().then(
  (code) => (process.exitCode = code),
  (e) => {
    report(0);
    console.error((e as Error).stack ?? e);
    process.exitCode = 2;
  },
);
