// Estimates the size of a policy document once CloudFormation has resolved its intrinsics.

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
  if (Array.isArray(v)) return v.map(substitute);
  if (v === null || typeof v !== 'object') return v;
  const o = v as Record<string, unknown>;
  const keys = Object.keys(o);
  if (keys.length === 1) {
    const [k] = keys;
    if (k === 'Ref') return PSEUDO_MAX[o.Ref as string] ?? UNKNOWN_REFERENCE;
    if (k === 'Fn::Join' && Array.isArray(o[k])) {
      const [sep, parts] = o[k] as [string, unknown];
      if (Array.isArray(parts)) return parts.map((p) => String(substitute(p))).join(sep);
    }
    if (k.startsWith('Fn::')) return UNKNOWN_REFERENCE;
  }
  return Object.fromEntries(keys.map((key) => [key, substitute(o[key])]));
}
