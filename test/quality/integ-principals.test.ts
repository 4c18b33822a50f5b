// Every IAM role or user ARN that an integ or example template names is created by the same app: KMS and S3 refuse a policy whose principal does not exist, so an app naming one would fail on a real account.
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as cxapi from 'aws-cdk-lib/cx-api';
import { AppEntry, exampleApp, integApps, OUT_DIR, synthApp } from '../../scripts/integ-synth';

/** One synthesized template and the environment its pseudo parameters stand for. */
interface EnvTemplate {
  readonly name: string;
  readonly account: string;
  readonly region: string;
  readonly template: { Resources?: Record<string, { Type: string; Properties?: Record<string, unknown> }> };
}

/** Marks where a token that is not a pseudo parameter stood: an ARN built from one names something the app made. */
const TOKEN = '\u0000';

const PSEUDO: Record<string, (t: EnvTemplate) => string> = {
  'AWS::AccountId': (t) => t.account,
  'AWS::Region': (t) => t.region,
  'AWS::Partition': () => 'aws',
  'AWS::URLSuffix': () => 'amazonaws.com',
};

/** Every string in `value`, with `Fn::Join` and `Fn::Sub` put together and pseudo parameters filled in. */
function strings(value: unknown, t: EnvTemplate): string[] {
  const flat = (v: unknown): string => {
    if (typeof v === 'string') return v;
    const o = (v ?? {}) as Record<string, any>;
    if (typeof o.Ref === 'string') return PSEUDO[o.Ref]?.(t) ?? TOKEN;
    if (Array.isArray(o['Fn::Join'])) return (o['Fn::Join'][1] as unknown[]).map(flat).join(o['Fn::Join'][0]);
    if (typeof o['Fn::Sub'] === 'string') return o['Fn::Sub'].replace(/\$\{([^}]+)\}/g, (_: string, n: string) => PSEUDO[n]?.(t) ?? TOKEN);
    return TOKEN;
  };
  if (typeof value === 'string') return [value];
  if (Array.isArray(value)) return value.flatMap((v) => strings(v, t));
  if (value === null || typeof value !== 'object') return [];
  const o = value as Record<string, unknown>;
  if ('Fn::Join' in o || 'Fn::Sub' in o) return [flat(o)];
  return Object.values(o).flatMap((v) => strings(v, t));
}

/** The bootstrap qualifier of the apps' DefaultStackSynthesizer. */
const BOOTSTRAP_QUALIFIER = 'hnb659fds';

/** IAM role and user ARNs named literally in the templates that no template of the same app creates by name. */
export function uncreatedPrincipals(templates: EnvTemplate[]): string[] {
  const created = new Set<string>();
  for (const t of templates) {
    for (const r of Object.values(t.template.Resources ?? {})) {
      const p = r.Properties ?? {};
      const iamPath = typeof p.Path === 'string' ? p.Path : '/';
      if (r.Type === 'AWS::IAM::Role' && typeof p.RoleName === 'string') created.add(`arn:aws:iam::${t.account}:role${iamPath}${p.RoleName}`);
      if (r.Type === 'AWS::IAM::User' && typeof p.UserName === 'string') created.add(`arn:aws:iam::${t.account}:user${iamPath}${p.UserName}`);
    }
  }
  const missing = new Set<string>();
  for (const t of templates) {
    for (const s of strings(t.template.Resources ?? {}, t)) {
      for (const m of s.matchAll(/arn:aws[a-z-]*:iam::(\d{12}):([^\s"\u0000]+)(\u0000?)/g)) {
        const [arn, , resource, token] = m;
        // Account roots are fine (they always exist); wildcard patterns and ARNs built from the app's own resources name nothing fixed.
        if (resource === 'root' || token || /[*?]/.test(resource)) continue;
        // `cdk bootstrap` creates the CloudFormation execution role of the template's own environment.
        if (resource === `role/cdk-${BOOTSTRAP_QUALIFIER}-cfn-exec-role-${t.account}-${t.region}`) continue;
        if (!created.has(arn.replace(/^arn:aws[a-z-]*:/, 'arn:aws:'))) missing.add(`${t.name}: ${arn}`);
      }
    }
  }
  return [...missing].sort();
}

/** Synthesizes an app and returns every template it writes, nested ones included, with its stack's environment. */
function synthesize(app: AppEntry): EnvTemplate[] {
  const dir = path.join(OUT_DIR, 'integ-principals', app.name);
  const templates = synthApp(app, dir);
  const stacks = new cxapi.CloudAssembly(dir).stacksRecursively;
  return templates.map((t) => {
    // A nested stack's template is named after its parent stack (the longest name it starts with), whose environment it shares.
    const owner = stacks
      .filter((s) => s.templateFullPath === t.file || path.basename(t.file).startsWith(s.stackName))
      .sort((a, b) => Number(b.templateFullPath === t.file) - Number(a.templateFullPath === t.file) || b.stackName.length - a.stackName.length)[0];
    return { name: t.stack, account: owner.environment.account, region: owner.environment.region, template: JSON.parse(fs.readFileSync(t.file, 'utf8')) };
  });
}

describe('principals named by the integ and example apps', () => {
  test('GIVEN a policy naming a role nobody creates WHEN checked THEN that role is reported, and roots, created roles, token-built ARNs and the bootstrap execution role are not', () => {
    const policy = {
      Statement: [
        { Principal: { AWS: ['arn:aws:iam::111122223333:root', 'arn:aws:iam::111122223333:role/made-here', 'arn:aws:iam::111122223333:role/nowhere'] } },
        { Principal: { AWS: { 'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, ':iam::', { Ref: 'AWS::AccountId' }, ':role/also-nowhere']] } } },
        { Principal: { AWS: { 'Fn::GetAtt': ['Made', 'Arn'] } } },
        { Principal: { AWS: { 'Fn::Join': ['', ['arn:aws:iam::999999999999:role/', { Ref: 'Made' }]] } } },
        { Condition: { ArnNotLike: { 'aws:PrincipalArn': 'arn:aws:iam::999999999999:role/cmek-*' } } },
        { Principal: { AWS: 'arn:aws:iam::999999999999:role/cdk-hnb659fds-cfn-exec-role-999999999999-eu-west-1' } },
        { Principal: { AWS: 'arn:aws:iam::999999999999:role/cdk-hnb659fds-cfn-exec-role-999999999999-us-east-1' } },
      ],
    };
    const templates: EnvTemplate[] = [
      { name: 'Vendor', account: '111122223333', region: 'eu-west-1', template: { Resources: { R: { Type: 'AWS::IAM::Role', Properties: { RoleName: 'made-here' } } } } },
      { name: 'Platform', account: '999999999999', region: 'eu-west-1', template: { Resources: { K: { Type: 'AWS::KMS::Key', Properties: { KeyPolicy: policy } } } } },
    ];
    expect(uncreatedPrincipals(templates)).toEqual([
      'Platform: arn:aws:iam::111122223333:role/nowhere',
      'Platform: arn:aws:iam::999999999999:role/also-nowhere',
      // Another region's execution role is not this environment's bootstrap.
      'Platform: arn:aws:iam::999999999999:role/cdk-hnb659fds-cfn-exec-role-999999999999-us-east-1',
    ]);
  });

  const apps = [exampleApp(), ...integApps()];
  test.each(apps.map((a) => [path.relative(path.join(__dirname, '..', '..'), a.file), a] as const))(
    'GIVEN %s WHEN synthesized THEN every role or user ARN it names is created in the app',
    (_, app) => {
      const templates = synthesize(app);
      expect(templates.length).toBeGreaterThan(0);
      expect(uncreatedPrincipals(templates)).toEqual([]);
    },
  );
});
