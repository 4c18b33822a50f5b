// CmekKeyFleet: one CmekKey per tenant from a shared template, sharded across nested stacks by a stable hash of the tenant id.
import { CfnElement, CfnOutput, CfnResource, NestedStack, Stack, Tags } from 'aws-cdk-lib';
import { Construct } from 'constructs';
import { shardIndex } from './shard';
import {
  aliasFor,
  CmekFleetKeyOptions,
  CmekFleetTenant,
  normalizeAliasPattern,
  validateAliasPattern,
  validateTenantId,
  validateTenantName,
} from './tenant';
import { CmekKey } from '../key/cmek-key';
import { KeyDeletionMonitor, KeyDeletionMonitorProps } from '../monitoring/key-deletion-monitor';
import { KeyUsageAuditor, KeyUsageAuditorProps } from '../monitoring/key-usage-auditor';
import { withPath } from '../private/errors';
import { got, validateInteger } from '../private/validate';

/**
 * Properties of a `CmekKeyFleet`.
 */
export interface CmekKeyFleetProps {
  /**
   * The tenants, one key each.
   *
   * @default - none (add them with `addTenant`)
   */
  readonly tenants?: CmekFleetTenant[];

  /**
   * Key settings every tenant gets unless it overrides them.
   *
   * @default - the CmekKey defaults: rotation yearly, a 30-day window, RETAIN, the deletion guard on
   */
  readonly keyDefaults?: CmekFleetKeyOptions;

  /**
   * The alias of each tenant's key, with `{tenant}` standing for the tenant's name (`alias/` is added when missing).
   *
   * @default "alias/cmek/{tenant}"
   */
  readonly aliasPattern?: string;

  /**
   * How many nested stacks the keys are spread over, from 1 to 200. Choose it once: a tenant's shard is
   * a hash of its id modulo this count, so changing it moves (and replaces) keys unless every deployed
   * tenant is pinned with its `shard`. A tenant costs 2 resources (key and alias) of the 500 a template
   * allows; the default holds about 3,000 tenants.
   *
   * @default 16
   */
  readonly shardCount?: number;

  /**
   * Ids of every tenant this fleet has deployed, as recorded by the team (for example a JSON file beside
   * the app, updated from `tenantIds` after each deployment). A known id missing from the tenants fails
   * synthesis, because a changed id would replace that tenant's key: rename with `name` instead.
   *
   * @default - no check
   */
  readonly knownTenantIds?: string[];

  /**
   * Known tenant ids whose keys are removed on purpose (each key then follows its removal policy).
   *
   * @default - none
   */
  readonly retiredTenantIds?: string[];

  /**
   * One `KeyDeletionMonitor` for the whole fleet, in the fleet's own stack: its metric filters are per log
   * group, so a fleet of any size costs the same filters and alarms as one key. Its `keys` must be left
   * out — the fleet's keys live in the shards, and the notice then covers every key in the account.
   *
   * @default - no monitor (use an account-wide one)
   */
  readonly deletionMonitor?: KeyDeletionMonitorProps;

  /**
   * One `KeyUsageAuditor` for the whole fleet, in the fleet's own stack. Unless it names an `aliasPrefix`
   * or a `tagKey`, it audits the keys whose alias starts with the part of `aliasPattern` before `{tenant}`.
   *
   * @default - no auditor (use an account-wide one)
   */
  readonly usageAuditor?: KeyUsageAuditorProps;
}

/** A shard's share of the template limits. */
interface ShardUsage {
  readonly resources: number;
  readonly outputs: number;
  readonly bytes: number;
}

/** CloudFormation's limits per template; the byte limit is the one the CDK applies (1,000,000). */
const MAX_RESOURCES = 500;
const MAX_OUTPUTS = 200;
const MAX_TEMPLATE_BYTES = 1_000_000;
const MAX_SHARDS = 200;

/**
 * One customer-managed key per tenant, all made from one template (grantees, deletion guard, rotation,
 * tags, alias pattern) with per-tenant overrides.
 *
 * Keys live in nested stacks ("shards") so that a fleet of thousands stays within CloudFormation's 500
 * resources and 1 MB per template. A tenant's shard is FNV-1a of its id modulo `shardCount` (or its
 * `shard` pin): it depends on nothing else, so adding or removing a tenant never moves another tenant's
 * key, and a key's logical id depends only on its tenant id.
 */
export class CmekKeyFleet extends Construct {
  /** The shard count used when `shardCount` is not given. */
  public static readonly DEFAULT_SHARD_COUNT = 16;

  /** The number of shards tenants are spread over. */
  public readonly shardCount: number;

  /** The alias pattern, with `{tenant}` standing for the tenant's name. */
  public readonly aliasPattern: string;

  /** The fleet's deletion monitor, when `deletionMonitor` was given. */
  public readonly deletionMonitor?: KeyDeletionMonitor;

  /** The fleet's usage auditor, when `usageAuditor` was given. */
  public readonly usageAuditor?: KeyUsageAuditor;

  private readonly defaults: CmekFleetKeyOptions;
  private readonly keys = new Map<string, CmekKey>();
  private readonly tenantShards = new Map<string, number>();
  private readonly aliases = new Map<string, string>();
  private readonly shardStacks = new Map<number, NestedStack>();

  constructor(scope: Construct, id: string, props: CmekKeyFleetProps = {}) {
    super(scope, id);
    try {
      this.shardCount = props.shardCount ?? CmekKeyFleet.DEFAULT_SHARD_COUNT;
      validateInteger('shardCount', this.shardCount, 1, MAX_SHARDS);
      validateAliasPattern(props.aliasPattern ?? 'alias/cmek/{tenant}');
      this.aliasPattern = normalizeAliasPattern(props.aliasPattern ?? 'alias/cmek/{tenant}');
      this.defaults = props.keyDefaults ?? {};
      for (const tenant of props.tenants ?? []) this.addTenant(tenant);
      if (props.deletionMonitor) {
        if (props.deletionMonitor.keys !== undefined) {
          // A key list would reference every key across the nested stacks (one output each) for a notice
          // the account-wide rule already gives.
          throw new Error(`\`deletionMonitor.keys\` must be left out for a fleet (the monitor covers every key in the account), got: ${props.deletionMonitor.keys.length} keys`);
        }
        this.deletionMonitor = new KeyDeletionMonitor(this, 'DeletionMonitor', props.deletionMonitor);
      }
      if (props.usageAuditor) {
        const auditor = props.usageAuditor;
        const scoped = auditor.aliasPrefix !== undefined || auditor.tagKey !== undefined;
        this.usageAuditor = new KeyUsageAuditor(this, 'UsageAuditor', {
          ...auditor,
          aliasPrefix: scoped ? auditor.aliasPrefix : this.aliasPattern.split('{tenant}')[0],
        });
      }
      this.node.addValidation({ validate: () => this.validateKnownTenants(props.knownTenantIds ?? [], props.retiredTenantIds ?? []) });
      this.node.addValidation({ validate: () => this.validateShardLimits() });
    } catch (e) {
      throw withPath(this.node.path, e);
    }
  }

  /**
   * Adds a tenant and creates its key in the tenant's shard.
   */
  public addTenant(tenant: CmekFleetTenant): CmekKey {
    validateTenantId(tenant.id);
    if (this.keys.has(tenant.id)) {
      throw new Error(`tenant \`id\` must be unique in the fleet, got: ${got(tenant.id)} twice`);
    }
    const name = tenant.name ?? tenant.id;
    validateTenantName(tenant.id, name);
    const alias = aliasFor(this.aliasPattern, name);
    const taken = this.aliases.get(alias.toLowerCase());
    if (taken !== undefined) {
      throw new Error(`tenant \`name\` must give each tenant its own alias, got: ${got(name)} for ${tenant.id}, whose alias ${alias} tenant ${taken} has already`);
    }
    const shard = tenant.shard ?? shardIndex(tenant.id, this.shardCount);
    validateInteger(`shard of tenant ${tenant.id}`, shard, 0, this.shardCount - 1);

    const d = this.defaults;
    // Merged, not copied field by field: a key option added later reaches every tenant without a change here.
    const { id: _id, name: _name, shard: _shard, tags: _tags, ...tenantOptions } = tenant;
    const { tags: _defaultTags, ...defaultOptions } = d;
    const key = new CmekKey(this.shardStack(shard), tenant.id, {
      ...definedOnly(defaultOptions),
      ...definedOnly(tenantOptions),
      alias,
      description: tenant.description ?? d.description ?? `Customer-managed key for tenant ${tenant.id}`,
      grantees: [...(d.grantees ?? []), ...(tenant.grantees ?? [])],
    });
    const tags = { 'cmek:tenant': tenant.id, ...(d.tags ?? {}), ...(tenant.tags ?? {}) };
    for (const [k, v] of Object.entries(tags)) Tags.of(key).add(k, v);

    this.keys.set(tenant.id, key);
    this.tenantShards.set(tenant.id, shard);
    this.aliases.set(alias.toLowerCase(), tenant.id);
    return key;
  }

  /** The key of a tenant, by tenant id. */
  public keyFor(tenantId: string): CmekKey {
    const key = this.keys.get(tenantId);
    if (!key) {
      throw new Error(`\`tenantId\` must be a tenant of fleet ${this.node.path}, got: ${got(tenantId)}`);
    }
    return key;
  }

  /** The shard a tenant's key lives in (its pin, or the hash of its id). */
  public shardOf(tenantId: string): number {
    this.keyFor(tenantId);
    return this.tenantShards.get(tenantId)!;
  }

  /** The ids of the fleet's tenants, in the order they were added. */
  public get tenantIds(): string[] {
    return [...this.keys.keys()];
  }

  /** Every key of the fleet, in the order the tenants were added. */
  public get allKeys(): CmekKey[] {
    return [...this.keys.values()];
  }

  /** The nested stacks holding keys, by shard index ascending (shards without tenants are not created). */
  public get shards(): NestedStack[] {
    return [...this.shardStacks.entries()].sort(([a], [b]) => a - b).map(([, s]) => s);
  }

  private shardStack(index: number): NestedStack {
    let stack = this.shardStacks.get(index);
    if (!stack) {
      // The construct id carries the index only, so the nested stack's logical id never depends on the
      // shard count or on which other shards exist.
      stack = new NestedStack(this, `Shard${String(index).padStart(3, '0')}`, {
        description: `Customer-managed keys of fleet ${this.node.path}, shard ${index}`,
      });
      this.shardStacks.set(index, stack);
    }
    return stack;
  }

  private validateKnownTenants(known: string[], retired: string[]): string[] {
    const retiredSet = new Set(retired);
    const errors: string[] = [];
    for (const id of retired) {
      if (this.keys.has(id)) errors.push(`\`retiredTenantIds\` must not list a tenant that is still in the fleet, got: ${got(id)}`);
    }
    for (const id of known) {
      if (this.keys.has(id) || retiredSet.has(id)) continue;
      errors.push(
        `tenant ${got(id)} is in \`knownTenantIds\` but not in the fleet: changing a tenant's \`id\` replaces its key, so keep the id and change \`name\` to rename it, or list ${got(id)} in \`retiredTenantIds\` to remove its key on purpose`,
      );
    }
    return errors;
  }

  private validateShardLimits(): string[] {
    const errors: string[] = [];
    for (const [index, stack] of [...this.shardStacks.entries()].sort(([a], [b]) => a - b)) {
      const usage = measure(stack);
      const tenants = [...this.tenantShards.values()].filter((s) => s === index).length;
      const over: string[] = [];
      if (usage.resources > MAX_RESOURCES) over.push(`${usage.resources} resources (limit ${MAX_RESOURCES})`);
      if (usage.outputs > MAX_OUTPUTS) over.push(`${usage.outputs} outputs (limit ${MAX_OUTPUTS})`);
      if (usage.bytes > MAX_TEMPLATE_BYTES) over.push(`${usage.bytes} bytes of template (limit ${MAX_TEMPLATE_BYTES})`);
      if (over.length === 0) continue;
      errors.push(
        `shard ${index} of fleet ${this.node.path} would hold ${tenants} tenants, ${over.join(' and ')}: raise \`shardCount\` (now ${this.shardCount}) and pin every tenant already deployed to its current shard with \`shard: fleet.shardOf(id)\` so no key moves, or pin new tenants to shards with room`,
      );
    }
    return errors;
  }
}

/** Counts a stack's resources and outputs and estimates its template size as the CDK writes it (indent 1). */
function measure(stack: Stack): ShardUsage {
  let resources = 0;
  let outputs = 0;
  let bytes = 0;
  for (const element of stack.node.findAll()) {
    if (!CfnElement.isCfnElement(element) || Stack.of(element) !== stack) continue;
    if (CfnResource.isCfnResource(element)) resources++;
    if (element instanceof CfnOutput) outputs++;
    // `_toCloudFormation` is how the stack itself renders each element; the sum is within a few bytes
    // of the written template (section headers aside).
    const fragment = stack.resolve((element as unknown as { _toCloudFormation(): object })._toCloudFormation());
    bytes += JSON.stringify(fragment, undefined, 1).length;
  }
  return { resources, outputs, bytes };
}

/** `o` without the keys whose value is undefined, so that merging it never erases a default. */
function definedOnly<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}
