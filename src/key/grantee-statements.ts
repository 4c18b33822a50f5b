// Every statement one grantee causes: key policy, bucket policy, and the identity policy of a principal in another stack.
import * as iam from 'aws-cdk-lib/aws-iam';
import { AWS_RESOURCE_GRANT_ACTIONS, CmekAction } from '../private/actions';

/** Condition blocks as IAM writes them: operator → condition key → value(s). */
export type Conditions = { [operator: string]: { [key: string]: unknown } };

/** What kind of principal a grantee names: it decides the statements and the lint notes, never re-inferred. */
export type GranteeKind = 'account' | 'role' | 'principal' | 'organization' | 'service';

/** A grantee rendered for one key or bucket: the input of every builder below. */
export interface BoundGrantee {
  readonly kind: GranteeKind;
  /** The statement-id part: `CmekUsage<name>`. */
  readonly name: string;
  /** The principal as a resource policy names it (an account when the principal lives in another stack). */
  readonly principal: iam.IPrincipal;
  readonly actions: string[];
  /** Conditions that define who the principal is (an organization's `aws:PrincipalOrgID`). */
  readonly principalConditions: Conditions;
  /** `kms:ViaService`: how KMS is called. Applies to the key only. */
  readonly viaServices: string[];
  /** `aws:SourceVpce`: the network path. Applies to key and bucket alike. */
  readonly sourceVpce: string[];
  /** Encryption-context conditions: cryptographic calls only (DescribeKey carries no context). */
  readonly contextConditions: Conditions;
  /** Whether the grantee's AWS services may make grants for the resources they encrypt. */
  readonly forAwsResources?: boolean;
  /** Set when the principal lives in another stack: granted through its account plus an identity policy. */
  readonly identityPrincipal?: iam.IPrincipal;
}

/** Statement-id prefix of grantee statements in the key policy. */
export const USAGE_SID_PREFIX = 'CmekUsage';

/**
 * The key-policy statements of one grantee: its actions with all its conditions and, when it has
 * encryption-context conditions, DescribeKey in a statement of its own, since DescribeKey carries no
 * encryption context and would otherwise always be denied.
 */
export function keyPolicyStatements(grantee: BoundGrantee): iam.PolicyStatement[] {
  const sid = `${USAGE_SID_PREFIX}${grantee.name}`;
  const describeConditions = merge(grantee.principalConditions, keyNetworkConditions(grantee));
  const conditions = merge(describeConditions, grantee.contextConditions);
  const splitDescribe =
    grantee.actions.includes(CmekAction.DESCRIBE_KEY) && grantee.actions.length > 1 && Object.keys(grantee.contextConditions).length > 0;
  const cryptoActions = splitDescribe ? grantee.actions.filter((a) => a !== CmekAction.DESCRIBE_KEY) : grantee.actions;
  const statements = [statement(sid, grantee.principal, cryptoActions, ['*'], conditions)];
  if (splitDescribe) statements.push(statement(`${sid}Describe`, grantee.principal, [CmekAction.DESCRIBE_KEY], ['*'], describeConditions));
  if (grantee.forAwsResources) {
    // As KMS's default key policy writes it: only grants an AWS service makes for a resource it encrypts. The VPC
    // endpoint condition is left out: the service, not the grantee's network, calls KMS.
    const via: Conditions = grantee.viaServices.length > 0 ? { StringEquals: { 'kms:ViaService': grantee.viaServices } } : {};
    statements.push(statement(`${sid}AwsResources`, grantee.principal, [...AWS_RESOURCE_GRANT_ACTIONS], ['*'],
      merge(grantee.principalConditions, via, { Bool: { 'kms:GrantIsForAWSResource': 'true' } })));
  }
  return statements;
}

/**
 * The bucket-policy statement of one grantee: who it is and its network path, never the KMS-only conditions
 * (`kms:ViaService`, encryption context), which S3 requests do not carry.
 */
export function bucketPolicyStatement(grantee: BoundGrantee, sid: string, actions: readonly string[], resources: string[]): iam.PolicyStatement {
  return statement(sid, grantee.principal, [...actions], resources, merge(grantee.principalConditions, sourceVpceCondition(grantee)));
}

/**
 * The identity-policy statement a principal in another stack needs beside the account-wide resource-policy
 * statement, with the conditions the resource policy carries for `target`; undefined for every other grantee.
 */
export function identityStatement(grantee: BoundGrantee, target: 'key' | 'bucket', resources: string[], actions: readonly string[]): iam.PolicyStatement | undefined {
  if (grantee.identityPrincipal === undefined) return undefined;
  const conditions = target === 'key'
    ? merge(grantee.principalConditions, keyNetworkConditions(grantee), grantee.contextConditions)
    : merge(grantee.principalConditions, sourceVpceCondition(grantee));
  return new iam.PolicyStatement({
    actions: [...actions],
    resources,
    conditions: Object.keys(conditions).length > 0 ? conditions : undefined,
  });
}

/** Whether the grantee reaches every principal of an organization (principal `*` narrowed by aws:PrincipalOrgID). */
export function isOrganizationWide(grantee: BoundGrantee): boolean {
  return grantee.kind === 'organization';
}

function keyNetworkConditions(grantee: BoundGrantee): Conditions {
  return merge(grantee.viaServices.length > 0 ? { StringEquals: { 'kms:ViaService': grantee.viaServices } } : {}, sourceVpceCondition(grantee));
}

function sourceVpceCondition(grantee: BoundGrantee): Conditions {
  return grantee.sourceVpce.length > 0 ? { StringEquals: { 'aws:SourceVpce': grantee.sourceVpce } } : {};
}

function statement(sid: string, principal: iam.IPrincipal, actions: string[], resources: string[], conditions: Conditions): iam.PolicyStatement {
  return new iam.PolicyStatement({
    sid,
    principals: [principal],
    actions,
    resources,
    conditions: Object.keys(conditions).length > 0 ? conditions : undefined,
  });
}

/** Condition blocks merged operator by operator. */
export function merge(...blocks: Conditions[]): Conditions {
  const result: Conditions = {};
  for (let i = 0; i < blocks.length; i++) {
    const block = blocks[i];
    // Each operator's block is a fresh object: the result never shares one with its inputs.
    for (const op in block) result[op] = Object.assign(result[op] ?? {}, block[op]);
  }
  return result;
}
