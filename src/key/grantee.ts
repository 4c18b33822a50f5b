// CmekGrantee: who may use a CMEK key (another account, a role, an organization, a service), and on what conditions.
import { Resource, Stack, Token } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import { Construct, IConstruct } from 'constructs';
import { BoundGrantee, Conditions, GranteeKind, merge } from './grantee-statements';
import { CMEK_USAGE_ACTIONS, CmekAction } from '../private/actions';
import { principalProblem } from '../private/policy-check';
import { got, validateAccountId, validateFixedConditionValue, validatePattern } from '../private/validate';

/**
 * Conditions and naming shared by every kind of grantee.
 */
export interface CmekGranteeOptions {
  /**
   * A readable name for the grantee, used in the key-policy statement id (`CmekUsage<Name>`).
   *
   * Letters and digits are kept; other characters separate words (`acme-analytics` becomes
   * `AcmeAnalytics`). Keep it stable: it identifies the statement across deployments.
   *
   * @default - derived from the account id, role name, organization id or service name; required for
   * `CmekGrantee.principal()` when the principal is not a construct, and for a role ARN that is a token
   */
  readonly name?: string;

  /**
   * The permissions granted: the full CMEK usage set or a subset (for example decrypt-only).
   *
   * @default - all five: Encrypt, Decrypt, ReEncrypt*, GenerateDataKey*, DescribeKey
   */
  readonly actions?: CmekAction[];

  /**
   * Allow use only through these AWS services (`kms:ViaService`), for example `s3.eu-west-1.amazonaws.com`.
   *
   * @default - any way of calling KMS
   */
  readonly viaServices?: string[];

  /**
   * Require these exact encryption-context pairs (`kms:EncryptionContext:<key>`) on every cryptographic call.
   * `DescribeKey`, which carries no encryption context, is granted in a separate statement without them.
   *
   * @default - no encryption-context values required
   */
  readonly encryptionContext?: { [key: string]: string };

  /**
   * Require these encryption-context keys to be present (with any value) on every cryptographic call.
   *
   * @default - no encryption-context keys required
   */
  readonly requireEncryptionContextKeys?: string[];

  /**
   * Allow use only from these VPC endpoints (`aws:SourceVpce`), ids such as `vpce-0a1b2c3d4e5f67890`.
   *
   * @default - any network path
   */
  readonly sourceVpce?: string[];

  /**
   * Also let the grantee's AWS services (EBS, RDS, Auto Scaling …) make KMS grants on the key for the persistent
   * resources they encrypt: `kms:CreateGrant`, `kms:ListGrants` and `kms:RevokeGrant`, only while
   * `kms:GrantIsForAWSResource` is true (and only through `viaServices` when given). A grant the grantee makes
   * directly is still refused. Not for `CmekGrantee.organization()`: an AWS service acting for any principal of an
   * organization would reach every account in it.
   *
   * @default false
   */
  readonly forAwsResources?: boolean;

  /**
   * For a service principal: the account whose resources the service may use the key for (`aws:SourceAccount`),
   * the confused-deputy protection AWS recommends where the service sends it.
   *
   * @default - no source-account condition (the service's own documented key policy may not carry one)
   */
  readonly sourceAccount?: string;
}

const ROLE_ARN = /^arn:aws[a-z-]*:iam::\d{12}:role\/[\w+=,.@/-]+$/;
const ORG_ID = /^o-[a-z0-9]{10,32}$/;
const SERVICE_PRINCIPAL = /^[a-z0-9-]+(\.[a-z0-9-]+)*\.amazonaws\.com(\.cn)?$/;
const VIA_SERVICE = /^[a-z0-9-]+\.[a-z0-9-]+\.amazonaws\.com(\.cn)?$/;
const VPCE_ID = /^vpce-[0-9a-f]{8,17}$/;
const ONE_WORD = /^[A-Za-z0-9]+$/;

/**
 * Who may use a CMEK key, and on what conditions: each grantee becomes one key-policy statement with a
 * stable `Sid` (`CmekUsage<Name>`) allowing exactly the CMEK usage actions, or a subset.
 *
 * Grantees appear in the key policy by account or ARN, so a key in one stack and a grantee role in
 * another never form a dependency cycle. Revoking a grantee is removing it from the list: a key-policy
 * update, with no change to the key's state.
 */
export class CmekGrantee {
  /**
   * Another AWS account (its root principal): the account's administrators then delegate use with IAM.
   *
   * @param accountId the 12-digit account id
   */
  public static account(accountId: string, options: CmekGranteeOptions = {}): CmekGrantee {
    validateAccountId('accountId', accountId);
    // A token's text changes with construction order: the statement id would not be stable.
    if (Token.isUnresolved(accountId) && options.name === undefined) {
      throw new Error('`name` is required for CmekGrantee.account() when the account id is a token (the statement id must not depend on it), got: no name');
    }
    return new CmekGrantee({ kind: 'account', makePrincipal: () => new iam.AccountPrincipal(accountId), principalConditions: {} }, Token.isUnresolved(accountId) ? undefined : `Account${accountId}`, options);
  }

  /**
   * One IAM role, by ARN (in this or another account).
   *
   * @param roleArn the role ARN, such as `arn:aws:iam::111122223333:role/VendorReader`
   */
  public static role(roleArn: string, options: CmekGranteeOptions = {}): CmekGrantee {
    let name: string | undefined;
    if (!Token.isUnresolved(roleArn)) {
      validatePattern('roleArn', roleArn, ROLE_ARN, 'an IAM role ARN such as arn:aws:iam::111122223333:role/Name');
      name = roleArn.split('/').pop();
    } else if (options.name === undefined) {
      throw new Error('`name` is required for CmekGrantee.role() when the role ARN is a token, got: no name');
    }
    return new CmekGrantee({ kind: 'role', makePrincipal: () => new iam.ArnPrincipal(roleArn), principalConditions: {} }, name, options);
  }

  /**
   * Any IAM principal. A principal defined in another stack is granted through its account in the
   * key policy plus an identity policy on the principal, so the stacks do not reference each other both ways.
   */
  public static principal(principal: iam.IPrincipal, options: CmekGranteeOptions = {}): CmekGrantee {
    const problem = principalProblem(principal);
    if (problem !== undefined) {
      throw new Error(
        `CmekGrantee.principal() must name a principal, or limit a wildcard with a fixed aws:PrincipalAccount or aws:PrincipalOrgID condition (or use CmekGrantee.organization()): ${problem}, got: ${principal.toString()}`,
      );
    }
    const name = isConstruct(principal) ? principal.node.id : undefined;
    if (name === undefined && options.name === undefined) {
      throw new Error('`name` is required for CmekGrantee.principal() when the principal is not a construct, got: no name');
    }
    return new CmekGrantee({ kind: 'principal', makePrincipal: () => principal, principalConditions: {} }, name, options);
  }

  /**
   * Every principal in an AWS Organizations organization (`aws:PrincipalOrgID`).
   *
   * @param organizationId the organization id, such as `o-a1b2c3d4e5`
   */
  public static organization(organizationId: string, options: CmekGranteeOptions = {}): CmekGrantee {
    validatePattern('organizationId', organizationId, ORG_ID, 'an AWS Organizations id such as o-a1b2c3d4e5');
    validateFixedConditionValue('organizationId', organizationId);
    const name = Token.isUnresolved(organizationId) ? undefined : `Organization-${organizationId.slice(2)}`;
    if (name === undefined && options.name === undefined) {
      throw new Error('`name` is required for CmekGrantee.organization() when the organization id is a token, got: no name');
    }
    return new CmekGrantee(
      { kind: 'organization', makePrincipal: () => new iam.AnyPrincipal(), principalConditions: { StringEquals: { 'aws:PrincipalOrgID': organizationId } } },
      name,
      options,
    );
  }

  /**
   * An AWS service principal, such as `logs.eu-west-1.amazonaws.com`.
   *
   * @param service the service principal name
   */
  public static servicePrincipal(service: string, options: CmekGranteeOptions = {}): CmekGrantee {
    validatePattern('service', service, SERVICE_PRINCIPAL, 'a service principal such as logs.eu-west-1.amazonaws.com');
    const name = Token.isUnresolved(service) ? undefined : service.replace(/\.amazonaws\.com(\.cn)?$/, '');
    if (name === undefined && options.name === undefined) {
      throw new Error('`name` is required for CmekGrantee.servicePrincipal() when the service is a token, got: no name');
    }
    return new CmekGrantee({ kind: 'service', makePrincipal: () => new iam.ServicePrincipal(service), principalConditions: {} }, name, options);
  }

  /** The grantee's name as used in statement ids (`CmekUsage<name>`). */
  public readonly name: string;

  /** The permissions granted. */
  public readonly actions: CmekAction[];

  /** The conditions and name this grantee was made with. */
  public readonly options: CmekGranteeOptions;

  /**
   * What the factory knows about the principal, for `bindGrantee`.
   * @internal
   */
  public readonly _spec: GranteeSpec;

  private constructor(spec: GranteeSpec, derivedName: string | undefined, options: CmekGranteeOptions) {
    this._spec = spec;
    this.options = options;
    this.name = pascalName(options.name ?? derivedName ?? '');
    this.actions = options.actions ?? [...CMEK_USAGE_ACTIONS];
    this.validateName(options.name ?? derivedName ?? '');
    this.validateActions();
    this.validateConditions();
  }

  /**
   * The same principal with `options` laid over this grantee's own: for a second, narrower statement, such as
   * read access through S3 under a name of its own. An option given as `undefined` removes that condition.
   */
  public withOptions(options: CmekGranteeOptions): CmekGrantee {
    return new CmekGrantee(this._spec, this.name, { ...this.options, ...options });
  }

  private validateName(raw: string): void {
    if (!/^[A-Za-z0-9]/.test(this.name) || this.name.length > 64) {
      throw new Error(
        `\`name\` must contain letters or digits and give a statement name of at most 64 characters, got: ${got(raw)}`,
      );
    }
  }

  private validateActions(): void {
    if (this.actions.length === 0) {
      throw new Error(`\`actions\` must name at least one of ${CMEK_USAGE_ACTIONS.join(', ')}, got: []`);
    }
    const unknown = this.actions.filter((a) => !CMEK_USAGE_ACTIONS.includes(a));
    if (unknown.length > 0) {
      throw new Error(`\`actions\` may only contain ${CMEK_USAGE_ACTIONS.join(', ')}, got: ${got(unknown.join(', '))}`);
    }
    if (new Set(this.actions).size !== this.actions.length) {
      throw new Error(`\`actions\` must not repeat an action, got: ${got(this.actions.join(', '))}`);
    }
  }

  private validateConditions(): void {
    const o = this.options;
    const kind = this._spec.kind;
    if (o.viaServices !== undefined) {
      for (const s of o.viaServices) {
        validateFixedConditionValue('viaServices', s);
        validatePattern('viaServices', s, VIA_SERVICE, 'a service endpoint name such as s3.eu-west-1.amazonaws.com');
      }
    }
    if (o.encryptionContext !== undefined) {
      for (const [k, v] of Object.entries(o.encryptionContext)) {
        validateFixedConditionValue('encryptionContext key', k);
        validateFixedConditionValue(`encryptionContext["${k}"]`, v);
      }
    }
    if (o.requireEncryptionContextKeys !== undefined) {
      for (const k of o.requireEncryptionContextKeys) validateFixedConditionValue('requireEncryptionContextKeys', k);
    }
    if (o.sourceAccount !== undefined) {
      if (kind !== 'service') {
        throw new Error(`\`sourceAccount\` applies only to CmekGrantee.servicePrincipal() (aws:SourceAccount is set by AWS services), got: ${got(o.sourceAccount)} for ${kind} grantee ${this.name}`);
      }
      validateAccountId('sourceAccount', o.sourceAccount);
    }
    if (o.forAwsResources && kind === 'organization') {
      throw new Error(`\`forAwsResources\` is not for an organization grantee (AWS services could then make grants for every principal of it), got: true for ${this.name}`);
    }
    if (o.sourceVpce !== undefined) {
      for (const v of o.sourceVpce) validatePattern('sourceVpce', v, VPCE_ID, 'a VPC endpoint id such as vpce-0a1b2c3d4e5f67890');
    }
    notEmptyWhenGiven('viaServices', o.viaServices);
    notEmptyWhenGiven('requireEncryptionContextKeys', o.requireEncryptionContextKeys);
    notEmptyWhenGiven('sourceVpce', o.sourceVpce);
  }
}

function notEmptyWhenGiven(prop: string, list: readonly string[] | undefined): void {
  if (list !== undefined && list.length === 0) {
    throw new Error(`\`${prop}\` must not be empty when given (leave it out for no condition), got: []`);
  }
}

/** What a factory knows about the principal. */
export interface GranteeSpec {
  readonly kind: GranteeKind;
  readonly makePrincipal: () => iam.IPrincipal;
  readonly principalConditions: Conditions;
}

/** Renders a grantee for a key or bucket in `scope`'s stack: the input of the statement builders. */
export function bindGrantee(grantee: CmekGrantee, scope: IConstruct): BoundGrantee {
  const spec = grantee._spec;
  const o = grantee.options;
  let principal = spec.makePrincipal();
  let identityPrincipal: iam.IPrincipal | undefined;
  if (isConstruct(principal) && Stack.of(principal) !== Stack.of(scope)) {
    // An imported role or user names itself by a literal ARN: use it (no cross-stack reference, and the account is
    // the principal's own, not that of the stack that imported it).
    const arn = (principal as Partial<iam.IRole>).roleArn ?? (principal as Partial<iam.IUser>).userArn;
    if (arn !== undefined && !Token.isUnresolved(arn)) {
      principal = new iam.ArnPrincipal(arn);
    } else {
      identityPrincipal = principal;
      principal = new iam.AccountPrincipal(principal instanceof Resource ? principal.env.account : Stack.of(principal).account);
    }
  }
  return {
    kind: spec.kind,
    name: grantee.name,
    principal,
    actions: [...grantee.actions],
    principalConditions: o.sourceAccount !== undefined
      ? merge(spec.principalConditions, { StringEquals: { 'aws:SourceAccount': o.sourceAccount } })
      : spec.principalConditions,
    viaServices: o.viaServices ?? [],
    sourceVpce: o.sourceVpce ?? [],
    contextConditions: contextConditions(o),
    forAwsResources: o.forAwsResources ?? false,
    identityPrincipal,
  };
}

function contextConditions(o: CmekGranteeOptions): Conditions {
  const result: Conditions = {};
  const pairs = o.encryptionContext === undefined ? [] : Object.entries(o.encryptionContext);
  if (pairs.length > 0) {
    result.StringEquals = Object.fromEntries(pairs.map(([k, v]) => [`kms:EncryptionContext:${k}`, v]));
  }
  const required = o.requireEncryptionContextKeys ?? [];
  if (required.length > 0) {
    // `Null: false` per key: the key must be present, whatever its value.
    result.Null = Object.fromEntries(required.map((k) => [`kms:EncryptionContext:${k}`, 'false']));
  }
  return result;
}

function isConstruct(x: unknown): x is IConstruct {
  return Construct.isConstruct(x);
}

/** `acme-analytics` → `AcmeAnalytics`; letters and digits only. */
function pascalName(raw: string): string {
  // Most names (derived from an account id, a role name) are one word already.
  if (ONE_WORD.test(raw)) return raw[0].toUpperCase() + raw.slice(1);
  return raw
    .split(/[^A-Za-z0-9]+/)
    .filter((w) => w.length > 0)
    .map((w) => w[0].toUpperCase() + w.slice(1))
    .join('');
}
