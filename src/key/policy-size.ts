// The KMS key-policy size limit: the deployed size of a policy, and the refusal that says how many grantees fit.
import { Stack } from 'aws-cdk-lib';
import { BoundGrantee, keyPolicyStatements } from './grantee-statements';
import { walkCfn } from '../private/cfn-walk';

/** The KMS key-policy document size limit, in bytes. */
export const KEY_POLICY_MAX_BYTES = 32_768;

/** Longest values pseudo parameters take: the estimate must not undercount. */
const PSEUDO_MAX: Record<string, string> = {
  'AWS::Partition': 'aws-iso-b',
  'AWS::AccountId': '123456789012',
  'AWS::Region': 'ap-southeast-5x',
  'AWS::URLSuffix': 'amazonaws.com.cn',
};
/** What an unknown reference (a role ARN, an imported value) is assumed to take. */
const UNKNOWN_REFERENCE = 'x'.repeat(200);

/**
 * The compact-JSON byte size of a resolved CloudFormation value after deployment: `Fn::Join` is joined,
 * pseudo parameters take their longest values, other references a generous 200 characters.
 */
export function deployedJsonBytes(resolved: unknown): number {
  return Buffer.byteLength(JSON.stringify(substitute(resolved)), 'utf8');
}

function substitute(v: unknown): unknown {
  return walkCfn(v, {
    ref: (name) => PSEUDO_MAX[name as string] ?? UNKNOWN_REFERENCE,
    join: (separator, parts) => parts.map((p) => String(p)).join(separator as string),
    intrinsic: () => UNKNOWN_REFERENCE,
  });
}

/** The most a single `{…}` of the text can grow by once deployed: into a 200-character string, from 11 characters. */
const MOST_GROWTH_PER_OBJECT = UNKNOWN_REFERENCE.length + 2 - '{"Ref":"x"}'.length;

/**
 * Whether a resolved value surely fits the KMS key-policy limit, judged from its compact JSON text without building
 * its deployed copy (a large app has thousands of policies). Each object in the text (a reference, another
 * intrinsic, or anything else) grows by at most `MOST_GROWTH_PER_OBJECT` bytes, and a join with an empty separator
 * only shortens its parts. A join with a separator lengthens the text with each part: then it is not sure.
 */
export function surelyWithinKeyPolicyLimit(resolved: unknown): boolean {
  const text = JSON.stringify(resolved) ?? '';
  if (/"Fn::Join":\[(?!"")/.test(text)) return false;
  let objects = 0;
  for (let i = text.indexOf('{'); i !== -1; i = text.indexOf('{', i + 1)) objects++;
  return Buffer.byteLength(text, 'utf8') + objects * MOST_GROWTH_PER_OBJECT <= KEY_POLICY_MAX_BYTES;
}

/**
 * The size refusal when the resolved key policy's deployed size exceeds the limit, or undefined; it says how many
 * grantees like these fit. The deployed copy is built only when the text alone cannot rule the limit out.
 */
export function keyPolicySizeProblem(stack: Stack, aliasName: string, resolved: unknown, grantees: BoundGrantee[]): string | undefined {
  if (surelyWithinKeyPolicyLimit(resolved)) return undefined;
  const total = deployedJsonBytes(resolved);
  if (total <= KEY_POLICY_MAX_BYTES) return undefined;
  const size = (x: unknown) => deployedJsonBytes(stack.resolve(x));
  const perGrantee = grantees.map((g) => size(keyPolicyStatements(g).map((s) => s.toStatementJson())));
  const granteeBytes = perGrantee.reduce((a, b) => a + b, 0);
  const average = perGrantee.length > 0 ? granteeBytes / perGrantee.length : 0;
  const fit = average > 0 ? Math.max(0, Math.floor((KEY_POLICY_MAX_BYTES - (total - granteeBytes)) / (average + 1))) : 0;
  return `key policy of ${aliasName} would be ${total} bytes, over the KMS limit of ${KEY_POLICY_MAX_BYTES}: at most ${fit} grantees like these fit, got: ${grantees.length} (split them across keys, or grant a whole organization with CmekGrantee.organization())`;
}
