// The organization-wide deletion guard as an Organizations policy document: its statements, its exemptions and its size rule.
import { Token } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import { DeletionGuardStatementOptions, deletionGuardStatement, pendingWindowStatement, usageUnknownStatement } from '../key/key-policy';
import { got } from '../private/validate';

/**
 * Organizations refuses an RCP or an SCP longer than 5,120 characters, counting every character of the policy
 * text, whitespace outside strings included. The guard measures the compact JSON: CloudFormation writes the text
 * from the `Content` object itself, and AWS documents no whitespace it would add.
 */
export const ORGANIZATION_POLICY_MAX_CHARS = 5_120;

/** What the organization policy holds: the key policy's guard options, the waiting-period floor and the policy type. */
export interface GuardPolicyOptions extends DeletionGuardStatementOptions {
  /** The shortest waiting period ScheduleKeyDeletion may ask for; 7 (the KMS minimum) writes no statement. */
  readonly minPendingWindowDays: number;
  /** RCP statements carry `Principal: "*"`; SCP statements carry no Principal element at all. */
  readonly withPrincipal: boolean;
}

/** One statement of an Organizations policy, as the policy text holds it. */
export interface OrganizationStatement {
  readonly Sid: string;
  readonly Effect: 'Deny';
  readonly Principal?: '*';
  readonly Action: string | string[];
  readonly Resource: string | string[];
  readonly Condition: { [operator: string]: unknown };
}

/** The policy text. */
export interface OrganizationPolicyDocument {
  readonly Version: '2012-10-17';
  readonly Statement: OrganizationStatement[];
}

/**
 * The same statements as a CmekKey's guard, built by the same functions (so the threshold is
 * `NumericLessThanEquals`, at or below `minDaysUnused`, exactly as in a key policy), rewritten for an
 * Organizations policy: an RCP allows only `"Principal": "*"` (not `{"AWS": "*"}`) and no `NotPrincipal`;
 * an SCP allows no Principal element.
 */
export function guardPolicyDocument(options: GuardPolicyOptions): OrganizationPolicyDocument {
  const statements: iam.PolicyStatement[] = [deletionGuardStatement(options)];
  if (options.failClosed) statements.push(usageUnknownStatement(options));
  const window = pendingWindowStatement(options.minPendingWindowDays);
  if (window) statements.push(window);
  return { Version: '2012-10-17', Statement: statements.map((s) => organizationStatement(s, options.withPrincipal)) };
}

function organizationStatement(statement: iam.PolicyStatement, withPrincipal: boolean): OrganizationStatement {
  const json = statement.toStatementJson();
  return {
    Sid: json.Sid,
    Effect: 'Deny',
    ...(withPrincipal ? { Principal: '*' as const } : {}),
    Action: json.Action,
    Resource: json.Resource,
    Condition: json.Condition,
  };
}

/*
 * Why `arn:aws:iam::*:role/Name` is accepted here, and nowhere in a key policy: kms:ScheduleKeyDeletion and
 * kms:DisableKey have no cross-account use (the KMS API reference: "Cross-account use: No"), so only principals of
 * the key's own account ever reach these statements. A wildcard account then matches one role: the role of that
 * name in the key's own account, such as a break-glass role a StackSet creates in every member account. One pattern
 * stands for every account, where concrete ARNs would fill 5,120 characters after about fifty accounts. The name
 * itself stays exact: a wildcard there would exempt every role whose name matches, which anyone able to create a
 * role could use.
 */
const EXEMPT_ARN = /^arn:aws[a-z-]*:iam::(\d{12}|\*):(role|user)\/[\w+=,.@/-]+$/;

/** One line per exemption that is not an IAM role or user ARN with a concrete name (account: 12 digits or `*`). */
export function exemptionProblems(prop: string, arns: string[]): string[] {
  const problems: string[] = [];
  for (const arn of arns) {
    if (Token.isUnresolved(arn)) continue;
    if (/^arn:aws[a-z-]*:sts::/.test(arn)) {
      problems.push(
        `\`${prop}\` must hold IAM role or user ARNs, not STS session ARNs: aws:PrincipalArn of an assumed role is the role ARN (arn:aws:iam::<account>:role/<name>), so this entry would never match, got: ${got(arn)}`,
      );
    } else if (!EXEMPT_ARN.test(arn)) {
      problems.push(
        `\`${prop}\` must hold IAM role or user ARNs with a concrete name, such as arn:aws:iam::111122223333:role/KeyBreakGlass or arn:aws:iam::*:role/KeyBreakGlass (the account may be *, the name may not hold wildcards; no account roots), got: ${got(arn)}`,
      );
    }
  }
  return problems;
}

/** Organizations target ids: a root, an organizational unit, or an account (the CloudFormation `TargetIds` patterns). */
const TARGET_ID = /^(r-[0-9a-z]{4,32}|ou-[0-9a-z]{4,32}-[0-9a-z]{8,32}|\d{12})$/;

/** One line per target id that is no root, OU or account id; one line for an empty list. */
export function targetProblems(prop: string, ids: string[]): string[] {
  if (ids.length === 0) {
    return [`\`${prop}\` must name at least one root (r-xxxx), organizational unit (ou-xxxx-xxxxxxxx) or account (12 digits), got: an empty list`];
  }
  const problems: string[] = [];
  const seen = new Set<string>();
  for (const id of ids) {
    if (Token.isUnresolved(id)) continue;
    if (!TARGET_ID.test(id)) {
      problems.push(`\`${prop}\` must hold root ids (r-xxxx), organizational unit ids (ou-xxxx-xxxxxxxx) or 12-digit account ids, got: ${got(id)}`);
    } else if (seen.has(id)) {
      problems.push(`\`${prop}\` must not name a target twice (Organizations attaches a policy once per target), got: ${got(id)} twice`);
    }
    seen.add(id);
  }
  return problems;
}

/** How many of the exemptions, taken in order, keep the policy within the limit (the size grows with each one). */
export function exemptionsThatFit(options: GuardPolicyOptions, measure: (doc: OrganizationPolicyDocument) => number): number {
  const fits = (count: number) =>
    measure(guardPolicyDocument({ ...options, exemptPrincipalArns: options.exemptPrincipalArns.slice(0, count) })) <= ORGANIZATION_POLICY_MAX_CHARS;
  let low = 0;
  let high = options.exemptPrincipalArns.length;
  while (low < high) {
    const mid = Math.ceil((low + high) / 2);
    if (fits(mid)) low = mid;
    else high = mid - 1;
  }
  return low;
}
