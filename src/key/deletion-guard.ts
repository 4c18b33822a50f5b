// The deletion guard's options, defaults and synth-time checks.
import { RemovalPolicy, Token } from 'aws-cdk-lib';
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
 * The guard covers those two actions only: a principal allowed `kms:PutKeyPolicy` can remove it, which
 * `KeyDeletionMonitor` alarms on.
 */
export interface DeletionGuardOptions {
  /**
   * Whether the guard statement is part of the key policy.
   *
   * @default true
   */
  readonly enabled?: boolean;

  /**
   * The guard holds while the key was used within this many days (an integer ≥ 1).
   *
   * @default 365
   */
  readonly minDaysUnused?: number;

  /**
   * ARNs (or `ArnLike` patterns) of principals the guard does not apply to, such as a break-glass role:
   * `arn:aws:iam::111122223333:role/KeyBreakGlass`. For an assumed role, give the role ARN.
   *
   * @default - no exemptions
   */
  readonly exemptPrincipalArns?: string[];
}

/** The guard as the key policy needs it, or `undefined` when it is off; throws on invalid options. */
export function resolveDeletionGuard(
  options: DeletionGuardOptions | undefined,
  removalPolicy: RemovalPolicy,
): DeletionGuardStatementOptions | undefined {
  if (options?.enabled === false) return undefined;
  const minDaysUnused = options?.minDaysUnused ?? 365;
  validateInteger('deletionGuard.minDaysUnused', minDaysUnused, 1);
  const exemptPrincipalArns = options?.exemptPrincipalArns ?? [];
  for (const arn of exemptPrincipalArns) {
    if (!Token.isUnresolved(arn) && !/^arn:aws[a-z-]*:(iam|sts)::(\d{12}|\*):\S+$/.test(arn)) {
      throw new Error(
        `\`deletionGuard.exemptPrincipalArns\` must hold IAM principal ARNs such as arn:aws:iam::111122223333:role/KeyBreakGlass, got: ${got(arn)}`,
      );
    }
  }
  if (removalPolicy === RemovalPolicy.DESTROY && exemptPrincipalArns.length === 0) {
    throw new Error(
      '`removalPolicy: DESTROY` with the deletion guard on and no `deletionGuard.exemptPrincipalArns` would leave a stack that can never be destroyed: add the CloudFormation execution role (or a break-glass role) to `exemptPrincipalArns`, or set `deletionGuard.enabled: false`',
    );
  }
  return { minDaysUnused, exemptPrincipalArns };
}
