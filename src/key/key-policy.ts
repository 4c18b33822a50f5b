// Pure builders, one per key-policy statement; CmekKey composes them.
import * as iam from 'aws-cdk-lib/aws-iam';
import { CmekAction, DELETION_GUARD_ACTIONS, KEY_ADMIN_ACTIONS } from './actions';
import { BoundGrantee } from './grantee';

/** Statement ids, stable across deployments: tools and people find statements by them. */
export const SID = {
  accountRoot: 'CmekAccountRoot',
  administration: 'CmekKeyAdministration',
  deletionGuard: 'CmekDeletionGuard',
  usagePrefix: 'CmekUsage',
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

/**
 * The statements for one grantee: its usage actions with all its conditions, and — when it has
 * encryption-context conditions — DescribeKey in a statement of its own, since DescribeKey carries no
 * encryption context and would otherwise always be denied.
 */
export function usageStatements(grantee: BoundGrantee): iam.PolicyStatement[] {
  const sid = `${SID.usagePrefix}${grantee.name}`;
  const splitDescribe =
    grantee.actions.includes(CmekAction.DESCRIBE_KEY) &&
    grantee.actions.length > 1 &&
    JSON.stringify(grantee.conditions) !== JSON.stringify(grantee.describeConditions);
  const cryptoActions = splitDescribe ? grantee.actions.filter((a) => a !== CmekAction.DESCRIBE_KEY) : grantee.actions;
  const statements = [
    new iam.PolicyStatement({
      sid,
      principals: [grantee.principal],
      actions: cryptoActions,
      resources: ['*'],
      conditions: emptyToUndefined(grantee.conditions),
    }),
  ];
  if (splitDescribe) {
    statements.push(
      new iam.PolicyStatement({
        sid: `${sid}Describe`,
        principals: [grantee.principal],
        actions: [CmekAction.DESCRIBE_KEY],
        resources: ['*'],
        conditions: emptyToUndefined(grantee.describeConditions),
      }),
    );
  }
  return statements;
}

/** Options of the deletion guard statement. */
export interface DeletionGuardStatementOptions {
  /** The guard holds while the key was used within this many days. */
  readonly minDaysUnused: number;
  /** Principals (ARN patterns) the guard does not apply to: break-glass roles. */
  readonly exemptPrincipalArns: string[];
}

/**
 * Deny ScheduleKeyDeletion and DisableKey to everyone while `kms:TrailingDaysWithoutKeyUsage` is at or
 * below the threshold: the key was used recently (or is new: a never-used key counts from creation).
 */
export function deletionGuardStatement(options: DeletionGuardStatementOptions): iam.PolicyStatement {
  const conditions: { [operator: string]: { [key: string]: unknown } } = {
    NumericLessThanEquals: { 'kms:TrailingDaysWithoutKeyUsage': String(options.minDaysUnused) },
  };
  if (options.exemptPrincipalArns.length > 0) {
    conditions.ArnNotLike = { 'aws:PrincipalArn': options.exemptPrincipalArns };
  }
  return new iam.PolicyStatement({
    sid: SID.deletionGuard,
    effect: iam.Effect.DENY,
    principals: [new iam.AnyPrincipal()],
    actions: [...DELETION_GUARD_ACTIONS],
    resources: ['*'],
    conditions,
  });
}

function emptyToUndefined<T extends object>(o: T): T | undefined {
  return Object.keys(o).length > 0 ? o : undefined;
}
