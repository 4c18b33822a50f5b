// The one handler and Provider every CmekGrant of a stack shares, and the key-policy statements that let it manage grants.
import * as path from 'node:path';
import { Duration, RemovalPolicy, Stack } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as cr from 'aws-cdk-lib/custom-resources';
import { Construct } from 'constructs';
import { CmekKey } from '../key/cmek-key';
import { createOwnedFunction, OwnedFunctionReasons, reasonProviderFramework } from '../private/owned-function';

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

    reasonProviderFramework(provider, owned.function, HANDLER_REASONS,
      'The Provider framework logs CloudFormation requests and responses: grant ids, names and tokens, which give nothing to anyone but the grantee; CloudWatch Logs encrypts the log at rest.');
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

}
