// CmekKey's input checks and helpers that need no key instance: alias, rotation reason, deployment role, nag notes.
import { Stack, Token } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import { Construct, IConstruct } from 'constructs';
import { synthesizerExecutionRoleArn } from '../private/deployment-role';
import { acknowledgeNag, skipCheckov } from '../private/suppressions';
import { got, validatePattern } from '../private/validate';

const IAM_ROLE_ARN = /^arn:aws[a-z-]*:iam::\d{12}:role\/[\w+=,.@/-]+$/;
const ALIAS_CHARS = /^alias\/[a-zA-Z0-9/_-]+$/;

/** Rotation off is a decision with a reason (Security Hub KMS.4); a reason with rotation on is a mistake. */
export function validateRotationReason(enabled: boolean, reason: string | undefined): void {
  if (!enabled && (reason === undefined || reason.trim().length === 0)) {
    throw new Error(`\`enableKeyRotation: false\` needs \`rotationDisabledReason\` (Security Hub KMS.4 expects rotation on), got: ${got(reason ?? '<none>')}`);
  }
  if (enabled && reason !== undefined) {
    throw new Error(`\`rotationDisabledReason\` applies only with \`enableKeyRotation: false\`, got: ${got(reason)} with rotation on`);
  }
}

/** A user statement for the key policy, with a Sid of its own that no other statement has; records the Sid. */
export function checkedAdditional(statement: iam.PolicyStatement, sids: Set<string>): iam.PolicyStatement {
  const sid = statement.sid;
  if (sid === undefined || Token.isUnresolved(sid) || sid.length === 0) {
    throw new Error('`additionalStatements` entries each need a literal `sid` (tools and people find statements by it), got: a statement without one');
  }
  if (/^cmek/i.test(sid)) {
    throw new Error(`\`additionalStatements\` sids must not start with Cmek, which the library's own statements use, got: ${got(sid)}`);
  }
  if (sids.has(sid)) {
    throw new Error(`\`additionalStatements\` sids must be unique in the key policy, got: ${got(sid)} twice`);
  }
  sids.add(sid);
  return statement;
}

/** Rotation off, with its reason, as cdk-nag (KMS5) and checkov (CKV_AWS_7) read it. */
export function acknowledgeRotationOff(scope: IConstruct, key: IConstruct, reason: string): void {
  acknowledgeNag(scope, { id: 'AwsSolutions-KMS5', reason });
  skipCheckov(key, [{ id: 'CKV_AWS_7', reason }]);
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

/** KMS's limit on a key description, in characters. */
const DESCRIPTION_MAX = 8192;

/** A description KMS accepts: at most 8,192 characters. */
export function validateDescription(description: string | undefined): void {
  if (description === undefined || Token.isUnresolved(description) || description.length <= DESCRIPTION_MAX) return;
  throw new Error(`\`description\` must be at most ${DESCRIPTION_MAX} characters (the KMS limit), got: ${description.length} characters`);
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

/** Deployment roles taken from a stack's synthesizer, by key: a replica in another region swaps in its own. */
const DERIVED_DEPLOYERS = new WeakMap<Construct, string>();

/** The deployment role `key` took from its stack's synthesizer, if it took one (not when `deploymentRoleArn` is given). */
export function derivedDeploymentRole(key: Construct): string | undefined {
  return DERIVED_DEPLOYERS.get(key);
}

/** The role that creates and updates the key: named, or the synthesizer's execution role; throws when neither. */
export function resolveDeploymentRole(scope: Construct, aliasName: string, explicit: string | undefined, needs: string): string {
  const stack = Stack.of(scope);
  if (explicit !== undefined) {
    validatePattern('deploymentRoleArn', explicit, IAM_ROLE_ARN, 'an IAM role ARN such as arn:aws:iam::111122223333:role/cdk-hnb659fds-cfn-exec-role-111122223333-eu-west-1');
    const account = Token.isUnresolved(explicit) ? undefined : explicit.split(':')[4];
    if (account !== undefined && !Token.isUnresolved(stack.account) && account !== stack.account) {
      // CloudFormation assumes a role of the account it deploys to: another account's role never deploys this key.
      throw new Error(`\`deploymentRoleArn\` must be a role of the key's account ${stack.account} (CloudFormation deploys with a role of that account), got: ${got(explicit)}`);
    }
    return explicit;
  }
  const arn = synthesizerExecutionRoleArn(stack);
  if (arn === undefined) {
    throw new Error(
      `${needs} on key ${aliasName} needs the role that deploys the stack in the key policy (KMS refuses a policy that locks out its creator), and the synthesizer of stack ${stack.stackName} names no CloudFormation execution role: set \`deploymentRoleArn\`, got: ${stack.synthesizer.constructor.name}`,
    );
  }
  DERIVED_DEPLOYERS.set(scope, arn);
  return arn;
}

/** Alias names taken in each app, by account and region (a stack's, or the stack's own name when its env is unset). */
const ALIASES = new WeakMap<IConstruct, Map<string, IConstruct>>();

/**
 * Throws when another key of the same app already has this alias in the same account and region, in any stack,
 * nested stacks included: KMS allows one alias name per account and region. Tokens are not compared.
 */
export function claimAlias(scope: Construct, aliasName: string): void {
  if (Token.isUnresolved(aliasName)) return;
  let stack = Stack.of(scope);
  while (stack.nestedStackParent) stack = stack.nestedStackParent;
  const where = Token.isUnresolved(stack.account) || Token.isUnresolved(stack.region) ? `stack ${stack.node.path}` : `${stack.account}/${stack.region}`;
  const root = scope.node.root;
  let taken = ALIASES.get(root);
  if (taken === undefined) {
    taken = new Map<string, IConstruct>();
    ALIASES.set(root, taken);
  }
  const claim = `${where} ${aliasName}`;
  const other = taken.get(claim);
  if (other !== undefined) {
    throw new Error(`\`alias\` must be unique per account and region (KMS allows one alias name there), got: ${got(aliasName)} for both ${other.node.path} and ${scope.node.path} in ${where}`);
  }
  taken.set(claim, scope);
}
