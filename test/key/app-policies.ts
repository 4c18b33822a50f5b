// Every key and bucket policy the integ apps (their checked-in snapshots) and the example app synthesize, resolved as deployed.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { App, Stack } from 'aws-cdk-lib';
import { CmekDisasterRecoveryStack, CmekPlatformStack } from '../../examples/platform-stack';
import { resolveCfn } from '../support/cfn';

const INTEG = path.resolve(__dirname, '..', '..', 'integ');
const PLATFORM = '999999999999';
const VENDOR = '111122223333';

/** One synthesized resource policy, with what a simulation needs to ask about it. */
export interface AppPolicy {
  /** `<app>/<stack>/<logical id>` */
  readonly name: string;
  readonly kind: 'key' | 'bucket';
  readonly account: string;
  readonly region: string;
  /** The resource's ARN as deployed (a bucket: an object in it). */
  readonly resource: string;
  readonly policy: unknown;
}

interface StackTemplate {
  readonly app: string;
  readonly stack: string;
  readonly account: string;
  readonly region: string;
  readonly template: any;
}

/** Plausible deployed values for every resource's Ref and Arn, and for nested-stack parameters. */
function valuesFor(t: StackTemplate): Record<string, string> {
  const values: Record<string, string> = {};
  for (const [id, r] of Object.entries<any>(t.template.Resources ?? {})) {
    const lower = id.toLowerCase();
    const arn = r.Type === 'AWS::IAM::Role'
      ? `arn:aws:iam::${t.account}:role/${id}`
      : r.Type === 'AWS::S3::Bucket'
        ? `arn:aws:s3:::${lower}`
        : r.Type.startsWith('AWS::KMS::')
          ? `arn:aws:kms:${t.region}:${t.account}:key/${lower}`
          : `arn:aws:${r.Type.split('::')[1].toLowerCase()}:${t.region}:${t.account}:${lower}`;
    values[id] = r.Type === 'AWS::IAM::Role' ? id : lower;
    values[`${id}.Arn`] = arn;
    values[`${id}.KeyId`] = lower;
  }
  for (const id of Object.keys(t.template.Parameters ?? {})) values[id] = `param-${id.toLowerCase()}`;
  return values;
}

function policiesOf(t: StackTemplate): AppPolicy[] {
  const values = valuesFor(t);
  const resolve = (v: unknown) => resolveCfn(v, { account: t.account, region: t.region, values });
  const out: AppPolicy[] = [];
  for (const [id, r] of Object.entries<any>(t.template.Resources ?? {})) {
    const name = `${t.app}/${t.stack}/${id}`;
    if (r.Type === 'AWS::KMS::Key' || r.Type === 'AWS::KMS::ReplicaKey') {
      out.push({ name, kind: 'key', account: t.account, region: t.region, resource: values[`${id}.Arn`], policy: resolve(r.Properties.KeyPolicy) });
    }
    if (r.Type === 'AWS::S3::BucketPolicy') {
      const bucket = r.Properties.Bucket.Ref as string;
      out.push({ name, kind: 'bucket', account: t.account, region: t.region, resource: `${values[`${bucket}.Arn`]}/data/object.json`, policy: resolve(r.Properties.PolicyDocument) });
    }
  }
  return out;
}

/** The integ apps' templates, from their snapshots (the snapshot gate keeps them equal to what the apps synthesize). */
function integTemplates(): StackTemplate[] {
  const out: StackTemplate[] = [];
  for (const dir of fs.readdirSync(INTEG).filter((d) => d.endsWith('.integ.snapshot'))) {
    const app = dir.replace('.integ.snapshot', '');
    for (const file of fs.readdirSync(path.join(INTEG, dir)).filter((f) => f.endsWith('.template.json'))) {
      const stack = file.replace(/\.(nested\.)?template\.json$/, '');
      const account = stack === 'CmekKeyIntegVendor' ? VENDOR : PLATFORM;
      const region = stack === 'CmekKeyIntegReplica' ? 'eu-central-1' : 'eu-west-1';
      out.push({ app, stack, account, region, template: JSON.parse(fs.readFileSync(path.join(INTEG, dir, file), 'utf8')) });
    }
  }
  return out;
}

/** The example app's templates, nested stacks included, synthesized here. */
function exampleTemplates(): StackTemplate[] {
  const app = new App();
  const platform = new CmekPlatformStack(app, 'CmekPlatform', { env: { account: PLATFORM, region: 'eu-west-1' }, crossRegionReferences: true });
  new CmekDisasterRecoveryStack(app, 'CmekDisasterRecovery', {
    env: { account: PLATFORM, region: 'eu-central-1' },
    crossRegionReferences: true,
    primary: platform.tenants.keyFor('globex'),
  });
  const assembly = app.synth();
  const stacks = app.node.findAll().filter((c): c is Stack => c instanceof Stack);
  return stacks.map((s) => {
    const file = path.join(assembly.directory, s.templateFile);
    return { app: 'example', stack: s.node.path, account: PLATFORM, region: s.region, template: JSON.parse(fs.readFileSync(file, 'utf8')) };
  });
}

/** Every key and bucket policy of the integ apps and the example app. */
export function appPolicies(): AppPolicy[] {
  return [...integTemplates(), ...exampleTemplates()].flatMap(policiesOf);
}

/** The role CloudFormation creates a stack's keys with (DefaultStackSynthesizer's execution role). */
export function executionRole(p: AppPolicy): string {
  return `arn:aws:iam::${p.account}:role/cdk-hnb659fds-cfn-exec-role-${p.account}-${p.region}`;
}
