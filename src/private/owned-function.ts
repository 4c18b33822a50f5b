// A Lambda function the library owns: its role, its log group, a log policy scoped to that group, and the reasoned lint skips.
import { CfnElement, Duration, RemovalPolicy, Stack } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as cr from 'aws-cdk-lib/custom-resources';
import { Construct } from 'constructs';
import { LOG_WRITE_ACTIONS } from './actions';
import { acknowledgeNag, ignoreCfnLint, skipCheckov, Suppression } from './suppressions';

/**
 * Why each template-linter finding that every owned function raises does not apply to this one: every function
 * states its own reasons, so a new function cannot inherit a suppression that is untrue for it.
 */
export interface OwnedFunctionReasons {
  /** checkov CKV_AWS_116: no dead-letter queue. */
  readonly noDeadLetterQueue: string;
  /** checkov CKV_AWS_117: not in a VPC. */
  readonly noVpc: string;
  /** checkov CKV_AWS_115: no reserved concurrency. */
  readonly noReservedConcurrency: string;
  /** checkov CKV_AWS_173: environment variables without a customer-managed key. Needed when the function has any. */
  readonly plainEnvironment?: string;
  /** checkov CKV_AWS_158: the log group is not encrypted with a KMS key. */
  readonly unencryptedLogs: string;
}

/** Construct ids of the parts, all created directly on the given scope. */
export interface OwnedFunctionIds {
  /** The log group's id. @default 'Logs' */
  readonly logGroup?: string;
  /** The role's id. @default 'Role' */
  readonly role?: string;
  /** The function's id. @default 'Function' */
  readonly function?: string;
  /** The policy's id. @default 'Policy' */
  readonly policy?: string;
}

/** What an owned function is made of. */
export interface OwnedFunctionProps {
  /**
   * Construct ids of the log group, role, function and policy. They are created on the given scope, with no
   * construct of their own around them, so a construct that adopts this keeps its logical ids (nothing is replaced).
   */
  readonly ids?: OwnedFunctionIds;
  /** The role's description. */
  readonly roleDescription: string;
  /** The function's description. */
  readonly description: string;
  /** The bundled handler. */
  readonly code: lambda.Code;
  /** The handler's entry point in `code`. */
  readonly handler: string;
  /** Memory in MiB. */
  readonly memorySize: number;
  /** How long one invocation may run. */
  readonly timeout: Duration;
  /** Environment variables (no secrets: they are not encrypted with a customer key). @default - none */
  readonly environment?: Record<string, string>;
  /** How long the log group keeps the function's logs. */
  readonly logRetention: logs.RetentionDays;
  /** What happens to the log group when it leaves the stack. @default RemovalPolicy.RETAIN */
  readonly logRemovalPolicy?: RemovalPolicy;
  /** The function's own permissions, placed before the log statement in the policy. @default - none */
  readonly statements?: iam.PolicyStatement[];
  /** The Sid of the log statement. @default - none */
  readonly logStatementSid?: string;
  /** Why the template-linter findings every owned function raises do not apply to this one. */
  readonly reasons: OwnedFunctionReasons;
}

/** The parts of an owned function. */
export interface OwnedFunction {
  /** The function. */
  readonly function: lambda.Function;
  /** Its execution role, with no managed policy. */
  readonly role: iam.Role;
  /** Its own log group. */
  readonly logGroup: logs.LogGroup;
  /** The role's one inline policy: `statements`, then writing to its own log group (and nowhere else). */
  readonly policy: iam.Policy;
}

/** The checkov skips of a function, in the order checkov lists them; CKV_AWS_173 only with `plainEnvironment`. */
export function functionCheckovSkips(reasons: OwnedFunctionReasons): Suppression[] {
  return [
    { id: 'CKV_AWS_116', reason: reasons.noDeadLetterQueue },
    { id: 'CKV_AWS_117', reason: reasons.noVpc },
    { id: 'CKV_AWS_115', reason: reasons.noReservedConcurrency },
    ...(reasons.plainEnvironment !== undefined ? [{ id: 'CKV_AWS_173', reason: reasons.plainEnvironment }] : []),
  ];
}

/** The cfn-lint finding every aws-cdk-lib Function raises. */
export function ignoreFunctionCfnLint(fn: Construct): void {
  ignoreCfnLint(fn, ['W3005'], 'aws-cdk-lib makes a Function depend on its role explicitly; the extra DependsOn is harmless.');
}

/**
 * Builds a function the library owns on `scope`: Node.js 24 on ARM, its own role and log group, and a policy whose
 * only log permission is its own log group. No AWSLambdaBasicExecutionRole: that would let it write to every log
 * group of the account. Nothing here raises a cdk-nag finding; the template-linter findings are skipped with the
 * caller's reasons.
 */
export function createOwnedFunction(scope: Construct, props: OwnedFunctionProps): OwnedFunction {
  const ids = props.ids ?? {};
  if (props.environment !== undefined && props.reasons.plainEnvironment === undefined) {
    throw new Error(`an owned function with an environment needs \`reasons.plainEnvironment\`, got: none for ${scope.node.path}`);
  }
  const logGroup = new logs.LogGroup(scope, ids.logGroup ?? 'Logs', { retention: props.logRetention, removalPolicy: props.logRemovalPolicy });
  const role = new iam.Role(scope, ids.role ?? 'Role', {
    assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'),
    description: props.roleDescription,
  });
  const fn = new lambda.Function(scope, ids.function ?? 'Function', {
    description: props.description,
    runtime: lambda.Runtime.NODEJS_24_X,
    architecture: lambda.Architecture.ARM_64,
    handler: props.handler,
    code: props.code,
    timeout: props.timeout,
    memorySize: props.memorySize,
    role,
    logGroup,
    environment: props.environment,
  });
  const policy = new iam.Policy(scope, ids.policy ?? 'Policy', {
    roles: [role],
    statements: [
      ...(props.statements ?? []),
      new iam.PolicyStatement({
        sid: props.logStatementSid,
        actions: [...LOG_WRITE_ACTIONS],
        // The log group's ARN attribute ends in `:*`, which covers its streams.
        resources: [logGroup.logGroupArn],
      }),
    ],
  });

  skipCheckov(fn, functionCheckovSkips(props.reasons));
  ignoreFunctionCfnLint(fn);
  skipCheckov(logGroup, [{ id: 'CKV_AWS_158', reason: props.reasons.unencryptedLogs }]);
  return { function: fn, role, logGroup, policy };
}

/**
 * The findings of the function aws-cdk-lib's `Provider` builds around an owned handler, each with its reason:
 * cdk-nag on the provider, checkov and cfn-lint on its framework function and, with
 * `@aws-cdk/aws-lambda:useCdkManagedLogGroup` (a recommended flag), on the framework's own log group.
 */
export function reasonProviderFramework(provider: cr.Provider, handler: lambda.Function, reasons: OwnedFunctionReasons, logsReason: string): void {
  const handlerLogicalId = Stack.of(provider).getLogicalId(handler.node.defaultChild as CfnElement);
  acknowledgeNag(
    provider,
    {
      // aws-cdk-lib writes managed-policy ARNs with the partition pseudo parameter, whatever the stack knows.
      id: 'AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole]',
      reason: 'the aws-cdk-lib Provider framework function writes its own logs with the AWS managed basic execution role',
    },
    { id: `AwsSolutions-IAM5[Resource::<${handlerLogicalId}.Arn>:*]`, reason: 'the Provider framework may invoke every version of the one handler function' },
    { id: 'AwsSolutions-L1', reason: 'the Provider framework function runtime is chosen by aws-cdk-lib' },
  );
  const framework = provider.node.findChild('framework-onEvent');
  skipCheckov(framework, functionCheckovSkips({
    ...reasons,
    plainEnvironment: 'The Provider framework environment holds only the handler function name, no secret.',
  }));
  ignoreFunctionCfnLint(framework as Construct);
  const frameworkLogs = framework.node.tryFindChild('LogGroup');
  if (frameworkLogs instanceof logs.LogGroup) skipCheckov(frameworkLogs, [{ id: 'CKV_AWS_158', reason: logsReason }]);
}
