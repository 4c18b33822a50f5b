// The deletion guard's options, defaults and synth-time checks.
import { CfnDeletionPolicy, Token } from 'aws-cdk-lib';
import { IConstruct } from 'constructs';
import { DeletionGuardStatementOptions } from './key-policy';
import { got, validateInteger } from '../private/validate';

/**
 * The deletion guard: a key-policy `Deny` on `kms:ScheduleKeyDeletion` and `kms:DisableKey` for every
 * principal while `kms:TrailingDaysWithoutKeyUsage` shows the key was used within `minDaysUnused` days.
 *
 * `kms:TrailingDaysWithoutKeyUsage` counts whole days since the key's last cryptographic use, or since
 * its creation (or the start of usage tracking) when it was never used: a new key reads 0, so the guard
 * also blocks deleting a key created a minute ago. Break-glass roles go in `exemptPrincipalArns`.
 *
 * Around it, the guard also denies scheduling deletion with a shorter waiting period than the key's
 * `pendingWindow` (`kms:ScheduleKeyDeletionPendingWindowInDays`), and, with `lockKeyPolicy`, denies
 * `kms:PutKeyPolicy` to everyone but the named policy administrators and the deploying role, so that no IAM
 * administrator can quietly remove the guard.
 *
 * A request that carries no `kms:TrailingDaysWithoutKeyUsage` is denied too (fail closed): a numeric
 * condition on an absent key is false, so the usage statement alone would let it through.
 * `allowWhenUsageUnknown` restores that.
 */
export interface DeletionGuardOptions {
  /**
   * Whether the guard statements are part of the key policy.
   *
   * @default true
   */
  readonly enabled?: boolean;

  /**
   * The guard holds while the key was used within this many days (an integer from 1 to 36500).
   *
   * @default 365
   */
  readonly minDaysUnused?: number;

  /**
   * ARNs of IAM roles or users the guard does not apply to, such as a break-glass role:
   * `arn:aws:iam::111122223333:role/KeyBreakGlass`. For an assumed role, give the role ARN (the
   * `aws:PrincipalArn` of a role session is the role's ARN); wildcards are refused.
   *
   * @default - no exemptions
   */
  readonly exemptPrincipalArns?: string[];

  /**
   * Whether ScheduleKeyDeletion and DisableKey are allowed when the request carries no
   * `kms:TrailingDaysWithoutKeyUsage` (usage unknown). Off, the guard fails closed.
   *
   * @default false
   */
  readonly allowWhenUsageUnknown?: boolean;

  /**
   * Whether `kms:PutKeyPolicy` is denied to every principal but `policyAdminArns` and the role that deploys
   * the stack (`deploymentRoleArn`, or the synthesizer's CloudFormation execution role), so that an IAM
   * administrator cannot remove the guard.
   *
   * @default false
   */
  readonly lockKeyPolicy?: boolean;

  /**
   * IAM role or user ARNs that may still change the key policy when `lockKeyPolicy` is on, besides the
   * deploying role.
   *
   * @default - only the deploying role
   */
  readonly policyAdminArns?: string[];
}

/** A concrete IAM role or user ARN: what `aws:PrincipalArn` holds for a role session or a user. */
const PRINCIPAL_ARN = /^arn:aws[a-z-]*:iam::\d{12}:(role|user)\/[\w+=,.@/-]+$/;

/** Throws unless every entry is a concrete IAM role or user ARN (tokens pass). */
export function validatePrincipalArns(prop: string, arns: string[]): void {
  for (const arn of arns) {
    if (Token.isUnresolved(arn)) continue;
    if (/^arn:aws[a-z-]*:sts::/.test(arn)) {
      throw new Error(
        `\`${prop}\` must hold IAM role or user ARNs, not STS session ARNs: aws:PrincipalArn of an assumed role is the role ARN (arn:aws:iam::<account>:role/<name>), so this entry would never match, got: ${got(arn)}`,
      );
    }
    if (!PRINCIPAL_ARN.test(arn)) {
      throw new Error(
        `\`${prop}\` must hold concrete IAM role or user ARNs such as arn:aws:iam::111122223333:role/KeyBreakGlass (no wildcards, no account roots), got: ${got(arn)}`,
      );
    }
  }
}

/** The guard as the key policy needs it, or `undefined` when it is off; throws on invalid options. */
export function resolveDeletionGuard(options: DeletionGuardOptions | undefined): DeletionGuardStatementOptions | undefined {
  if (options?.enabled === false) {
    if (options.lockKeyPolicy) throw new Error('`deletionGuard.lockKeyPolicy` protects the guard and needs it on, got: enabled false with lockKeyPolicy true');
    return undefined;
  }
  const minDaysUnused = options?.minDaysUnused ?? 365;
  // At most a century: a larger number is written in exponent form (1e+21), which is no number to a policy condition.
  validateInteger('deletionGuard.minDaysUnused', minDaysUnused, 1, 36500);
  const exemptPrincipalArns = options?.exemptPrincipalArns ?? [];
  validatePrincipalArns('deletionGuard.exemptPrincipalArns', exemptPrincipalArns);
  const policyAdminArns = options?.policyAdminArns ?? [];
  validatePrincipalArns('deletionGuard.policyAdminArns', policyAdminArns);
  if (policyAdminArns.length > 0 && !options?.lockKeyPolicy) {
    throw new Error(`\`deletionGuard.policyAdminArns\` applies only with \`lockKeyPolicy: true\`, got: ${policyAdminArns.length} ARN(s) with the lock off`);
  }
  return {
    minDaysUnused,
    exemptPrincipalArns,
    failClosed: !(options?.allowWhenUsageUnknown ?? false),
    lockKeyPolicy: options?.lockKeyPolicy,
    policyAdminArns: options?.policyAdminArns,
  };
}

/**
 * The guarded-and-DESTROY conflict, read from the key's final deletion policy (whatever set it: a prop,
 * `applyRemovalPolicy`, an aspect): a guard without exemptions would leave a stack that can never be destroyed.
 */
export function destroyConflict(
  guard: DeletionGuardStatementOptions | undefined,
  deletionPolicy: CfnDeletionPolicy | undefined,
  updateReplacePolicy: CfnDeletionPolicy | undefined,
): string | undefined {
  if (!guard || guard.exemptPrincipalArns.length > 0) return undefined;
  if (deletionPolicy !== CfnDeletionPolicy.DELETE && updateReplacePolicy !== CfnDeletionPolicy.DELETE) return undefined;
  return '`removalPolicy: DESTROY` with the deletion guard on and no `deletionGuard.exemptPrincipalArns` would leave a stack that can never be destroyed (set by a prop, applyRemovalPolicy, an aspect or RemovalPolicies): add the CloudFormation execution role (or a break-glass role) to `exemptPrincipalArns`, or set `deletionGuard.enabled: false`';
}

/** The guard of each key, for the checks of what is built from it (replicas). */
const GUARDS = new WeakMap<IConstruct, DeletionGuardStatementOptions | undefined>();

/** Records `key`'s guard (undefined when off). */
export function registerGuard(key: IConstruct, guard: DeletionGuardStatementOptions | undefined): void {
  GUARDS.set(key, guard);
}

/** `destroyConflict` for a resource built from `key` (a replica), with `key`'s guard. */
export function destroyConflictOf(
  key: IConstruct,
  rendered: { DeletionPolicy?: CfnDeletionPolicy; UpdateReplacePolicy?: CfnDeletionPolicy },
): string | undefined {
  return destroyConflict(GUARDS.get(key), rendered.DeletionPolicy, rendered.UpdateReplacePolicy);
}
