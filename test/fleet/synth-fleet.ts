// Builds and synthesizes a fleet of N tenants and reads back every template as written: for tests and benchmarks.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { App, Stack, cx_api as cxapi } from 'aws-cdk-lib';
import { CmekKeyFleet, CmekKeyFleetProps } from '../../src/fleet/cmek-key-fleet';
import { CmekGrantee } from '../../src/key/grantee';

export interface FleetSynthOptions {
  /** @default CmekKeyFleet.DEFAULT_SHARD_COUNT */
  readonly shardCount?: number;
  /**
   * An app to synthesize in (for example one with cdk-nag).
   * @default an App without construct stack-trace metadata (debugging aid, not part of the templates)
   */
  readonly app?: App;
  /** Where the cloud assembly is written. @default - a temporary directory chosen by the App */
  readonly outdir?: string;
  /** Extra fleet props (tenants are generated). */
  readonly fleetProps?: Omit<CmekKeyFleetProps, 'tenants'>;
}

export interface SynthesizedTemplate {
  /** The template file name in the cloud assembly. */
  readonly file: string;
  readonly bytes: number;
  readonly resources: number;
  readonly template: any;
}

export interface FleetSynthResult {
  /** Milliseconds spent building the construct tree. */
  readonly constructMs: number;
  /** Milliseconds spent in `app.synth()` (validation, cdk-nag when the app has it, writing templates). */
  readonly synthMs: number;
  /** Every template written: the parent stack's and each shard's. */
  readonly templates: SynthesizedTemplate[];
  /** For each tenant id: the template file and logical id of its key. */
  readonly keyLocations: Map<string, { file: string; logicalId: string }>;
  readonly fleet: CmekKeyFleet;
}

/** `tenant-0001` … : names that sort and read well. */
export function tenantId(i: number): string {
  return `tenant-${String(i).padStart(4, '0')}`;
}

/**
 * Synthesizes a platform stack holding a fleet of `tenantCount` tenants, each with the fleet's vendor
 * grantee plus one grantee of its own, and reports timings and every written template.
 */
export function synthesizeFleet(tenantCount: number, options: FleetSynthOptions = {}): FleetSynthResult {
  const app = options.app ?? new App({ outdir: options.outdir, context: { [cxapi.DISABLE_METADATA_STACK_TRACE]: true } });
  const started = performance.now();
  const stack = new Stack(app, 'Platform', { env: { account: '999999999999', region: 'eu-west-1' } });
  const fleet = new CmekKeyFleet(stack, 'Tenants', {
    shardCount: options.shardCount,
    keyDefaults: {
      grantees: [CmekGrantee.account('111122223333', { name: 'vendor', viaServices: ['s3.eu-west-1.amazonaws.com'] })],
      deletionGuard: { exemptPrincipalArns: ['arn:aws:iam::999999999999:role/KeyBreakGlass'] },
      tags: { team: 'platform' },
    },
    ...options.fleetProps,
    tenants: Array.from({ length: tenantCount }, (_, i) => ({
      id: tenantId(i + 1),
      grantees: [CmekGrantee.role(`arn:aws:iam::222233334444:role/${tenantId(i + 1)}-reader`, { name: 'reader' })],
    })),
  });
  const constructMs = performance.now() - started;
  const synthStart = performance.now();
  const assembly = app.synth();
  const synthMs = performance.now() - synthStart;

  const templates: SynthesizedTemplate[] = fs
    .readdirSync(assembly.directory)
    .filter((f) => f.endsWith('.template.json'))
    .map((file) => {
      const text = fs.readFileSync(path.join(assembly.directory, file), 'utf8');
      const template = JSON.parse(text);
      return { file, bytes: Buffer.byteLength(text), resources: Object.keys(template.Resources ?? {}).length, template };
    });
  const keyLocations = new Map<string, { file: string; logicalId: string }>();
  for (const t of templates) {
    for (const [logicalId, r] of Object.entries<any>(t.template.Resources ?? {})) {
      if (r.Type !== 'AWS::KMS::Key') continue;
      const tag = (r.Properties.Tags ?? []).find((x: any) => x.Key === 'cmek:tenant');
      if (tag) keyLocations.set(tag.Value, { file: t.file, logicalId });
    }
  }
  return { constructMs, synthMs, templates, keyLocations, fleet };
}
