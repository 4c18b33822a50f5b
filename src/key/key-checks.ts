// CmekKey's input checks and helpers that need no key instance: alias, rotation reason, policy size, nag notes.
import { Stack, Token } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import { Construct } from 'constructs';
import { KEY_POLICY_MAX_BYTES } from './actions';
import { BoundGrantee } from './grantee';
import { usageStatements } from './key-policy';
import { synthesizerExecutionRoleArn } from '../private/deployment-role';
import { deployedJsonBytes } from '../private/policy-size';
import { acknowledgeNag } from '../private/suppressions';
import { got, validatePattern } from '../private/validate';

const IAM_ROLE_ARN = /^arn:aws[a-z-]*:iam::\d{12}:role\/[\w+=,.@/-]+$/;
const ALIAS_CHARS = /^alias\/[a-zA-Z0-9/_-]+$/;

/** The size error, saying how many grantees like these fit. */
export function sizeProblem(stack: Stack, aliasName: string, total: number, grantees: BoundGrantee[]): string {
  const size = (x: unknown) => deployedJsonBytes(stack.resolve(x));
  const perGrantee = grantees.map((g) => size(usageStatements(g).map((s) => s.toStatementJson())));
  const granteeBytes = perGrantee.reduce((a, b) => a + b, 0);
  const average = perGrantee.length > 0 ? granteeBytes / perGrantee.length : 0;
  const fit = average > 0 ? Math.max(0, Math.floor((KEY_POLICY_MAX_BYTES - (total - granteeBytes)) / (average + 1))) : 0;
  return `key policy of ${aliasName} would be ${total} bytes, over the KMS limit of ${KEY_POLICY_MAX_BYTES}: at most ${fit} grantees like these fit, got: ${grantees.length} (split them across keys, or grant a whole organization with CmekGrantee.organization())`;
}

/** Rotation off is a decision with a reason (Security Hub KMS.4); a reason with rotation on is a mistake. */
export function validateRotationReason(enabled: boolean, reason: string | undefined): void {
  if (!enabled && (reason === undefined || reason.trim().length === 0)) {
    throw new Error(`\`enableKeyRotation: false\` needs \`rotationDisabledReason\` (Security Hub KMS.4 expects rotation on), got: ${got(reason ?? '<none>')}`);
  }
  if (enabled && reason !== undefined) {
    throw new Error(`\`rotationDisabledReason\` applies only with \`enableKeyRotation: false\`, got: ${got(reason)} with rotation on`);
  }
}

/** Principal `*` narrowed by `aws:PrincipalOrgID`: an organization grantee. */
export function isOrganizationWide(grantee: BoundGrantee): boolean {
  const equals = grantee.conditions.StringEquals as { [key: string]: unknown } | undefined;
  return equals?.['aws:PrincipalOrgID'] !== undefined;
}

/**
 * `kms:ReEncrypt*` and `kms:GenerateDataKey*` are the CMEK usage set as KMS documents it (ReEncryptFrom/To;
 * GenerateDataKey with and without plaintext and the pair variants) on one key ARN: say so to cdk-nag.
 */
export function acknowledgeUsageWildcards(principal: iam.IPrincipal, actions: string[]): void {
  if (!Construct.isConstruct(principal)) return;
  for (const action of actions.filter((a) => a.endsWith('*'))) {
    acknowledgeNag(principal, {
      id: `AwsSolutions-IAM5[Action::${action}]`,
      reason: `${action} is part of the CMEK usage set KMS documents for a customer-managed key, granted on that one key ARN`,
    });
  }
}

/** Adds `alias/` when missing and checks the rest; tokens pass through. */
export function normalizeAlias(alias: string): string {
  if (Token.isUnresolved(alias)) return alias;
  const full = alias.startsWith('alias/') ? alias : `alias/${alias}`;
  if (full.toLowerCase().startsWith('alias/aws/')) {
    throw new Error(`\`alias\` must not start with alias/aws/, which AWS reserves for AWS managed keys, got: ${got(alias)}`);
  }
  if (!ALIAS_CHARS.test(full) || full.length > 256) {
    throw new Error(
      `\`alias\` must be alias/ followed by letters, digits, /, _ or -, at most 256 characters in all, got: ${got(alias)}`,
    );
  }
  return full;
}

/** The role that creates and updates the key: named, or the synthesizer's execution role; throws when neither. */
export function resolveDeploymentRole(scope: Construct, aliasName: string, explicit: string | undefined, needs: string): string {
  if (explicit !== undefined) {
    validatePattern('deploymentRoleArn', explicit, IAM_ROLE_ARN, 'an IAM role ARN such as arn:aws:iam::111122223333:role/cdk-hnb659fds-cfn-exec-role-111122223333-eu-west-1');
    return explicit;
  }
  const stack = Stack.of(scope);
  const arn = synthesizerExecutionRoleArn(stack);
  if (arn === undefined) {
    throw new Error(
      `${needs} on key ${aliasName} needs the role that deploys the stack in the key policy (KMS refuses a policy that locks out its creator), and the synthesizer of stack ${stack.stackName} names no CloudFormation execution role: set \`deploymentRoleArn\`, got: ${stack.synthesizer.constructor.name}`,
    );
  }
  return arn;
}

/** Alias names taken in each stack: KMS allows one alias name per account and region. */
const ALIASES = new WeakMap<Stack, Map<string, string>>();

/** Throws when another CmekKey of the same stack already has this alias (tokens are not compared). */
export function claimAlias(scope: Construct, aliasName: string): void {
  if (Token.isUnresolved(aliasName)) return;
  const stack = Stack.of(scope);
  const taken = ALIASES.get(stack) ?? new Map<string, string>();
  ALIASES.set(stack, taken);
  const other = taken.get(aliasName);
  if (other !== undefined) {
    throw new Error(`\`alias\` must be unique in the stack (KMS allows one alias name per account and region), got: ${got(aliasName)} for both ${other} and ${scope.node.path}`);
  }
  taken.set(aliasName, scope.node.path);
}
