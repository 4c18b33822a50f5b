// Parses the custom resource's properties into typed GrantProperties: every bad property gives one line, nothing is cast.
import {
  ALLOWED_GRANT_OPERATIONS,
  contextProblem,
  GrantProperties,
  nameProblem,
  principalProblem,
} from '../contract';

/** Malformed resource properties: one line per bad property, the reason CloudFormation shows. */
export class GrantPropertiesError extends Error {
  constructor(public readonly problems: string[]) {
    super(problems.join('\n'));
    this.name = 'GrantPropertiesError';
  }
}

const KEY_ARN = /^arn:aws(-[a-z]+)*:kms:[a-z0-9-]+:\d{12}:key\/[a-zA-Z0-9-]+$/;

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function stringMap(v: unknown): Record<string, string> | undefined {
  if (!isRecord(v)) return undefined;
  const out: Record<string, string> = {};
  for (const [k, x] of Object.entries(v)) {
    if (typeof x !== 'string') return undefined;
    out[k] = x;
  }
  return out;
}

/** The key and delete behaviour, which is all a Delete needs (and all a half-formed old resource may still have). */
export function parseDeleteProperties(raw: unknown): Pick<GrantProperties, 'KeyArn' | 'RevokeOnDelete'> {
  const p = isRecord(raw) ? raw : {};
  const problems: string[] = [];
  const keyArn = p.KeyArn;
  if (typeof keyArn !== 'string' || !KEY_ARN.test(keyArn)) problems.push(`\`KeyArn\` must be a KMS key ARN, got: ${JSON.stringify(keyArn)}`);
  const revoke = p.RevokeOnDelete ?? 'true';
  if (revoke !== 'true' && revoke !== 'false') problems.push(`\`RevokeOnDelete\` must be "true" or "false", got: ${JSON.stringify(revoke)}`);
  if (problems.length) throw new GrantPropertiesError(problems);
  return { KeyArn: String(keyArn), RevokeOnDelete: String(revoke) };
}

/** Every property checked before any call to KMS, so a bad one never leaves a half-made grant. */
export function parseGrantProperties(raw: unknown): GrantProperties {
  const p = isRecord(raw) ? raw : {};
  const problems: string[] = [];
  let base: Pick<GrantProperties, 'KeyArn' | 'RevokeOnDelete'> = { KeyArn: '', RevokeOnDelete: 'true' };
  try {
    base = parseDeleteProperties(p);
  } catch (e) {
    if (e instanceof GrantPropertiesError) problems.push(...e.problems);
    else throw e;
  }

  const grantee = typeof p.GranteePrincipal === 'string' ? p.GranteePrincipal : '';
  const granteeProblem = principalProblem('GranteePrincipal', grantee);
  if (granteeProblem) problems.push(granteeProblem);

  let retiring: string | undefined;
  if (p.RetiringPrincipal !== undefined) {
    retiring = typeof p.RetiringPrincipal === 'string' ? p.RetiringPrincipal : '';
    const problem = principalProblem('RetiringPrincipal', retiring);
    if (problem) problems.push(problem);
  }

  const name = typeof p.Name === 'string' ? p.Name : '';
  const badName = nameProblem('Name', name);
  if (badName) problems.push(badName);

  const operations: string[] = [];
  if (!Array.isArray(p.Operations) || p.Operations.length === 0) {
    problems.push(`\`Operations\` must be a non-empty list of ${ALLOWED_GRANT_OPERATIONS.join(', ')}, got: ${JSON.stringify(p.Operations)}`);
  } else {
    for (const op of p.Operations) {
      if (typeof op === 'string' && ALLOWED_GRANT_OPERATIONS.includes(op)) operations.push(op);
      else problems.push(`\`Operations\` must hold only ${ALLOWED_GRANT_OPERATIONS.join(', ')}, got: ${JSON.stringify(op)}`);
    }
  }

  const contexts: Partial<Record<'EncryptionContextEquals' | 'EncryptionContextSubset', Record<string, string>>> = {};
  for (const prop of ['EncryptionContextEquals', 'EncryptionContextSubset'] as const) {
    if (p[prop] === undefined) continue;
    const map = stringMap(p[prop]);
    if (!map) {
      problems.push(`\`${prop}\` must be a map of strings to strings, got: ${JSON.stringify(p[prop])}`);
      continue;
    }
    const problem = contextProblem(prop, map);
    if (problem) problems.push(problem);
    contexts[prop] = map;
  }
  if (contexts.EncryptionContextEquals && contexts.EncryptionContextSubset) {
    problems.push('`EncryptionContextEquals` and `EncryptionContextSubset` are exclusive (KMS takes one constraint), got: both');
  }

  if (problems.length) throw new GrantPropertiesError(problems);
  return {
    ...base,
    GranteePrincipal: grantee,
    RetiringPrincipal: retiring,
    Name: name,
    Operations: operations,
    ...contexts,
  };
}
