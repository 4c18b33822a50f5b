// CmekKeyFleet: per-tenant keys from one template, stable sharding across nested stacks, CloudFormation limits and tenant validation.
import { App, Duration, Lazy, RemovalPolicy, Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as fc from 'fast-check';
import { synthesizeFleet, tenantId } from './synth-fleet';
import { CmekGrantee, CmekKey } from '../../src';
import { CmekKeyFleet, CmekKeyFleetProps } from '../../src/fleet/cmek-key-fleet';
import { fnv1a32, shardIndex } from '../../src/fleet/shard';
import { nagApp } from '../support/nag';

const ENV = { account: '999999999999', region: 'eu-west-1' };
const VENDOR = CmekGrantee.account('111122223333', { name: 'vendor' });

function fleetStack(props: CmekKeyFleetProps, app: App = nagApp()): { stack: Stack; fleet: CmekKeyFleet } {
  const stack = new Stack(app, 'Platform', { env: ENV });
  return { stack, fleet: new CmekKeyFleet(stack, 'Tenants', props) };
}

/** Where a key lives: its nested stack's path and its logical id there. Both must never change for a deployed tenant. */
function location(key: CmekKey): string {
  const stack = Stack.of(key);
  return `${stack.node.path}#${stack.getLogicalId(key.key.node.defaultChild as any)}`;
}

function sids(template: Template): string[] {
  const [key] = Object.values(template.findResources('AWS::KMS::Key'));
  return key.Properties.KeyPolicy.Statement.map((s: any) => s.Sid);
}

describe('CmekKeyFleet', () => {
  describe('keys from the template', () => {
    test('GIVEN two tenants and shared defaults WHEN synthesized THEN each tenant has its own key, alias and tag, with the shared grantee and its own', () => {
      const { fleet } = fleetStack({
        keyDefaults: { grantees: [VENDOR], tags: { team: 'platform' } },
        tenants: [
          { id: 'acme', grantees: [CmekGrantee.role('arn:aws:iam::222233334444:role/acme-reader')] },
          { id: 'globex', name: 'Globex_Corp' },
        ],
      });
      const acme = Template.fromStack(Stack.of(fleet.keyFor('acme')) as Stack);
      acme.hasResourceProperties('AWS::KMS::Alias', { AliasName: 'alias/cmek/acme' });
      acme.hasResourceProperties('AWS::KMS::Key', {
        Description: 'Customer-managed key for tenant acme',
        Tags: Match.arrayWith([{ Key: 'cmek:tenant', Value: 'acme' }, { Key: 'team', Value: 'platform' }]),
      });
      const globex = Template.fromStack(Stack.of(fleet.keyFor('globex')) as Stack);
      globex.hasResourceProperties('AWS::KMS::Alias', { AliasName: 'alias/cmek/Globex_Corp' });

      const acmeKeyTemplate = acme.findResources('AWS::KMS::Key', { Properties: { Tags: Match.arrayWith([{ Key: 'cmek:tenant', Value: 'acme' }]) } });
      const acmeSids = Object.values(acmeKeyTemplate)[0].Properties.KeyPolicy.Statement.map((s: any) => s.Sid);
      expect(acmeSids).toEqual(['CmekAccountRoot', 'CmekDeletionGuard', 'CmekDeletionGuardUsageUnknown', 'CmekMinimumPendingWindow', 'CmekUsageVendor', 'CmekUsageAcmeReader']);
      expect(fleet.keyFor('globex').granteeNames).toEqual(['Vendor']);
    });

    test('GIVEN per-tenant overrides WHEN synthesized THEN they replace the defaults for that tenant only', () => {
      const { fleet } = fleetStack({
        keyDefaults: { pendingWindow: Duration.days(30), rotationPeriod: Duration.days(180), deletionGuard: { minDaysUnused: 90 } },
        tenants: [
          { id: 'plain' },
          {
            id: 'special',
            pendingWindow: Duration.days(7),
            description: 'Special tenant',
            deletionGuard: { enabled: false },
            multiRegion: true,
            tags: { tier: 'gold' },
          },
        ],
      });
      const props = (id: string) => {
        const t = Template.fromStack(Stack.of(fleet.keyFor(id)) as Stack);
        const keys = t.findResources('AWS::KMS::Key', { Properties: { Tags: Match.arrayWith([{ Key: 'cmek:tenant', Value: id }]) } });
        return Object.values(keys)[0].Properties;
      };
      expect(props('plain')).toMatchObject({ PendingWindowInDays: 30, RotationPeriodInDays: 180, Description: 'Customer-managed key for tenant plain' });
      expect(props('plain').MultiRegion).toBeUndefined();
      expect(props('special')).toMatchObject({ PendingWindowInDays: 7, RotationPeriodInDays: 180, Description: 'Special tenant', MultiRegion: true });
      expect(props('special').Tags).toEqual(expect.arrayContaining([{ Key: 'tier', Value: 'gold' }]));
      expect(fleet.keyFor('plain').deletionGuardEnabled).toBe(true);
      expect(fleet.keyFor('special').deletionGuardEnabled).toBe(false);
    });

    test('GIVEN a custom alias pattern WHEN a tenant is added later with addTenant THEN its alias follows the pattern and keyFor finds it', () => {
      const { fleet } = fleetStack({ aliasPattern: 'alias/vendor-x/{tenant}/data' });
      const key = fleet.addTenant({ id: 'initech' });
      expect(fleet.keyFor('initech')).toBe(key);
      expect(key.aliasName).toBe('alias/vendor-x/initech/data');
      expect(fleet.tenantIds).toEqual(['initech']);
    });

    test('GIVEN a fleet WHEN asked for a tenant it does not have THEN the error names the tenant', () => {
      const { fleet } = fleetStack({ tenants: [{ id: 'acme' }] });
      expect(() => fleet.keyFor('acme-corp')).toThrow('`tenantId` must be a tenant of fleet Platform/Tenants, got: "acme-corp"');
    });

    test('GIVEN a fleet of 20 tenants under cdk-nag WHEN synthesized THEN there is no finding', () => {
      const app = nagApp();
      const tenants = Array.from({ length: 20 }, (_, i) => ({ id: tenantId(i) }));
      const { fleet } = fleetStack({ keyDefaults: { grantees: [VENDOR] }, tenants }, app);
      expect(() => app.synth()).not.toThrow();
      expect(fleet.shards.length).toBeGreaterThan(1);
    });

    test('GIVEN a fleet with its deletion monitor and usage auditor under cdk-nag WHEN synthesized THEN there is no finding, and one of each', () => {
      const app = nagApp();
      const { stack, fleet } = fleetStack({ deletionMonitor: {}, usageAuditor: {}, tenants: [{ id: 'acme' }, { id: 'globex' }] }, app);
      expect(() => app.synth()).not.toThrow();
      expect(fleet.deletionMonitor?.alarms).toHaveLength(3);
      Template.fromStack(stack).resourcePropertiesCountIs('AWS::Lambda::Function', {
        Environment: { Variables: { ALIAS_PREFIX: 'alias/cmek/', THRESHOLD_DAYS: '365' } },
      }, 1);
    });

    test('GIVEN a usage auditor scoped by tag WHEN the fleet is made THEN the fleet does not add an alias prefix', () => {
      const { stack } = fleetStack({ aliasPattern: 'alias/x/{tenant}', usageAuditor: { tagKey: 'cmek:tenant', thresholdDays: 90 }, tenants: [{ id: 'acme' }] });
      const [fn] = Object.values(Template.fromStack(stack).findResources('AWS::Lambda::Function'));
      expect(fn.Properties.Environment.Variables).toEqual({ TAG_KEY: 'cmek:tenant', THRESHOLD_DAYS: '90', AUDITOR_NAME: expect.any(String) });
    });

    test('GIVEN a fleet monitor narrowed to keys WHEN the fleet is made THEN it is rejected', () => {
      const other = new CmekKey(new Stack(new App(), 'Other'), 'K', { alias: 'other' });
      expect(() => fleetStack({ deletionMonitor: { keys: [other] } })).toThrow(
        '`deletionMonitor.keys` must be left out for a fleet (the monitor covers every key in the account), got: 1 keys',
      );
    });

    test('GIVEN rotation turned off for one tenant WHEN the fleet is made THEN the tenant needs a reason, which then answers cdk-nag in its nested stack', () => {
      expect(() => fleetStack({ tenants: [{ id: 'acme' }, { id: 'lax', enableKeyRotation: false }] })).toThrow(
        '`enableKeyRotation: false` needs `rotationDisabledReason` (Security Hub KMS.4 expects rotation on), got: "<none>"',
      );
      const app = nagApp();
      fleetStack({ tenants: [{ id: 'acme' }, { id: 'lax', enableKeyRotation: false, rotationDisabledReason: 'the tenant rotates by re-keying' }] }, app);
      expect(() => app.synth()).not.toThrow();
    });

    test('GIVEN a tenant without grantees WHEN synthesized THEN its policy holds only the account root and the deletion guard', () => {
      const { fleet } = fleetStack({ tenants: [{ id: 'solo' }] });
      expect(sids(Template.fromStack(Stack.of(fleet.keyFor('solo')) as Stack))).toEqual(['CmekAccountRoot', 'CmekDeletionGuard', 'CmekDeletionGuardUsageUnknown', 'CmekMinimumPendingWindow']);
    });
  });

  describe('stable sharding', () => {
    test('GIVEN the FNV-1a test vectors WHEN hashed THEN the published values come out (the shard function must never change)', () => {
      expect(fnv1a32('')).toBe(0x811c9dc5);
      expect(fnv1a32('a')).toBe(0xe40c292c);
      expect(fnv1a32('foobar')).toBe(0xbf9cf968);
      expect(shardIndex('foobar', 16)).toBe(0xbf9cf968 % 16);
    });

    test('GIVEN a tenant WHEN placed THEN it lands in the nested stack of its hash, named by the shard index only', () => {
      const { fleet } = fleetStack({ tenants: [{ id: 'foobar' }] });
      expect(fleet.shardOf('foobar')).toBe(8);
      expect(Stack.of(fleet.keyFor('foobar')).node.path).toBe('Platform/Tenants/Shard008');
      expect(fleet.shards.map((s) => s.node.id)).toEqual(['Shard008']);
    });

    test('GIVEN any set of tenants WHEN one is added or one removed THEN no other tenant changes nested stack or logical id', () => {
      const id = fc.stringMatching(/^[a-z0-9]([a-z0-9-]{0,20}[a-z0-9])?$/);
      fc.assert(
        fc.property(fc.uniqueArray(id, { minLength: 2, maxLength: 12 }), fc.integer({ min: 1, max: 32 }), (ids, shardCount) => {
          const place = (list: string[]) => {
            const { fleet } = fleetStack({ shardCount, tenants: list.map((t) => ({ id: t })) }, new App());
            return new Map(list.map((t) => [t, location(fleet.keyFor(t))]));
          };
          const [extra, ...base] = ids;
          const before = place(base);
          const added = place([...base.slice(0, 1), extra, ...base.slice(1)]);
          const removed = place(base.slice(1));
          for (const t of base) expect(added.get(t)).toBe(before.get(t));
          for (const t of base.slice(1)) expect(removed.get(t)).toBe(before.get(t));
        }),
        { numRuns: 25 },
      );
    });

    test('GIVEN a renamed tenant (new name, same id) WHEN synthesized THEN only the alias changes; the key keeps its logical id', () => {
      const before = fleetStack({ tenants: [{ id: 'acme', name: 'acme' }] }, new App()).fleet.keyFor('acme');
      const after = fleetStack({ tenants: [{ id: 'acme', name: 'acme-corp' }] }, new App()).fleet.keyFor('acme');
      expect(location(after)).toBe(location(before));
      expect([before.aliasName, after.aliasName]).toEqual(['alias/cmek/acme', 'alias/cmek/acme-corp']);
    });

    test('GIVEN deployed tenants pinned to their shards WHEN shardCount is raised THEN they keep their place and new tenants use the new count', () => {
      const ids = Array.from({ length: 30 }, (_, i) => tenantId(i));
      const small = fleetStack({ shardCount: 4, tenants: ids.map((id) => ({ id })) }, new App()).fleet;
      const grown = fleetStack({
        shardCount: 64,
        tenants: [...ids.map((id) => ({ id, shard: small.shardOf(id) })), { id: 'newcomer' }],
      }, new App()).fleet;
      for (const id of ids) expect(location(grown.keyFor(id))).toBe(location(small.keyFor(id)));
      expect(grown.shardOf('newcomer')).toBe(shardIndex('newcomer', 64));
    });
  });

  describe('CloudFormation limits', () => {
    let thousand: ReturnType<typeof synthesizeFleet>;
    let plusOne: ReturnType<typeof synthesizeFleet>;
    let single: ReturnType<typeof synthesizeFleet>;
    beforeAll(() => {
      const fleetProps = { deletionMonitor: {}, usageAuditor: {} };
      thousand = synthesizeFleet(1000, { fleetProps });
      plusOne = synthesizeFleet(1001, { fleetProps });
      single = synthesizeFleet(1, { fleetProps });
    }, 300_000);

    const count = (run: ReturnType<typeof synthesizeFleet>, type: string) =>
      run.templates.reduce((n, t) => n + Object.values<any>(t.template.Resources ?? {}).filter((r) => r.Type === type).length, 0);

    test('GIVEN 1,000 tenants WHEN synthesized THEN every template written holds at most 500 resources and 1 MB', () => {
      expect(thousand.keyLocations.size).toBe(1000);
      expect(thousand.templates.length).toBe(1 + CmekKeyFleet.DEFAULT_SHARD_COUNT);
      for (const t of thousand.templates) {
        expect(t.resources).toBeLessThanOrEqual(500);
        expect(t.bytes).toBeLessThanOrEqual(1_000_000);
      }
    });

    test('GIVEN 1,000 deployed tenants WHEN tenant 1,001 is added THEN no existing key changes template or logical id', () => {
      expect(plusOne.keyLocations.size).toBe(1001);
      for (const [tenant, where] of thousand.keyLocations) expect(plusOne.keyLocations.get(tenant)).toEqual(where);
    });

    test('GIVEN a fleet monitor WHEN the fleet has 1, 1,000 or 1,001 tenants THEN it has the same metric filters, alarms, rules and audit function, in the fleet\'s stack', () => {
      const shape = (run: ReturnType<typeof synthesizeFleet>) =>
        ['AWS::Logs::MetricFilter', 'AWS::CloudWatch::Alarm', 'AWS::Events::Rule', 'AWS::CloudTrail::Trail', 'AWS::Lambda::Function'].map((type) => count(run, type));
      // Deletion monitor: 3 filters, 3 alarms, 1 rule, 1 trail; usage auditor: 2 alarms, 1 schedule, 1 function.
      expect(shape(single)).toEqual([3, 5, 2, 1, 1]);
      expect(shape(thousand)).toEqual(shape(single));
      expect(shape(plusOne)).toEqual(shape(single));
      const parent = thousand.templates.find((t) => t.file === 'Platform.template.json')!;
      expect(Object.values<any>(parent.template.Resources).filter((r) => r.Type === 'AWS::Logs::MetricFilter')).toHaveLength(3);
      expect(count(thousand, 'AWS::KMS::Key')).toBe(1000 + count(single, 'AWS::KMS::Key') - 1);
    });

    test('GIVEN one shard and 260 tenants WHEN synthesized THEN synthesis fails naming the shard, the count and shardCount', () => {
      const { stack } = fleetStack({ shardCount: 1, tenants: Array.from({ length: 260 }, (_, i) => ({ id: tenantId(i) })) }, new App());
      expect(() => Template.fromStack(stack)).toThrow(
        /shard 0 of fleet Platform\/Tenants would hold 260 tenants, 520 resources \(limit 500\): raise `shardCount` \(now 1\)/,
      );
    });

    test('GIVEN a role of the parent stack granted on 201 keys of one shard WHEN synthesized THEN synthesis fails on the 200 outputs a template allows', () => {
      const app = new App();
      const stack = new Stack(app, 'Platform', { env: ENV });
      const role = new iam.Role(stack, 'App', { assumedBy: new iam.AccountRootPrincipal() });
      const tenants = Array.from({ length: 201 }, (_, i) => ({ id: tenantId(i) }));
      new CmekKeyFleet(stack, 'Tenants', { shardCount: 1, keyDefaults: { grantees: [CmekGrantee.principal(role)] }, tenants });
      expect(() => Template.fromStack(stack)).toThrow(/shard 0 of fleet Platform\/Tenants would hold 201 tenants, 201 outputs \(limit 200\)/);
    });

    test('GIVEN one shard of tenants with large policies WHEN synthesized THEN synthesis fails on the template size before CloudFormation would', () => {
      const grantees = Array.from({ length: 25 }, (_, i) => CmekGrantee.role(`arn:aws:iam::2222333344${String(i).padStart(2, '0')}:role/reader`, {
        name: `reader-${i}`,
        encryptionContext: { dataset: `dataset-${i}` },
        viaServices: ['s3.eu-west-1.amazonaws.com'],
      }));
      const tenants = Array.from({ length: 120 }, (_, i) => ({ id: tenantId(i) }));
      const { stack } = fleetStack({ shardCount: 1, keyDefaults: { grantees }, tenants }, new App());
      expect(() => Template.fromStack(stack)).toThrow(/shard 0 of fleet Platform\/Tenants would hold 120 tenants, \d+ bytes of template \(limit 1000000\)/);
    });
  });

  describe('tenant validation', () => {
    test.each([
      ['Acme', 'uppercase'],
      ['acme-', 'a trailing hyphen'],
      ['-acme', 'a leading hyphen'],
      ['acme_corp', 'an underscore'],
      ['', 'nothing'],
      ['a'.repeat(65), '65 characters'],
    ])('GIVEN the tenant id %j (%s) WHEN added THEN it is rejected', (id) => {
      expect(() => fleetStack({ tenants: [{ id }] })).toThrow(`tenant \`id\` must be lowercase letters, digits and inner hyphens, at most 64 characters, and not a token (it names the key's logical id), got: ${JSON.stringify(id)}`);
    });

    test('GIVEN a token as tenant id WHEN added THEN it is rejected', () => {
      expect(() => fleetStack({ tenants: [{ id: Lazy.string({ produce: () => 'acme' }) }] })).toThrow('got: "<token>"');
    });

    test('GIVEN the same id twice WHEN added THEN the error names it', () => {
      expect(() => fleetStack({ tenants: [{ id: 'acme' }, { id: 'acme', name: 'other' }] })).toThrow('tenant `id` must be unique in the fleet, got: "acme" twice');
    });

    test('GIVEN two tenants whose names give the same alias (up to case) WHEN added THEN the error names both', () => {
      expect(() => fleetStack({ tenants: [{ id: 'acme' }, { id: 'acme-2', name: 'ACME' }] })).toThrow(
        'tenant `name` must give each tenant its own alias, got: "ACME" for acme-2, whose alias alias/cmek/ACME tenant acme has already',
      );
    });

    test.each(['a b', 'acme/', 'x*', 'a'.repeat(201)])('GIVEN the tenant name %j WHEN added THEN it is rejected', (name) => {
      expect(() => fleetStack({ tenants: [{ id: 'acme', name }] })).toThrow(`\`name\` of tenant acme must be letters, digits, _, - and inner /, at most 200 characters, and not a token (it becomes the alias), got: ${JSON.stringify(name)}`);
    });

    test.each(['alias/cmek/', 'alias/{tenant}/{tenant}'])('GIVEN the alias pattern %j WHEN the fleet is made THEN it is rejected', (aliasPattern) => {
      expect(() => fleetStack({ aliasPattern })).toThrow(`\`aliasPattern\` must contain {tenant} exactly once, such as alias/cmek/{tenant}, got: ${JSON.stringify(aliasPattern)}`);
    });

    test('GIVEN an alias pattern under alias/aws/ WHEN a tenant is added THEN the key rejects it', () => {
      expect(() => fleetStack({ aliasPattern: 'alias/aws/{tenant}', tenants: [{ id: 'acme' }] })).toThrow('`alias` must not start with alias/aws/');
    });

    test.each([0, 201, 2.5])('GIVEN shardCount %p WHEN the fleet is made THEN it is rejected', (shardCount) => {
      expect(() => fleetStack({ shardCount })).toThrow(`\`shardCount\` must be an integer from 1 to 200, got: ${shardCount}`);
    });

    test('GIVEN a pin outside the shards WHEN the tenant is added THEN it is rejected', () => {
      expect(() => fleetStack({ shardCount: 4, tenants: [{ id: 'acme', shard: 4 }] })).toThrow('`shard of tenant acme` must be an integer from 0 to 3, got: 4');
    });
  });

  describe('renames and removals against the known tenants', () => {
    test('GIVEN a known tenant whose id was changed WHEN synthesized THEN one line explains that this replaces the key and how to rename instead', () => {
      const { stack } = fleetStack({ knownTenantIds: ['acme', 'globex'], tenants: [{ id: 'acme-corp', name: 'acme' }, { id: 'globex' }] }, new App());
      expect(() => Template.fromStack(stack)).toThrow(
        'tenant "acme" is in `knownTenantIds` but not in the fleet: changing a tenant\'s `id` replaces its key, so keep the id and change `name` to rename it, or list "acme" in `retiredTenantIds` to remove its key on purpose',
      );
    });

    test('GIVEN a known tenant that is retired WHEN synthesized THEN synthesis succeeds without its key', () => {
      const { stack, fleet } = fleetStack({ knownTenantIds: ['acme', 'globex'], retiredTenantIds: ['acme'], tenants: [{ id: 'globex' }] });
      expect(() => Template.fromStack(stack)).not.toThrow();
      expect(fleet.tenantIds).toEqual(['globex']);
    });

    test('GIVEN a retired tenant that is still in the fleet WHEN synthesized THEN it is an error', () => {
      const { stack } = fleetStack({ retiredTenantIds: ['acme'], tenants: [{ id: 'acme' }] }, new App());
      expect(() => Template.fromStack(stack)).toThrow('`retiredTenantIds` must not list a tenant that is still in the fleet, got: "acme"');
    });

    test('GIVEN removal policy DESTROY from the defaults with the guard on and no exemption WHEN synthesized THEN the key refuses it', () => {
      const app = new App();
      fleetStack({ keyDefaults: { removalPolicy: RemovalPolicy.DESTROY }, tenants: [{ id: 'acme' }] }, app);
      expect(() => app.synth()).toThrow('`removalPolicy: DESTROY`');
    });
  });

});
