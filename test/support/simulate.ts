// Asks a policy simulator whether a principal may perform an action on a resource, given the resource's policy.
import * as path from 'node:path';
import { loadPolicy } from '@cloud-copilot/iam-policy';
import { runSimulation, type EvaluationResult, type Simulation } from '@cloud-copilot/iam-simulate';

/*
 * The simulator's validated entry point drops context keys whose names hold a variable separated by ':'
 * (KMS's `kms:EncryptionContext:<key>`), and its unvalidated one fails on an unnamed resource policy.
 * So, after validation, the request is evaluated by the simulator's own core engine, context as given.
 */
const engineDir = path.dirname(require.resolve('@cloud-copilot/iam-simulate'));
/* eslint-disable @typescript-eslint/no-require-imports */
const { authorize } = require(path.join(engineDir, 'core_engine/CoreSimulatorEngine.js'));
const { AwsRequestImpl } = require(path.join(engineDir, 'request/request.js'));
const { RequestContextImpl } = require(path.join(engineDir, 'requestContext.js'));
const { DiscoveryContextKeyConstraints } = require(path.join(engineDir, 'context_keys/discoveryContextKeyConstraints.js'));
/* eslint-enable @typescript-eslint/no-require-imports */

function evaluateExactly(simulation: Simulation): EvaluationResult {
  const { request } = simulation;
  const analysis = authorize({
    request: new AwsRequestImpl(
      request.principal,
      { resource: request.resource.resource, accountId: request.resource.accountId },
      request.action,
      new RequestContextImpl(request.contextVariables),
    ),
    sessionPolicy: undefined,
    identityPolicies: simulation.identityPolicies.map((p) => loadPolicy(p.policy, { name: p.name })),
    serviceControlPolicies: [],
    resourceControlPolicies: [],
    resourcePolicy: simulation.resourcePolicy ? loadPolicy(simulation.resourcePolicy, { name: 'keyPolicy' }) : undefined,
    permissionBoundaries: undefined,
    vpcEndpointPolicies: undefined,
    simulationParameters: { simulationMode: 'Strict', discoveryContextKeyConstraints: new DiscoveryContextKeyConstraints([]) },
    serviceSettings: { s3: {} },
  });
  return analysis.result;
}

export interface PolicyRequest {
  /** The resource's policy (key policy, bucket policy) as deployed: intrinsics resolved. */
  readonly resourcePolicy: unknown;
  /** The resource's ARN. */
  readonly resource: string;
  /** The account owning the resource. @default - the account in `resource` */
  readonly resourceAccount?: string;
  /** The calling principal's ARN. */
  readonly principal: string;
  readonly action: string;
  /** Request context, keys spelled exactly as AWS sends them. */
  readonly context?: Record<string, string | string[]>;
  /**
   * Actions the caller's own identity policy allows (a vendor's administrators delegate to their roles
   * this way).
   * @default ['kms:*'] — so the resource policy alone decides
   */
  readonly identityActions?: string[];
}

/**
 * The simulator's decision. It validates policies and request first (an invalid one throws), and
 * evaluates the request exactly as given: `kms:EncryptionContext:<key>` keys, which the validated entry
 * point does not recognise, are then still evaluated. Both paths must agree where nothing was ignored.
 */
export async function decide(req: PolicyRequest): Promise<EvaluationResult> {
  const accountId = req.resourceAccount ?? req.resource.split(':')[4];
  const identityActions = req.identityActions ?? ['kms:*'];
  const simulation: Simulation = {
    request: {
      principal: req.principal,
      action: req.action,
      resource: { resource: req.resource, accountId },
      contextVariables: req.context ?? {},
    },
    identityPolicies: identityActions.length
      ? [{ name: 'caller', policy: { Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: identityActions, Resource: '*' }] } }]
      : [],
    serviceControlPolicies: [],
    resourceControlPolicies: [],
    resourcePolicy: req.resourcePolicy,
  };
  const validated = await runSimulation(simulation, {});
  if (validated.resultType === 'error') {
    throw new Error(`simulation rejected: ${JSON.stringify(validated.errors)}`);
  }
  const exact = evaluateExactly(simulation);
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
