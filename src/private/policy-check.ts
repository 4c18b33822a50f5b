// The final-policy check: reads a resolved key or bucket policy and names every statement that opens it beyond named accounts.
import { Token } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import { walkCfn } from './cfn-walk';

/** Condition keys whose fixed values limit a wildcard principal to an account or an organization. */
const LIMITING_KEYS = ['aws:principalaccount', 'aws:principalorgid', 'kms:calleraccount', 'aws:sourceaccount', 'aws:sourceorgid'];
const LIMITING_OPERATORS = ['stringequals', 'stringequalsignorecase'];
const LIMITING_HINT = 'aws:PrincipalAccount, aws:PrincipalOrgID, kms:CallerAccount or aws:SourceAccount';

/** What a wildcard principal may be given, by policy kind: use, never administration. */
const USE_ACTIONS: Record<PolicyKind, RegExp> = {
  key: /^kms:(encrypt|decrypt|reencrypt\*|reencryptfrom|reencryptto|generatedatakey\*?|generatedatakeywithoutplaintext|describekey)$/i,
  bucket: /^s3:(getobject\*?|getobjectversion|getbucket\*|getbucketlocation|list\*|listbucket|putobject|putobjectlegalhold|putobjectretention|putobjecttagging|putobjectversiontagging|abort\*|deleteobject\*?)$/i,
};

/** Which kind of resource policy is checked: it decides what counts as administration. */
export type PolicyKind = 'key' | 'bucket';

/** A placeholder for a value CloudFormation fills in (a reference): never a wildcard by itself. */
const OPAQUE = '\u0000';
/** A token in a string not yet resolved: its text around it is literal. */
const TOKEN = /\$\{Token\[[^\]]*\]\}/g;

/**
 * The literal text of a resolved CloudFormation value: strings as they are, joins joined, references as an
 * opaque placeholder. A wildcard written around a reference (`arn:${Partition}:iam::*:root`) still shows.
 */
function literal(v: unknown): string {
  const opaque = () => OPAQUE;
  return walkCfn(v, {
    string: (s) => (Token.isUnresolved(s) ? s.replace(TOKEN, OPAQUE) : s),
    join: (separator, parts) => parts.join(String(separator)),
    ref: opaque,
    intrinsic: opaque,
    scalar: opaque,
    array: opaque,
    object: opaque,
  }) as string;
}

function asList(v: unknown): unknown[] {
  return Array.isArray(v) ? v : v === undefined ? [] : [v];
}

const WILDCARD = /[*?]/;
const VARIABLE = /\$\{/;

/** Whether a resolved `Principal` element reaches principals nobody named: `*` or a wildcard ARN. */
function wildcardPrincipal(principal: unknown): string | undefined {
  if (principal === '*') return '*';
  if (principal === null || typeof principal !== 'object') return undefined;
  for (const values of Object.values(principal as Record<string, unknown>)) {
    for (const v of asList(values)) {
      const text = literal(v);
      if (WILDCARD.test(text)) return text.replace(new RegExp(OPAQUE, 'g'), '…');
    }
  }
  return undefined;
}

/**
 * Whether a resolved `Principal` element names AWS services only. A service principal is never public, whatever its
 * conditions: AWS's own documented statements for CloudTrail and CloudWatch Logs narrow such a service to this
 * account's resources with a wildcard ARN in the encryption context, and that narrows, never widens.
 */
function servicesOnly(principal: unknown): boolean {
  if (principal === null || typeof principal !== 'object') return false;
  const kinds = Object.keys(principal as Record<string, unknown>);
  return kinds.length > 0 && kinds.every((k) => k === 'Service');
}

/** Whether the conditions hold the principal to fixed accounts or organizations. */
function limitedToAccountOrOrg(conditions: unknown): boolean {
  if (conditions === null || typeof conditions !== 'object') return false;
  for (const [operator, keys] of Object.entries(conditions as Record<string, unknown>)) {
    if (!LIMITING_OPERATORS.includes(operator.toLowerCase()) || keys === null || typeof keys !== 'object') continue;
    for (const [key, value] of Object.entries(keys as Record<string, unknown>)) {
      if (!LIMITING_KEYS.includes(key.toLowerCase())) continue;
      const values = asList(value).map(literal);
      if (values.length > 0 && values.every((t) => t.length > 0 && !WILDCARD.test(t) && !VARIABLE.test(t))) return true;
    }
  }
  return false;
}

/** The first condition value with a wildcard or a policy variable, as `key: value`. */
function openConditionValue(conditions: unknown): string | undefined {
  if (conditions === null || typeof conditions !== 'object') return undefined;
  for (const keys of Object.values(conditions as Record<string, unknown>)) {
    if (keys === null || typeof keys !== 'object') continue;
    for (const [key, value] of Object.entries(keys as Record<string, unknown>)) {
      for (const v of asList(value)) {
        const text = literal(v);
        if (WILDCARD.test(text) || VARIABLE.test(text)) return `${key}: ${text.replace(new RegExp(OPAQUE, 'g'), '…')}`;
      }
    }
  }
  return undefined;
}

/**
 * Every problem of one policy document (resolved, or as `PolicyDocument.toJSON()` renders it), one line each, naming the statement and the fix:
 * - an Allow to `*` or a wildcard principal that fixed-value conditions do not limit to an account or organization;
 * - administration for such a principal, even when limited;
 * - a wildcard or policy variable in an Allow condition to a principal other than an AWS service (Security Hub KMS.5
 *   counts it as public);
 * - an Allow with NotPrincipal or NotAction;
 * - two statements with one Sid.
 */
export function policyProblems(resolved: unknown, where: string, kind: PolicyKind): string[] {
  const statements = asList((resolved as { Statement?: unknown } | undefined)?.Statement) as Array<Record<string, unknown>>;
  const problems: string[] = [];
  const sids = new Map<string, number>();
  statements.forEach((s, i) => {
    const sid = typeof s.Sid === 'string' ? s.Sid : undefined;
    if (sid !== undefined) sids.set(sid, (sids.get(sid) ?? 0) + 1);
    if (s.Effect !== 'Allow') return;
    const name = sid !== undefined ? `statement ${sid}` : `statement #${i + 1} (no Sid)`;
    // An Allow by exclusion reaches whoever, and whatever, was not excluded: public, or administration by the back door.
    if (s.NotPrincipal !== undefined) {
      problems.push(`${where}: ${name} is an Allow with NotPrincipal, which lets in every principal not listed: name the principals in Principal instead`);
    }
    if (s.NotAction !== undefined) {
      problems.push(`${where}: ${name} is an Allow with NotAction, which gives every action not listed (administration included): name the actions in Action instead`);
    }
    const wildcard = wildcardPrincipal(s.Principal);
    if (wildcard !== undefined) {
      if (!limitedToAccountOrOrg(s.Condition)) {
        problems.push(
          `${where}: ${name} allows principal ${JSON.stringify(wildcard)} without a fixed ${LIMITING_HINT} condition, which makes it public: name the accounts or roles, or add such a condition`,
        );
      }
      const admin = asList(s.Action).map(literal).filter((a) => !USE_ACTIONS[kind].test(a));
      if (admin.length > 0) {
        problems.push(
          `${where}: ${name} gives ${admin.join(', ')} to principal ${JSON.stringify(wildcard)}: administration must name its principals, got: a wildcard principal`,
        );
      }
    }
    const open = servicesOnly(s.Principal) ? undefined : openConditionValue(s.Condition);
    if (open !== undefined) {
      problems.push(
        `${where}: ${name} has a wildcard or policy variable in an Allow condition (Security Hub KMS.5 reports it as public access): use fixed values, got: ${open}`,
      );
    }
  });
  for (const [sid, count] of sids) {
    if (count > 1) problems.push(`${where}: statement id ${sid} appears ${count} times: each statement needs its own Sid (give grantees distinct names)`);
  }
  return problems;
}

/**
 * Why a principal must not be named directly (an unconditioned `*` or a wildcard ARN), or `undefined`.
 * Token values are left to the final-policy check.
 */
export function principalProblem(principal: iam.IPrincipal): string | undefined {
  const fragment = principal.policyFragment;
  const wildcard = wildcardPrincipal(fragment.principalJson);
  if (wildcard === undefined || limitedToAccountOrOrg(fragment.conditions)) return undefined;
  return `principal ${JSON.stringify(wildcard)} reaches every AWS account`;
}

/** The wildcard a principal names (`*`, a wildcard ARN), conditions aside, or `undefined`. */
export function wildcardPrincipalOf(principal: iam.IPrincipal): string | undefined {
  return wildcardPrincipal(principal.policyFragment.principalJson);
}
