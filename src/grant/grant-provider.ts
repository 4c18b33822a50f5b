// The one handler and Provider every CmekGrant of a stack shares, and the key-policy statements that let it manage grants.
import * as path from 'node:path';
import { CfnElement, Duration, RemovalPolicy, Stack } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as cr from 'aws-cdk-lib/custom-resources';
import { Construct, IConstruct } from 'constructs';
import { CmekKey } from '../key/cmek-key';
import { createOwnedFunction, functionCheckovSkips, ignoreFunctionCfnLint, OwnedFunctionReasons } from '../private/owned-function';
import { acknowledgeNag, skipCheckov } from '../private/suppressions';

/** Why the lint findings of the grant handler do not apply (the Provider framework function shares the first three). */
const HANDLER_REASONS: OwnedFunctionReasons = {
  noDeadLetterQueue: 'Invoked synchronously by CloudFormation through the Provider framework, which reports failures to the stack; a dead-letter queue would receive nothing.',
  noVpc: 'Calls only the KMS public endpoint at deploy time and reaches no private resource.',
  noReservedConcurrency: 'Runs only during deployments; reserving concurrency fails to deploy in accounts at the minimum unreserved concurrency.',
  unencryptedLogs: 'The handler logs no secret: grant ids, names and tokens give nothing to anyone but the grantee, who holds the grant anyway. CloudWatch Logs encrypts the log at rest.',
};

/** The stack's grant handler: its role is the principal that key policies let create, list and revoke grants. */
export class GrantProvider extends Construct {
  /** Finds the stack's provider or creates it. */
  public static of(scope: Construct): GrantProvider {
    const stack = Stack.of(scope);
    const id = 'CdkCmekGrantProvider';
    const found = stack.node.tryFindChild(id);
    return found instanceof GrantProvider ? found : new GrantProvider(stack, id);
  }

  public readonly serviceToken: string;
  /** The handler's role: the principal of the grant statements in key policies. */
  public readonly role: iam.Role;
  public readonly policy: iam.Policy;
  private readonly managedKeys = new Map<string, Set<string>>();

  private constructor(scope: Construct, id: string) {
    super(scope, id);
    const owned = createOwnedFunction(this, {
      ids: { function: 'Handler', policy: 'Permissions' },
      roleDescription: 'cdk-cmek CmekGrant handler',
      description: 'cdk-cmek: creates and revokes KMS grants',
      code: lambda.Code.fromAsset(path.join(__dirname, '..', '..', 'assets', 'grant', 'runtime', 'grant.lambda')),
      handler: 'index.handler',
      memorySize: 256,
      timeout: Duration.minutes(2),
      logRetention: logs.RetentionDays.ONE_YEAR,
      logRemovalPolicy: RemovalPolicy.DESTROY,
      reasons: HANDLER_REASONS,
    });
    this.role = owned.role;
    this.policy = owned.policy;
    const provider = new cr.Provider(this, 'Provider', { onEventHandler: owned.function });
    this.serviceToken = provider.serviceToken;

    const fnLogicalId = Stack.of(this).getLogicalId(owned.function.node.defaultChild as CfnElement);
    acknowledgeNag(
      provider,
      {
        // aws-cdk-lib writes managed-policy ARNs with the partition pseudo parameter, whatever the stack knows.
        id: 'AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole]',
        reason: 'the aws-cdk-lib Provider framework function writes its own logs with the AWS managed basic execution role',
      },
      { id: `AwsSolutions-IAM5[Resource::<${fnLogicalId}.Arn>:*]`, reason: 'the Provider framework may invoke every version of the one handler function' },
      { id: 'AwsSolutions-L1', reason: 'the Provider framework function runtime is chosen by aws-cdk-lib' },
    );
    this.suppressFrameworkFindings(provider.node.findChild('framework-onEvent'));
  }

  /**
   * Lets the handler list grants of `key`, and revoke them when `revoke`: once per key and action, in statements of
   * their own, because RevokeGrant and ListGrants take no grantee or operation condition.
   */
  public allowManaging(key: CmekKey, revoke: boolean): void {
    const actions = this.managedKeys.get(key.node.addr) ?? new Set<string>();
    this.managedKeys.set(key.node.addr, actions);
    const wanted = [{ action: 'kms:ListGrants', sid: 'CmekGrantHandlerList' }];
    if (revoke) wanted.push({ action: 'kms:RevokeGrant', sid: 'CmekGrantHandlerRevoke' });
    for (const { action, sid } of wanted) {
      if (actions.has(action)) continue;
      actions.add(action);
      key.addToResourcePolicy(new iam.PolicyStatement({
        sid,
        principals: [new iam.ArnPrincipal(this.role.roleArn)],
        actions: [action],
        resources: ['*'],
      }));
    }
  }

  /** checkov / cfn-lint findings of the Provider framework function, which aws-cdk-lib builds, each with its reason. */
  private suppressFrameworkFindings(framework: IConstruct): void {
    skipCheckov(framework, functionCheckovSkips({
      ...HANDLER_REASONS,
      plainEnvironment: 'The Provider framework environment holds only the handler function name, no secret.',
    }));
    ignoreFunctionCfnLint(framework);
    // With @aws-cdk/aws-lambda:useCdkManagedLogGroup (a recommended flag), the framework function gets a log group of its own.
    const frameworkLogs = framework.node.tryFindChild('LogGroup');
    if (frameworkLogs instanceof logs.LogGroup) {
      skipCheckov(frameworkLogs, [
        { id: 'CKV_AWS_158', reason: 'The Provider framework logs CloudFormation requests and responses: grant ids, names and tokens, which give nothing to anyone but the grantee; CloudWatch Logs encrypts the log at rest.' },
      ]);
    }
  }
}
