// CmekKey: a symmetric KMS key whose policy grants each cross-account grantee exactly the CMEK usage set, with a deletion guard.
import { Duration, RemovalPolicy, Resource, Stack } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import { Construct } from 'constructs';
import { CmekKeyProps } from './cmek-key-props';
import { destroyConflict, registerGuard, resolveDeletionGuard } from './deletion-guard';
import { bindGrantee, CmekGrantee } from './grantee';
import { BoundGrantee, identityStatement, isOrganizationWide, keyPolicyStatements } from './grantee-statements';
import { acknowledgeRotationOff, acknowledgeUsageWildcards, checkedAdditional, claimAlias, normalizeAlias, resolveDeploymentRole, validateDescription, validateRotationReason } from './key-checks';
import { KeyMetrics } from './key-metrics';
import {
  accountRootStatement,
  administrationStatement,
  deletionGuardStatement,
  DeletionGuardStatementOptions,
  deploymentRoleStatement,
  pendingWindowStatement,
  policyLockStatement,
  usageUnknownStatement,
} from './key-policy';
import { keyPolicySizeProblem } from './policy-size';
import { IKEY_DECRYPT_ACTIONS, IKEY_ENCRYPT_ACTIONS } from '../private/actions';
import { withPath } from '../private/errors';
import { policyProblems, wildcardPrincipalOf } from '../private/policy-check';
import { renderedResource } from '../private/rendered-resource';
import { ResolvedOnce } from '../private/resolved-once';
import { skipCheckov } from '../private/suppressions';
import { got, validateDays, validatePattern } from '../private/validate';

const KEY_ARN = /^arn:aws[a-z-]*:kms:[a-z0-9-]+:\d{12}:key\/(mrk-[0-9a-f]{32}|[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})$/;
/** The defaults of `rotationPeriod` and `pendingWindow` (a Duration never changes once made). */
const DEFAULT_ROTATION_PERIOD = Duration.days(365);
const DEFAULT_PENDING_WINDOW = Duration.days(30);

/**
 * A customer-managed KMS key (symmetric, encrypt/decrypt) for handing to vendors and to workloads in
 * other accounts.
 *
 * - Each grantee gets one key-policy statement allowing exactly `kms:Encrypt`, `kms:Decrypt`,
 *   `kms:ReEncrypt*`, `kms:GenerateDataKey*` and `kms:DescribeKey` (or a subset), with its conditions.
 * - Rotation on, a 30-day pending window and `RETAIN` by default.
 * - The deletion guard denies `kms:ScheduleKeyDeletion` and `kms:DisableKey` while the key is in use.
 * - The rendered policy is checked against the 32 KB key-policy limit at synth time.
 */
export class CmekKey extends Resource implements kms.IKey {
  /**
   * A key that lives elsewhere — typically the customer's key, seen from the vendor's side.
   *
   * @param keyArn the key ARN, such as `arn:aws:kms:eu-west-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab`
   */
  public static fromCustomerKeyArn(scope: Construct, id: string, keyArn: string): kms.IKey {
    validatePattern('keyArn', keyArn, KEY_ARN, 'a KMS key ARN such as arn:aws:kms:eu-west-1:111122223333:key/<key id> (not an alias ARN)');
    return kms.Key.fromKeyArn(scope, id, keyArn);
  }

  /** The underlying KMS key. */
  public readonly key: kms.Key;

  /** The key's alias name, with its `alias/` prefix. */
  public readonly aliasName: string;

  /** The key's ARN. */
  public readonly keyArn: string;

  /** The key's id. */
  public readonly keyId: string;

  /** The key policy document; grantees and grants add statements to it. */
  public readonly policy: iam.PolicyDocument;

  private readonly grantees = new Map<string, BoundGrantee>();
  private readonly allowAccountRootAccess: boolean;
  private readonly sids = new Set<string>();
  private readonly guard?: DeletionGuardStatementOptions;
  private readonly resolvedPolicy: ResolvedOnce;

  constructor(scope: Construct, id: string, props: CmekKeyProps) {
    super(scope, id);
    try {
      this.aliasName = normalizeAlias(props.alias);
      const removalPolicy = props.removalPolicy ?? RemovalPolicy.RETAIN;
      const enableKeyRotation = props.enableKeyRotation ?? true;
      const rotationPeriod = props.rotationPeriod ?? DEFAULT_ROTATION_PERIOD;
      const pendingWindow = props.pendingWindow ?? DEFAULT_PENDING_WINDOW;
      validateDays('pendingWindow', pendingWindow, 7, 30);
      if (enableKeyRotation) {
        validateDays('rotationPeriod', rotationPeriod, 90, 2560);
      } else if (props.rotationPeriod) {
        throw new Error(`\`rotationPeriod\` needs \`enableKeyRotation\` to be true, got: ${rotationPeriod.toHumanString()} with rotation off`);
      }
      validateRotationReason(enableKeyRotation, props.rotationDisabledReason);
      validateDescription(props.description);
      this.allowAccountRootAccess = props.allowAccountRootAccess ?? true;
      this.guard = resolveDeletionGuard(props.deletionGuard);

      this.policy = new iam.PolicyDocument();
      this.addAccessStatements(props);
      if (this.guard) this.addGuardStatements(this.guard, pendingWindow, props);
      registerGuard(this, this.guard);

      this.key = new kms.Key(this, 'Key', {
        description: props.description ?? `Customer-managed key ${this.aliasName}`,
        keySpec: kms.KeySpec.SYMMETRIC_DEFAULT,
        keyUsage: kms.KeyUsage.ENCRYPT_DECRYPT,
        enableKeyRotation,
        rotationPeriod: enableKeyRotation ? rotationPeriod : undefined,
        pendingWindow,
        removalPolicy,
        multiRegion: props.multiRegion,
        policy: this.policy,
      });
      const cfnKey = this.key.node.defaultChild as kms.CfnKey;
      this.resolvedPolicy = ResolvedOnce.of(cfnKey.keyPolicy, `the key policy of ${this.aliasName}`);
      cfnKey.keyPolicy = this.resolvedPolicy;
      claimAlias(this, this.aliasName);
      this.key.addAlias(this.aliasName);
      this.keyArn = this.key.keyArn;
      this.keyId = this.key.keyId;
      if (!enableKeyRotation) acknowledgeRotationOff(this, this.key, props.rotationDisabledReason!);

      for (const grantee of props.grantees ?? []) this.addGrantee(grantee);
      for (const statement of props.additionalStatements ?? []) this.policy.addStatements(checkedAdditional(statement, this.sids));
      this.node.addValidation({ validate: () => this.validateFinalPolicy() });
    } catch (e) {
      throw withPath(this.node.path, e);
    }
  }

  /** A reference to this key. */
  public get keyRef(): kms.KeyReference {
    return this.key.keyRef;
  }

  /** Whether the deletion guard is part of the key policy. */
  public get deletionGuardEnabled(): boolean {
    return this.guard !== undefined;
  }

  /**
   * Adds a grantee: one key-policy statement (two when it has encryption-context conditions).
   * A principal defined in another stack also gets the matching identity policy.
   */
  public addGrantee(grantee: CmekGrantee): void {
    const bound = bindGrantee(grantee, this);
    if (this.grantees.has(bound.name)) {
      throw new Error(
        `duplicate grantee \`${bound.name}\` on key ${this.aliasName}: each grantee needs its own \`name\` (statement CmekUsage${bound.name} exists already)`,
      );
    }
    const statements = keyPolicyStatements(bound);
    for (const s of statements) {
      if (s.sid !== undefined && this.sids.has(s.sid)) {
        throw new Error(
          `grantee \`${bound.name}\` on key ${this.aliasName} would write statement ${s.sid}, which another grantee writes already: give one of them another \`name\`, got: ${got(bound.name)}`,
        );
      }
    }
    for (const s of statements) if (s.sid !== undefined) this.sids.add(s.sid);
    this.grantees.set(bound.name, bound);
    this.policy.addStatements(...statements);
    if (isOrganizationWide(bound)) {
      skipCheckov(this.key, [{
        id: 'CKV_AWS_33',
        reason: `Principal * appears only with aws:PrincipalOrgID (grantee ${bound.name}); checkov does not read conditions`,
      }]);
    }
    const identity = identityStatement(bound, 'key', [this.keyArn], bound.actions);
    if (identity && bound.identityPrincipal) {
      bound.identityPrincipal.addToPrincipalPolicy(identity);
      acknowledgeUsageWildcards(bound.identityPrincipal, bound.actions);
    }
  }

  /** The names of the grantees, in the order they were added. */
  public get granteeNames(): string[] {
    return [...this.grantees.keys()];
  }

  /**
   * Whole days since this key was last used, as `KeyUsageAuditor` publishes it (one data point per audit).
   */
  public metricDaysSinceLastUse(options?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return KeyMetrics.daysSinceLastUse(this.keyId, options);
  }

  /** Sets the key's removal policy; a guarded key without exemptions refuses DESTROY at synth. */
  public applyRemovalPolicy(policy: RemovalPolicy): void {
    this.key.applyRemovalPolicy(policy);
  }

  /** Adds another alias; like the first, it must be unique per account and region. */
  public addAlias(alias: string): kms.Alias {
    const name = normalizeAlias(alias);
    claimAlias(this, name);
    return this.key.addAlias(name);
  }

  /** Adds a statement to the key policy; the final-policy check at synth reads it like every other. */
  public addToResourcePolicy(statement: iam.PolicyStatement, allowNoOp?: boolean): iam.AddToResourcePolicyResult {
    return this.key.addToResourcePolicy(statement, allowNoOp);
  }

  /**
   * Grants `actions` on this key. With the account root in the key policy (the default), an identity policy on
   * the grantee suffices, as for any `kms.Key`. Without it, KMS honours only what the key policy names, so the
   * grantee is named there as well.
   */
  public grant(grantee: iam.IGrantable, ...actions: string[]): iam.Grant {
    if (this.allowAccountRootAccess) return this.key.grant(grantee, ...actions);
    return iam.Grant.addToPrincipalAndResource({ grantee, actions, resourceArns: [this.keyArn], resource: this.key, resourceSelfArns: ['*'] });
  }

  public grantDecrypt(grantee: iam.IGrantable): iam.Grant {
    return this.grant(grantee, ...IKEY_DECRYPT_ACTIONS);
  }

  public grantEncrypt(grantee: iam.IGrantable): iam.Grant {
    return this.grant(grantee, ...IKEY_ENCRYPT_ACTIONS);
  }

  public grantEncryptDecrypt(grantee: iam.IGrantable): iam.Grant {
    return this.grant(grantee, ...IKEY_ENCRYPT_ACTIONS, ...IKEY_DECRYPT_ACTIONS);
  }

  /** Grants `kms:GenerateDataKey*`, for envelope encryption. */
  public grantGenerateDataKey(grantee: iam.IGrantable): iam.Grant {
    return this.grant(grantee, 'kms:GenerateDataKey*');
  }

  /** Not applicable to this symmetric encryption key: KMS rejects signing with it. Present for `kms.IKey`. */
  public grantSign(grantee: iam.IGrantable): iam.Grant {
    return this.key.grantSign(grantee);
  }

  /** Not applicable to this symmetric encryption key: KMS rejects verifying with it. Present for `kms.IKey`. */
  public grantVerify(grantee: iam.IGrantable): iam.Grant {
    return this.key.grantVerify(grantee);
  }

  /** Not applicable to this symmetric encryption key. Present for `kms.IKey`. */
  public grantSignVerify(grantee: iam.IGrantable): iam.Grant {
    return this.key.grantSignVerify(grantee);
  }

  /** Not applicable to this symmetric encryption key. Present for `kms.IKey`. */
  public grantGenerateMac(grantee: iam.IGrantable): iam.Grant {
    return this.key.grantGenerateMac(grantee);
  }

  /** Not applicable to this symmetric encryption key. Present for `kms.IKey`. */
  public grantVerifyMac(grantee: iam.IGrantable): iam.Grant {
    return this.key.grantVerifyMac(grantee);
  }

  private addAccessStatements(props: CmekKeyProps): void {
    const admins = props.admins ?? [];
    const allowRoot = props.allowAccountRootAccess ?? true;
    if (!allowRoot && admins.length === 0) {
      throw new Error(
        '`allowAccountRootAccess: false` needs at least one entry in `admins`, or nobody could ever manage the key again, got: admins []',
      );
    }
    for (const admin of admins) {
      const wildcard = wildcardPrincipalOf(admin);
      if (wildcard !== undefined) {
        throw new Error(`\`admins\` must name principals (key administration for a wildcard reaches every account that matches it), got: principal ${got(wildcard)}`);
      }
    }
    if (allowRoot) this.policy.addStatements(accountRootStatement(Stack.of(this).account));
    if (admins.length > 0) this.policy.addStatements(administrationStatement(admins));
    // Without the root statement, only an explicit statement lets CloudFormation's role pass KMS's lockout check.
    if (!allowRoot) this.policy.addStatements(deploymentRoleStatement(resolveDeploymentRole(this, this.aliasName, props.deploymentRoleArn, '`allowAccountRootAccess: false`')));
  }

  private addGuardStatements(guard: DeletionGuardStatementOptions, pendingWindow: Duration, props: CmekKeyProps): void {
    this.policy.addStatements(deletionGuardStatement(guard));
    if (guard.failClosed) this.policy.addStatements(usageUnknownStatement(guard));
    // validateDays has refused a token window; a 7-day window is the least KMS allows, so needs no statement.
    const window = pendingWindowStatement(pendingWindow.toDays());
    if (window) this.policy.addStatements(window);
    if (guard.lockKeyPolicy) {
      const deployer = resolveDeploymentRole(this, this.aliasName, props.deploymentRoleArn, '`deletionGuard.lockKeyPolicy`');
      this.policy.addStatements(policyLockStatement([deployer, ...(guard.policyAdminArns ?? [])]));
    }
  }

  /** The final key policy, after every grantee, bucket grant and addToResourcePolicy: resolved once, checked once. */
  private validateFinalPolicy(): string[] {
    const stack = Stack.of(this);
    const cfnKey = this.key.node.defaultChild as kms.CfnKey;
    // What the template will hold, escape hatches included: addPropertyOverride on the policy, addOverride of the
    // DeletionPolicy.
    const rendered = this.resolvedPolicy.checkAndKeep(() => renderedResource(cfnKey));
    const resolved = rendered.Properties?.KeyPolicy;
    const conflict = destroyConflict(this.guard, rendered.DeletionPolicy, rendered.UpdateReplacePolicy);
    const problems = policyProblems(resolved, `key policy of ${this.aliasName}`, 'key');
    if (conflict) problems.push(conflict);
    const size = keyPolicySizeProblem(stack, this.aliasName, resolved, [...this.grantees.values()]);
    if (size) problems.push(size);
    return problems;
  }

}
