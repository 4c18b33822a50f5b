// The apps the fleet benchmark compares: a CmekKeyFleet of N tenants, N CmekKeys in one stack, and N plain kms.Keys
// with the same key policy, written out by hand.
import { App, Stack, Tags } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import { Construct } from 'constructs';
import { CmekGrantee, CmekKey } from '../src';
import { PLAIN_USAGE_ACTIONS, plainKey, plainRootAndGuard } from './synth-apps';
import { synthesizeFleet, tenantId } from '../test/fleet/synth-fleet';

export type FleetKind = 'fleet' | 'cmek' | 'plain';

const OWNER = '999999999999';
const REGION = 'eu-west-1';
const VENDOR = '111122223333';
const BREAK_GLASS = `arn:aws:iam::${OWNER}:role/KeyBreakGlass`;
const reader = (i: number) => `arn:aws:iam::222233334444:role/${tenantId(i)}-reader`;

export interface FleetAppResult {
  readonly constructMs: number;
  readonly synthMs: number;
  readonly templates: number;
  readonly templateBytes: number;
  readonly resources: number;
  readonly keys: number;
}

/** Builds and synthesizes one app of `n` tenant keys into `outdir`. */
export function synthFleetApp(kind: FleetKind, n: number, outdir: string): FleetAppResult {
  if (kind === 'fleet') {
    const r = synthesizeFleet(n, { outdir });
    return summarize(r.constructMs, r.synthMs, r.templates.map((t) => t.template), r.templates.reduce((s, t) => s + t.bytes, 0));
  }
  const t0 = performance.now();
  // aws-cdk-lib refuses more than 500 resources per stack; one stack of N keys is the point of the comparison.
  const app = new App({ outdir, context: { '@aws-cdk/core:stackResourceLimit': 0 } });
  const stack = new Stack(app, 'Platform', { env: { account: OWNER, region: REGION } });
  for (let i = 1; i <= n; i++) {
    if (kind === 'cmek') addCmekKey(stack, i);
    else addPlainKey(stack, i);
  }
  const t1 = performance.now();
  const assembly = app.synth();
  const t2 = performance.now();
  const artifact = assembly.getStackArtifact('Platform');
  const bytes = Buffer.byteLength(JSON.stringify(artifact.template, undefined, 1));
  return summarize(t1 - t0, t2 - t1, [artifact.template], bytes);
}

function summarize(constructMs: number, synthMs: number, templates: any[], templateBytes: number): FleetAppResult {
  const types = templates.flatMap((t) => Object.values<any>(t.Resources ?? {}).map((r) => r.Type as string));
  return {
    constructMs,
    synthMs,
    templates: templates.length,
    templateBytes,
    resources: types.length,
    keys: types.filter((t) => t === 'AWS::KMS::Key').length,
  };
}

/** A tenant's key as the fleet makes it, without the fleet: same grantees, guard exemption and tags. */
function addCmekKey(stack: Stack, i: number): void {
  const key = new CmekKey(stack, tenantId(i), {
    alias: `cmek/${tenantId(i)}`,
    description: `Customer-managed key for tenant ${tenantId(i)}`,
    grantees: [
      CmekGrantee.account(VENDOR, { name: 'vendor', viaServices: [`s3.${REGION}.amazonaws.com`] }),
      CmekGrantee.role(reader(i), { name: 'reader' }),
    ],
    deletionGuard: { exemptPrincipalArns: [BREAK_GLASS] },
  });
  Tags.of(key).add('cmek:tenant', tenantId(i));
  Tags.of(key).add('team', 'platform');
}

/** The key policy a tenant key renders, written out with aws-cdk-lib alone. */
function addPlainKey(stack: Stack, i: number): void {
  const policy = new iam.PolicyDocument({
    statements: [
      ...plainRootAndGuard(OWNER, [BREAK_GLASS]),
      new iam.PolicyStatement({
        sid: 'CmekUsageVendor',
        principals: [new iam.AccountPrincipal(VENDOR)],
        actions: PLAIN_USAGE_ACTIONS,
        resources: ['*'],
        conditions: { StringEquals: { 'kms:ViaService': [`s3.${REGION}.amazonaws.com`] } },
      }),
      new iam.PolicyStatement({ sid: 'CmekUsageReader', principals: [new iam.ArnPrincipal(reader(i))], actions: PLAIN_USAGE_ACTIONS, resources: ['*'] }),
    ],
  });
  const scope = new Construct(stack, tenantId(i));
  plainKey(scope, `alias/cmek/${tenantId(i)}`, `Customer-managed key for tenant ${tenantId(i)}`, policy);
  Tags.of(scope).add('cmek:tenant', tenantId(i));
  Tags.of(scope).add('team', 'platform');
}
