// CmekGrant: one KMS grant on a CmekKey, created, replaced and revoked by a custom resource (CloudFormation has no grant type).
import { CustomResource, Names, Stack, Token } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import { Construct } from 'constructs';
import {
  contextProblem,
  GRANT_ATTRIBUTES,
  GRANT_CREATE_OPERATION,
  GRANT_NAME_MAX,
  GRANT_OPERATIONS_OF_ACTION,
  GRANT_RETIRE_OPERATION,
  GrantProperties,
  nameProblem,
  principalProblem,
} from './contract';
import { GrantProvider } from './grant-provider';
import { CmekKey } from '../key/cmek-key';
import { CMEK_USAGE_ACTIONS, CmekAction } from '../private/actions';
import { withPath } from '../private/errors';
import { got } from '../private/validate';

/** Properties of a `CmekGrant`. */
export interface CmekGrantProps {
  /** The key the grant is on: a `CmekKey` of the same stack, whose policy lets this stack's grant handler create the grant. */
  readonly key: CmekKey;

  /** Who receives the grant: the ARN of an IAM role, IAM user or account root. */
  readonly granteePrincipal: string;

  /**
   * The permissions the grant gives, a subset of the CMEK usage set.
   *
   * @default - all five: Encrypt, Decrypt, ReEncrypt*, GenerateDataKey*, DescribeKey
   */
  readonly operations?: CmekAction[];

  /**
   * Lets the grantee create grants of its own on the key (KMS requires them to be as strict as this one).
   *
   * @default false
   */
  readonly allowCreateGrant?: boolean;

  /**
   * Lets the grantee retire this grant.
   *
   * @default false
   */
  readonly allowRetireGrant?: boolean;

  /**
   * The grant allows cryptographic operations only with exactly this encryption context (keys case-insensitive,
   * values case-sensitive). Exclusive with `encryptionContextSubset`.
   *
   * @default - no constraint of this kind
   */
  readonly encryptionContextEquals?: Record<string, string>;

  /**
   * The grant allows cryptographic operations only when the encryption context includes these pairs. Exclusive with
   * `encryptionContextEquals`.
   *
   * @default - no constraint of this kind
   */
  readonly encryptionContextSubset?: Record<string, string>;

  /**
   * A principal that may retire the grant: the ARN of an IAM role, IAM user or account root.
   *
   * @default - none (with `revokeOnDelete: false`, the grant handler's role)
   */
  readonly retiringPrincipal?: string;

  /**
   * The grant's name (1 to 256 characters of a-z A-Z 0-9 : / _ -). Retried creates with the same name and
   * parameters return the same grant.
   *
   * @default - derived from the construct path: stable across deployments
   */
  readonly name?: string;

  /**
   * Whether deleting the resource revokes the grant. `false` retires it instead: the grant handler's role is then
   * the grant's retiring principal, and the key policy gives it no RevokeGrant.
   *
   * @default true
   */
  readonly revokeOnDelete?: boolean;
}

/**
 * One KMS grant: hands one IAM principal the named uses of a key, optionally bound to an encryption context, and
 * revocable without a key-policy change. Grants are immutable: changing any property makes a new grant, and
 * CloudFormation then revokes the old one.
 */
export class CmekGrant extends Construct {
  /** The grant id (the resource's physical id). */
  public readonly grantId: string;
  /**
   * A grant token, usable right after creation before the grant has propagated. Empty when a retried create
   * returned a grant made earlier.
   */
  public readonly grantToken: string;
  /** The grant's name. */
  public readonly grantName: string;

  constructor(scope: Construct, id: string, props: CmekGrantProps) {
    super(scope, id);
    try {
      const revoke = props.revokeOnDelete ?? true;
      this.validateKey(props.key);
      this.validatePrincipals(props, revoke);
      const operations = this.operations(props);
      this.validateContexts(props);
      this.grantName = props.name ?? this.defaultName();
      if (!Token.isUnresolved(this.grantName)) {
        const problem = nameProblem('name', this.grantName);
        if (problem) throw new Error(problem);
      }

      const provider = GrantProvider.of(this);
      const retiringPrincipal = props.retiringPrincipal ?? (revoke ? undefined : provider.role.roleArn);
      this.allowCreating(provider, props, operations, retiringPrincipal);
      provider.allowManaging(props.key, revoke);

      const properties: GrantProperties = {
        KeyArn: props.key.keyArn,
        GranteePrincipal: props.granteePrincipal,
        Operations: operations,
        Name: this.grantName,
        RetiringPrincipal: retiringPrincipal,
        EncryptionContextEquals: props.encryptionContextEquals,
        EncryptionContextSubset: props.encryptionContextSubset,
        RevokeOnDelete: String(revoke),
      };
      const resource = new CustomResource(this, 'Resource', {
        serviceToken: provider.serviceToken,
        resourceType: 'Custom::CmekGrant',
        properties: { ...properties },
      });
      // The handler's log permission first, and kept until the grant is gone.
      resource.node.addDependency(provider.policy);
      this.grantId = resource.getAttString(GRANT_ATTRIBUTES.grantId);
      this.grantToken = resource.getAttString(GRANT_ATTRIBUTES.grantToken);
    } catch (e) {
      throw withPath(this.node.path, e);
    }
  }

  /**
   * The key-policy statement that lets the handler create this grant and no other: this grantee, these
   * operations (and this retiring principal).
   */
  private allowCreating(provider: GrantProvider, props: CmekGrantProps, operations: string[], retiringPrincipal: string | undefined): void {
    const sid = `CmekGrantCreate${Names.uniqueId(this).replace(/[^A-Za-z0-9]/g, '').slice(-40)}`;
    props.key.addToResourcePolicy(new iam.PolicyStatement({
      sid,
      principals: [new iam.ArnPrincipal(provider.role.roleArn)],
      actions: ['kms:CreateGrant'],
      resources: ['*'],
      conditions: {
        'StringEquals': {
          'kms:GranteePrincipal': props.granteePrincipal,
          ...(retiringPrincipal !== undefined ? { 'kms:RetiringPrincipal': retiringPrincipal } : {}),
        },
        'ForAllValues:StringEquals': { 'kms:GrantOperations': operations },
      },
    }));
  }

  private validateKey(key: CmekKey): void {
    if (!(key instanceof CmekKey)) {
      throw new Error(`\`key\` must be a CmekKey (its policy lets the grant handler create the grant), got: ${got(String(key))}`);
    }
    if (Stack.of(key) !== Stack.of(this)) {
      throw new Error(`\`key\` must be a CmekKey of this grant's stack (${Stack.of(this).node.path}), got: one of ${Stack.of(key).node.path}`);
    }
  }

  private validatePrincipals(props: CmekGrantProps, revoke: boolean): void {
    for (const [prop, value] of [['granteePrincipal', props.granteePrincipal], ['retiringPrincipal', props.retiringPrincipal]] as const) {
      if (value === undefined || Token.isUnresolved(value)) continue;
      const problem = principalProblem(prop, value);
      if (problem) throw new Error(problem);
    }
    if (!revoke && props.retiringPrincipal !== undefined) {
      throw new Error(
        `\`retiringPrincipal\` must be left out when \`revokeOnDelete\` is false (the grant handler retires the grant, so it is the retiring principal), got: ${got(props.retiringPrincipal)}`,
      );
    }
  }

  /** The KMS grant operations: the chosen CMEK permissions spelled as grants spell them, plus what was asked for. */
  private operations(props: CmekGrantProps): string[] {
    const actions = props.operations ?? CMEK_USAGE_ACTIONS;
    if (actions.length === 0) {
      throw new Error(`\`operations\` must hold at least one of ${CMEK_USAGE_ACTIONS.join(', ')}, got: none`);
    }
    const ops = new Set<string>();
    for (const action of actions) {
      const mapped = GRANT_OPERATIONS_OF_ACTION[action];
      if (!CMEK_USAGE_ACTIONS.includes(action) || mapped === undefined) {
        throw new Error(`\`operations\` must hold only ${CMEK_USAGE_ACTIONS.join(', ')}, got: ${got(action)}`);
      }
      mapped.forEach((op) => ops.add(op));
    }
    if (props.allowCreateGrant) ops.add(GRANT_CREATE_OPERATION);
    if (props.allowRetireGrant) ops.add(GRANT_RETIRE_OPERATION);
    return [...ops];
  }

  private validateContexts(props: CmekGrantProps): void {
    if (props.encryptionContextEquals !== undefined && props.encryptionContextSubset !== undefined) {
      throw new Error('`encryptionContextEquals` and `encryptionContextSubset` are exclusive (a KMS grant takes one constraint), got: both');
    }
    for (const [prop, context] of [['encryptionContextEquals', props.encryptionContextEquals], ['encryptionContextSubset', props.encryptionContextSubset]] as const) {
      if (context === undefined) continue;
      const problem = contextProblem(prop, context, (s) => !Token.isUnresolved(s));
      if (problem) throw new Error(problem);
    }
  }

  /** `cdk-cmek/<construct path>`, cut with a hash of the full path when longer than KMS allows. */
  private defaultName(): string {
    const full = `cdk-cmek/${this.node.path}`.replace(/[^a-zA-Z0-9:/_-]/g, '-');
    if (full.length <= GRANT_NAME_MAX) return full;
    const hash = this.node.addr.slice(0, 16);
    return `${full.slice(0, GRANT_NAME_MAX - hash.length - 1)}-${hash}`;
  }
}
