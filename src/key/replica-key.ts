// CmekReplicaKey: a replica, in another region, of a multi-Region CmekKey, with the primary's policy, guard, window and alias.
import { Lazy, Resource, Stack, Token } from 'aws-cdk-lib';
import * as kms from 'aws-cdk-lib/aws-kms';
import { Construct } from 'constructs';
import { CmekKey } from './cmek-key';
import { destroyConflictOf } from './deletion-guard';
import { derivedDeploymentRole, resolveDeploymentRole } from './key-checks';
import { withPath } from '../private/errors';
import { renderedResource } from '../private/rendered-resource';
import { got } from '../private/validate';

/**
 * Properties of a `CmekReplicaKey`.
 */
export interface CmekReplicaKeyProps {
  /**
   * The primary key: a `CmekKey` with `multiRegion: true`, in a stack of the same account and another region.
   */
  readonly primary: CmekKey;

  /**
   * The primary key's ARN. By default it is a reference to the primary key, which the CDK carries across
   * regions with its cross-region references (a custom resource writing an SSM parameter in the primary's
   * region and one reading it in the replica's; set `crossRegionReferences: true` on the replica's stack).
   * Pass the ARN, once the primary is deployed, to do without them.
   *
   * @default - `primary.keyArn`
   */
  readonly primaryKeyArn?: string;

  /**
   * A description of the replica.
   *
   * @default - the primary's description
   */
  readonly description?: string;
}

/** Pseudo parameters that take the same value in every region of one account and partition. */
const REGION_INDEPENDENT = new Set(['AWS::Partition', 'AWS::AccountId', 'AWS::URLSuffix']);

/**
 * A replica of a multi-Region `CmekKey` in another region (`AWS::KMS::ReplicaKey`), with the primary's
 * key policy (grantees, admins, deletion guard), pending window, removal policy and alias.
 *
 * The key policy is copied as the primary's stack renders it. Account, partition and URL suffix carry
 * over; the primary's region is written out literally (a `kms:ViaService` of the primary's region stays
 * that region). A reference to a resource of the primary's stack — a role ARN from `role.roleArn`, say —
 * has no value in another region's template, so synthesis fails and names it: grant such principals by
 * their literal ARN.
 *
 * Tags are the primary's, with tags applied to the replica on top (KMS does not copy tags to a replica).
 *
 * Rotation and key material follow the primary (KMS shares them across a multi-Region key's replicas).
 */
export class CmekReplicaKey extends Resource {
  /** The replica key resource. */
  public readonly replica: kms.CfnReplicaKey;

  /** The replica's alias, the same name as the primary's. */
  public readonly alias: kms.CfnAlias;

  /** The replica as an `IKey`, for grants through IAM in its region. */
  public readonly key: kms.IKey;

  /** The replica's ARN. */
  public readonly keyArn: string;

  /** The replica's key id (the same `mrk-…` id as the primary's). */
  public readonly keyId: string;

  /** The alias name, with its `alias/` prefix. */
  public readonly aliasName: string;

  /** The primary key. */
  public readonly primary: CmekKey;

  constructor(scope: Construct, id: string, props: CmekReplicaKeyProps) {
    super(scope, id);
    try {
      this.primary = props.primary;
      const primaryKey = props.primary.key.node.defaultChild as kms.CfnKey;
      this.validateRegions();
      this.validateMultiRegion(primaryKey);

      this.replica = new kms.CfnReplicaKey(this, 'Resource', {
        primaryKeyArn: props.primaryKeyArn ?? props.primary.keyArn,
        // Lazy: grantees added to the primary after this replica was made belong in its policy too.
        keyPolicy: Lazy.any({ produce: () => this.portablePolicy() }),
        pendingWindowInDays: primaryKey.pendingWindowInDays,
        description: props.description ?? primaryKey.description,
        enabled: true,
      });
      // Tags: the primary's as its stack renders them (tags applied to the primary's scope do not reach this stack),
      // then the replica's own on top. Lazy, so that both sides' tag aspects have run.
      this.replica.addPropertyOverride('Tags', Lazy.any({ produce: () => this.mergedTags(primaryKey) }, { omitEmptyArray: true }));
      this.replica.cfnOptions.deletionPolicy = primaryKey.cfnOptions.deletionPolicy;
      this.replica.cfnOptions.updateReplacePolicy = primaryKey.cfnOptions.updateReplacePolicy;

      this.aliasName = props.primary.aliasName;
      this.alias = new kms.CfnAlias(this, 'Alias', {
        aliasName: Lazy.string({ produce: () => String(this.portable(this.primary.aliasName, 'alias')) }),
        targetKeyId: this.replica.ref,
      });
      this.keyArn = this.replica.attrArn;
      this.keyId = this.replica.attrKeyId;
      this.key = kms.Key.fromKeyArn(this, 'Key', this.keyArn);

      this.node.addValidation({
        validate: () => {
          try {
            this.portablePolicy();
            this.portable(this.primary.aliasName, 'alias');
            // Whatever set the replica's removal policy (a prop of the primary, applyRemovalPolicy, an aspect).
            const conflict = destroyConflictOf(this.primary, renderedResource(this.replica));
            return conflict ? [`replica ${this.node.path}: ${conflict}`] : [];
          } catch (e) {
            return [(e as Error).message];
          }
        },
      });
    } catch (e) {
      throw withPath(this.node.path, e);
    }
  }

  private mergedTags(primaryKey: kms.CfnKey): { Key: string; Value: string }[] {
    const byKey = new Map<string, string>();
    for (const tags of [primaryKey.tags.renderTags(), this.replica.tags.renderTags()]) {
      // An L1's tag manager renders CfnTag-shaped objects (`key`, `value`), turned into `Key`/`Value` with its properties.
      for (const t of (tags ?? []) as { key: string; value: string }[]) byKey.set(t.key, t.value);
    }
    return [...byKey.entries()].sort(([a], [b]) => a.localeCompare(b)).map(([Key, Value]) => ({ Key, Value }));
  }

  /** The primary's key policy, made valid in this replica's template (or an error naming what cannot be). */
  private portablePolicy(): unknown {
    return this.portable(this.primary.policy, 'key policy');
  }

  private portable(value: unknown, what: string): unknown {
    const primaryStack = Stack.of(this.primary);
    const resolved = primaryStack.resolve(value);
    const deployer = what === 'key policy' ? this.deployerSwap() : undefined;
    const walk = (v: unknown): unknown => {
      if (deployer && JSON.stringify(v) === deployer.primary) return deployer.replica;
      if (Array.isArray(v)) return v.map(walk);
      if (v === null || typeof v !== 'object') return v;
      const o = v as Record<string, unknown>;
      const keys = Object.keys(o);
      if (keys.length === 1 && keys[0] === 'Ref') {
        const name = o.Ref as string;
        if (REGION_INDEPENDENT.has(name)) return o;
        if (name === 'AWS::Region') return primaryStack.region;
        throw this.notPortable(what, o);
      }
      if (keys.length === 1 && keys[0] === 'Fn::Join') return { 'Fn::Join': walk(o['Fn::Join']) };
      if (keys.length === 1 && keys[0].startsWith('Fn::')) throw this.notPortable(what, o);
      return Object.fromEntries(keys.map((k) => [k, walk(o[k])]));
    };
    return walk(resolved);
  }

  /**
   * The primary's deployment role, when taken from its stack's synthesizer, is its own region's: the replica is
   * created and updated by this region's, which KMS's lockout check and the key-policy lock must name instead.
   */
  private deployerSwap(): { primary: string; replica: unknown } | undefined {
    const primaryRole = derivedDeploymentRole(this.primary);
    if (primaryRole === undefined) return undefined;
    const replicaRole = resolveDeploymentRole(this, this.primary.aliasName, undefined, `replica ${this.node.path}`);
    return { primary: JSON.stringify(Stack.of(this.primary).resolve(primaryRole)), replica: Stack.of(this).resolve(replicaRole) };
  }

  private notPortable(what: string, intrinsic: unknown): Error {
    return new Error(
      `the ${what} of ${this.primary.aliasName} refers to ${JSON.stringify(intrinsic)} in stack ${Stack.of(this.primary).stackName}, which cannot be resolved in region ${Stack.of(this).region}: grant that principal by its literal ARN (or account) on the primary, got: a reference for replica ${this.node.path}`,
    );
  }

  private validateRegions(): void {
    const here = Stack.of(this);
    const there = Stack.of(this.primary);
    if (Token.isUnresolved(here.region) || Token.isUnresolved(there.region)) {
      throw new Error(
        `CmekReplicaKey needs the regions of its stack and of the primary's stack set (env.region), got: ${got(Token.isUnresolved(here.region) ? '<unset>' : here.region)} and ${got(Token.isUnresolved(there.region) ? '<unset>' : there.region)}`,
      );
    }
    if (here.region === there.region) {
      throw new Error(`a CmekReplicaKey must be in another region than its primary, got: ${got(here.region)} for both`);
    }
    if (!Token.isUnresolved(here.account) && !Token.isUnresolved(there.account) && here.account !== there.account) {
      throw new Error(`a CmekReplicaKey must be in the primary's account, got: ${got(here.account)} for the replica and ${got(there.account)} for the primary`);
    }
  }

  private validateMultiRegion(primaryKey: kms.CfnKey): void {
    if (primaryKey.multiRegion !== true) {
      throw new Error(
        `\`primary\` must be a multi-Region key (CmekKey with \`multiRegion: true\`), got: ${this.primary.aliasName} with multiRegion ${String(primaryKey.multiRegion ?? false)}`,
      );
    }
  }
}
