// Estimates the size of a policy document once CloudFormation has resolved its intrinsics.
import { walkCfn } from './cfn-walk';

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
