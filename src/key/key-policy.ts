// Pure builders of the key's own statements (root, administration, deletion guard); grantee-statements.ts builds the grantees'.
import * as iam from 'aws-cdk-lib/aws-iam';
import { DELETION_GUARD_ACTIONS, KEY_ADMIN_ACTIONS } from '../private/actions';

/** Statement ids, stable across deployments: tools and people find statements by them. */
export const SID = {
  accountRoot: 'CmekAccountRoot',
  administration: 'CmekKeyAdministration',
  deletionGuard: 'CmekDeletionGuard',
  usageUnknown: 'CmekDeletionGuardUsageUnknown',
  pendingWindow: 'CmekMinimumPendingWindow',
  policyLock: 'CmekKeyPolicyLock',
  deploymentRole: 'CmekDeploymentRole',
} as const;

/** The account root keeps full access, so IAM policies in the account can delegate and the key cannot be locked out. */
export function accountRootStatement(accountId: string): iam.PolicyStatement {
  return new iam.PolicyStatement({
    sid: SID.accountRoot,
    principals: [new iam.AccountPrincipal(accountId)],
    actions: ['kms:*'],
    resources: ['*'],
  });
}

/** Key administration (no cryptographic use) for the named principals. */
export function administrationStatement(admins: iam.IPrincipal[]): iam.PolicyStatement {
  return new iam.PolicyStatement({
    sid: SID.administration,
    principals: admins,
    actions: [...KEY_ADMIN_ACTIONS],
    resources: ['*'],
  });
}

/** Options of the deletion guard statements. */
export interface DeletionGuardStatementOptions {
  /** The guard holds while the key was used within this many days. */
  readonly minDaysUnused: number;
  /** IAM role or user ARNs the guard does not apply to: break-glass roles. */
  readonly exemptPrincipalArns: string[];
  /** Whether a request without `kms:TrailingDaysWithoutKeyUsage` is denied too. */
  readonly failClosed: boolean;
  /** Whether kms:PutKeyPolicy is denied to all but `policyAdminArns` and the deploying role. */
  readonly lockKeyPolicy?: boolean;
  /** Who may still change the key policy under the lock, besides the deploying role. */
  readonly policyAdminArns?: string[];
}

function guardExemptions(options: DeletionGuardStatementOptions): { [operator: string]: { [key: string]: unknown } } {
  return options.exemptPrincipalArns.length > 0 ? { ArnNotLike: { 'aws:PrincipalArn': options.exemptPrincipalArns } } : {};
}

/** A Deny to every principal, on this key, of `actions` when `conditions` hold: the shape of every guard statement. */
function denyToEveryone(sid: string, actions: string[], conditions: { [operator: string]: unknown }): iam.PolicyStatement {
  return new iam.PolicyStatement({ sid, effect: iam.Effect.DENY, principals: [new iam.AnyPrincipal()], actions, resources: ['*'], conditions });
}

/**
 * Deny ScheduleKeyDeletion and DisableKey to everyone while `kms:TrailingDaysWithoutKeyUsage` is at or
 * below the threshold: the key was used recently (or is new: a never-used key counts from creation).
 */
export function deletionGuardStatement(options: DeletionGuardStatementOptions): iam.PolicyStatement {
  return denyToEveryone(SID.deletionGuard, [...DELETION_GUARD_ACTIONS], {
    NumericLessThanEquals: { 'kms:TrailingDaysWithoutKeyUsage': String(options.minDaysUnused) },
    ...guardExemptions(options),
  });
}

/**
 * The guard's fail-closed half: a numeric condition on an absent key evaluates false, so a request that
 * carries no `kms:TrailingDaysWithoutKeyUsage` would pass the statement above. This one denies it.
 */
export function usageUnknownStatement(options: DeletionGuardStatementOptions): iam.PolicyStatement {
  return denyToEveryone(SID.usageUnknown, [...DELETION_GUARD_ACTIONS], {
    Null: { 'kms:TrailingDaysWithoutKeyUsage': 'true' },
    ...guardExemptions(options),
  });
}

/**
 * Nobody, exemptions included, schedules deletion with a shorter waiting period than the key was built
 * with. Undefined for a 7-day window, the shortest KMS accepts anyway.
 */
export function pendingWindowStatement(pendingWindowDays: number): iam.PolicyStatement | undefined {
  if (pendingWindowDays <= 7) return undefined;
  return denyToEveryone(SID.pendingWindow, ['kms:ScheduleKeyDeletion'], {
    NumericLessThan: { 'kms:ScheduleKeyDeletionPendingWindowInDays': String(pendingWindowDays) },
  });
}

/** Deny kms:PutKeyPolicy to everyone but the policy administrators and the deploying role. */
export function policyLockStatement(allowedArns: string[]): iam.PolicyStatement {
  return denyToEveryone(SID.policyLock, ['kms:PutKeyPolicy'], { ArnNotLike: { 'aws:PrincipalArn': allowedArns } });
}

/**
 * Key administration for the role that deploys the stack, when the account root is not in the policy:
 * KMS refuses a policy that would not let its creator call kms:PutKeyPolicy (the lockout safety check), and
 * CloudFormation updates the key with that role.
 */
export function deploymentRoleStatement(roleArn: string): iam.PolicyStatement {
  return new iam.PolicyStatement({
    sid: SID.deploymentRole,
    principals: [new iam.ArnPrincipal(roleArn)],
    actions: [...KEY_ADMIN_ACTIONS],
    resources: ['*'],
  });
}
