// Asks a policy simulator whether a principal may perform a KMS action on a key, given its key policy.
import { runSimulation, runUnsafeSimulation, type EvaluationResult, type Simulation } from '@cloud-copilot/iam-simulate';

export interface KmsRequest {
  /** The key policy as deployed (intrinsics resolved). */
  readonly keyPolicy: unknown;
  readonly keyArn: string;
  /** The calling principal's ARN. */
  readonly principal: string;
  readonly action: string;
  /** Request context, keys spelled exactly as AWS sends them. */
  readonly context?: Record<string, string | string[]>;
  /**
   * Actions the caller's own identity policy allows on the key (a vendor's administrators delegate to
   * their roles this way).
   * @default ['kms:*'] — so the key policy alone decides
   */
  readonly identityActions?: string[];
}

/**
 * The simulator's decision. It validates policies and request first (an invalid one throws), and
 * evaluates the request exactly as given: `kms:EncryptionContext:<key>` keys, which the validated entry
 * point does not recognise, are then still evaluated. Both paths must agree where nothing was ignored.
 */
export async function decide(req: KmsRequest): Promise<EvaluationResult> {
  const accountId = req.keyArn.split(':')[4];
  const identityActions = req.identityActions ?? ['kms:*'];
  const simulation: Simulation = {
    request: {
      principal: req.principal,
      action: req.action,
      resource: { resource: req.keyArn, accountId },
      contextVariables: req.context ?? {},
    },
    identityPolicies: identityActions.length
      ? [{ name: 'caller', policy: { Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: identityActions, Resource: '*' }] } }]
      : [],
    serviceControlPolicies: [],
    resourceControlPolicies: [],
    resourcePolicy: req.keyPolicy,
  };
  const validated = await runSimulation(simulation, {});
  if (validated.resultType === 'error') {
    throw new Error(`simulation rejected: ${JSON.stringify(validated.errors)}`);
  }
  const exact = runUnsafeSimulation(simulation, {});
  const ignored = validated.resultType === 'single' ? validated.result.ignoredContextKeys ?? [] : [];
  const unexplained = ignored.filter((k) => !k.toLowerCase().startsWith('kms:encryptioncontext:'));
  if (unexplained.length > 0) {
    throw new Error(`simulator ignored context keys ${unexplained.join(', ')} for ${req.action}: spell them as AWS does`);
  }
  if (ignored.length === 0 && exact !== validated.overallResult) {
    throw new Error(`simulator paths disagree for ${req.action}: ${validated.overallResult} vs ${exact}`);
  }
  return exact;
}
