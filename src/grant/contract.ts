// The contract between CmekGrant and its handler: resource properties, attributes, and the rules both sides check.

/** ResourceProperties of the custom resource (CloudFormation passes every scalar as a string). */
export interface GrantProperties {
  readonly KeyArn: string;
  readonly GranteePrincipal: string;
  /** KMS grant operations (`Decrypt`, `ReEncryptFrom`, …), not IAM actions. */
  readonly Operations: string[];
  readonly Name: string;
  readonly RetiringPrincipal?: string;
  readonly EncryptionContextEquals?: Record<string, string>;
  readonly EncryptionContextSubset?: Record<string, string>;
  /** 'true': Delete revokes the grant; 'false': Delete retires it (the handler is then its retiring principal). */
  readonly RevokeOnDelete: string;
}

/** Attributes the resource returns (`Fn::GetAtt`). */
export const GRANT_ATTRIBUTES = {
  grantId: 'GrantId',
  grantToken: 'GrantToken',
} as const;

/** The grant operations each CMEK permission stands for: grants name concrete operations, never wildcards. */
export const GRANT_OPERATIONS_OF_ACTION: Readonly<Record<string, readonly string[]>> = {
  'kms:Encrypt': ['Encrypt'],
  'kms:Decrypt': ['Decrypt'],
  'kms:ReEncrypt*': ['ReEncryptFrom', 'ReEncryptTo'],
  'kms:GenerateDataKey*': ['GenerateDataKey', 'GenerateDataKeyWithoutPlaintext', 'GenerateDataKeyPair', 'GenerateDataKeyPairWithoutPlaintext'],
  'kms:DescribeKey': ['DescribeKey'],
};

/** Operations a grant may hold only when asked for explicitly. */
export const GRANT_CREATE_OPERATION = 'CreateGrant';
export const GRANT_RETIRE_OPERATION = 'RetireGrant';

/** Every operation a CmekGrant may carry. */
export const ALLOWED_GRANT_OPERATIONS: readonly string[] = [
  ...Object.values(GRANT_OPERATIONS_OF_ACTION).flat(),
  GRANT_CREATE_OPERATION,
  GRANT_RETIRE_OPERATION,
];

/**
 * KMS CreateGrant API reference, `Constraints`: "Each constraint value can include up to 8 encryption context
 * pairs. The encryption context value in each constraint cannot exceed 384 characters."
 * (https://docs.aws.amazon.com/kms/latest/APIReference/API_CreateGrant.html). The 384 characters are counted
 * over all keys and values of the constraint, the stricter reading.
 */
export const GRANT_CONTEXT_MAX_PAIRS = 8;
export const GRANT_CONTEXT_MAX_CHARS = 384;

/** KMS `GrantName`: 1 to 256 characters of this set. */
export const GRANT_NAME_PATTERN = /^[a-zA-Z0-9:/_-]{1,256}$/;
export const GRANT_NAME_MAX = 256;

/** An IAM role or user (with path) or an account root, by ARN: no wildcards, no STS session, no service principal. */
export const GRANT_PRINCIPAL_PATTERN = /^arn:aws(-[a-z]+)*:iam::\d{12}:(root|(role|user)\/[\w+=,.@/-]*[\w+=,.@-])$/;

/** Why a grantee or retiring principal is refused, or undefined when it is an IAM ARN KMS accepts. */
export function principalProblem(prop: string, value: string): string | undefined {
  if (GRANT_PRINCIPAL_PATTERN.test(value)) return undefined;
  return `\`${prop}\` must be the ARN of an IAM role, IAM user or account root (no wildcards, STS sessions or service principals), got: ${JSON.stringify(value)}`;
}

/** Why a grant name is refused, or undefined. */
export function nameProblem(prop: string, value: string): string | undefined {
  if (GRANT_NAME_PATTERN.test(value)) return undefined;
  return `\`${prop}\` must be 1 to ${GRANT_NAME_MAX} characters of a-z A-Z 0-9 : / _ -, got: ${JSON.stringify(value)}`;
}

/** Why an encryption-context constraint is refused, or undefined. `resolved` skips pairs holding unresolved tokens. */
export function contextProblem(prop: string, context: Record<string, string>, resolved: (s: string) => boolean = () => true): string | undefined {
  const entries = Object.entries(context);
  if (entries.length === 0) return `\`${prop}\` must hold 1 to ${GRANT_CONTEXT_MAX_PAIRS} pairs, got: none`;
  if (entries.length > GRANT_CONTEXT_MAX_PAIRS) {
    return `\`${prop}\` must hold at most ${GRANT_CONTEXT_MAX_PAIRS} pairs (KMS grant constraint limit), got: ${entries.length}`;
  }
  for (const [k, v] of entries) {
    if (!resolved(k) || !resolved(v)) continue;
    if (k.length === 0) return `\`${prop}\` keys must be non-empty, got: ""`;
    if (typeof v !== 'string' || v.length === 0) return `\`${prop}\` value of ${JSON.stringify(k)} must be a non-empty string, got: ${JSON.stringify(v)}`;
  }
  if (entries.every(([k, v]) => resolved(k) && resolved(v))) {
    const chars = entries.reduce((n, [k, v]) => n + k.length + v.length, 0);
    if (chars > GRANT_CONTEXT_MAX_CHARS) {
      return `\`${prop}\` must total at most ${GRANT_CONTEXT_MAX_CHARS} characters of keys and values (KMS grant constraint limit), got: ${chars}`;
    }
  }
  return undefined;
}
