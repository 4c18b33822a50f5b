// KeyUsageAuditorStackSet: a service-managed CloudFormation StackSet that runs a KeyUsageAuditor in every account of some organizational units.
import { Stack, Token } from 'aws-cdk-lib';
import * as cfn from 'aws-cdk-lib/aws-cloudformation';
import { Construct } from 'constructs';
import { KeyUsageAuditorOptions } from './key-usage-auditor';
import { MEMBER_STACK_NAME, renderMemberTemplate } from './stack-set-member';

export { KeyUsageAuditorOptions };
import { withPath } from '../private/errors';
import { got, validateAccountId, validateInteger, validatePattern } from '../private/validate';

/** Who the StackSet is created as: the management account itself, or a delegated administrator of StackSets. */
export enum StackSetCallAs {
  /** The organization's management account deploys the StackSet. */
  SELF = 'SELF',
  /** A member account registered as a delegated administrator for CloudFormation StackSets deploys it. */
  DELEGATED_ADMIN = 'DELEGATED_ADMIN',
}

/** Properties of a `KeyUsageAuditorStackSet`. */
export interface KeyUsageAuditorStackSetProps {
  /**
   * The organizational units (`ou-…`) or the organization root (`r-…`) whose accounts get an auditor, at every
   * depth below them. The management account is never a target of a service-managed StackSet.
   */
  readonly organizationalUnitIds: string[];

  /** The Regions the auditor runs in, in each target account (names are checked by shape only, not against a list). */
  readonly regions: string[];

  /**
   * Start of the names of the buckets that hold the audit code: one bucket `<codeBucketPrefix>-<region>` per Region
   * in `regions`, readable by the organization, holding the bundle at `codeKey`.
   */
  readonly codeBucketPrefix: string;

  /**
   * The 12-digit account that must own every code bucket: each member stack checks it (S3 `ExpectedBucketOwner`)
   * before its function is created, and fails if another account owns `<codeBucketPrefix>-<region>`.
   *
   * @default - the account of the stack this StackSet is in (the management or delegated administrator account)
   */
  readonly codeBucketOwner?: string;

  /**
   * The auditor every account gets: plain options only (each account's alarms notify a topic of its own).
   *
   * @default - the defaults of `KeyUsageAuditor`
   */
  readonly auditor?: KeyUsageAuditorOptions;

  /**
   * Who creates the StackSet: `SELF` from the management account, `DELEGATED_ADMIN` from an account registered as
   * a delegated administrator for StackSets.
   *
   * @default StackSetCallAs.SELF
   */
  readonly callAs?: StackSetCallAs;

  /**
   * Whether an account that joins one of the organizational units gets the auditor without a new deployment.
   *
   * @default true
   */
  readonly autoDeployment?: boolean;

  /**
   * With `autoDeployment`: keep an account's auditor stack when the account leaves the organizational units. Off,
   * the stack is deleted; its log group and its topic's key are kept either way (their removal policy is RETAIN).
   *
   * @default false
   */
  readonly retainStacksOnAccountRemoval?: boolean;

  /**
   * The most accounts, in percent of the targets, deployed to at once in each Region (integer 1–100).
   *
   * @default 25
   */
  readonly maxConcurrentPercentage?: number;

  /**
   * The share of accounts, in percent, that may fail in a Region before CloudFormation stops the operation there
   * (integer 0–100).
   *
   * @default 0
   */
  readonly failureTolerancePercentage?: number;

  /**
   * The StackSet's name: a letter, then letters, digits and hyphens, at most 128 characters, unique in the stack.
   *
   * @default - `<stack name>-<construct id>`, shortened to 128 characters
   */
  readonly stackSetName?: string;
}

const OU_ID = /^(ou-[0-9a-z]{4,32}-[a-z0-9]{8,32}|r-[0-9a-z]{4,32})$/;
const REGION = /^[a-z]{2}(-gov|-iso[a-z]?)?-[a-z]+-\d{1,2}$/;
const STACK_SET_NAME = /^[a-zA-Z][-a-zA-Z0-9]{0,127}$/;
/** Letters, digits and hyphens: dots would break TLS for virtual-hosted bucket addresses. */
const BUCKET_PREFIX = /^[a-z0-9][a-z0-9-]*$/;
/** Bucket name starts and ends S3 reserves for its own access points and aliases. */
const NOT_RESERVED = /^(?!xn--|sthree-|amzn-s3-demo-)(?!.*(-s3alias|--ol-s3)$)/;
/** The StackSet names taken in each stack, with the path of the construct that took each. */
const NAMES_IN_STACK = new WeakMap<Stack, Map<string, string>>();
/** S3's longest bucket name. */
const MAX_BUCKET_NAME = 63;

/**
 * Deploys a `KeyUsageAuditor` to every account of an organization's units and Regions, as a CloudFormation StackSet
 * with service-managed permissions. Deploy it from the management account (`callAs: SELF`) or from a delegated
 * administrator of StackSets (`callAs: DELEGATED_ADMIN`).
 *
 * Member accounts cannot read the CDK asset bucket, so the audit code comes from a bucket per Region named
 * `<codeBucketPrefix>-<region>`, which must hold the bundle at `codeKey` before the StackSet deploys. Each member
 * stack checks that the bucket belongs to `codeBucketOwner` before its function is created.
 */
export class KeyUsageAuditorStackSet extends Construct {
  /** The StackSet. */
  public readonly stackSet: cfn.CfnStackSet;
  /** The template every account and Region deploys. */
  public readonly templateBody: string;
  /** The S3 key of the audit bundle in each code bucket; it changes with the bundle's content. */
  public readonly codeKey: string;
  /** The code buckets that must exist, one per Region (none listed when `regions` is a token). */
  public readonly codeBucketNames: string[];

  constructor(scope: Construct, id: string, props: KeyUsageAuditorStackSetProps) {
    super(scope, id);
    try {
      this.validateTargets(props);
      this.validateCodeBucketPrefix(props.codeBucketPrefix, props.regions);
      const maxConcurrent = props.maxConcurrentPercentage ?? 25;
      const tolerance = props.failureTolerancePercentage ?? 0;
      validateInteger('maxConcurrentPercentage', maxConcurrent, 1, 100);
      validateInteger('failureTolerancePercentage', tolerance, 0, 100);
      const stackSetName = props.stackSetName ?? `${Stack.of(this).stackName}-${id}`.replace(/[^-a-zA-Z0-9]/g, '-').slice(0, 128);
      validatePattern('stackSetName', stackSetName, STACK_SET_NAME, 'a letter, then letters, digits and hyphens, at most 128 characters');
      this.claimName(stackSetName);
      if (props.retainStacksOnAccountRemoval !== undefined && props.autoDeployment === false) {
        throw new Error(`\`retainStacksOnAccountRemoval\` needs \`autoDeployment\`, got: retainStacksOnAccountRemoval ${props.retainStacksOnAccountRemoval} with autoDeployment false`);
      }

      const member = renderMemberTemplate(this, props.codeBucketPrefix, this.codeBucketOwner(props.codeBucketOwner), props.auditor ?? {});
      this.templateBody = member.body;
      this.codeKey = member.codeKey;
      this.codeBucketNames = Token.isUnresolved(props.regions) ? [] : props.regions.map((r) => `${props.codeBucketPrefix}-${r}`);
      const autoDeployment = props.autoDeployment ?? true;

      this.stackSet = new cfn.CfnStackSet(this, 'Resource', {
        stackSetName,
        description: `cdk-cmek ${MEMBER_STACK_NAME}: daily usage audit of the account's customer-managed KMS keys`,
        permissionModel: 'SERVICE_MANAGED',
        callAs: props.callAs ?? StackSetCallAs.SELF,
        autoDeployment: {
          enabled: autoDeployment,
          ...(autoDeployment ? { retainStacksOnAccountRemoval: props.retainStacksOnAccountRemoval ?? false } : {}),
        },
        // The member template creates IAM roles (no names given).
        capabilities: ['CAPABILITY_IAM'],
        // Operations queue instead of failing while another one runs.
        managedExecution: { Active: true },
        operationPreferences: {
          maxConcurrentPercentage: maxConcurrent,
          failureTolerancePercentage: tolerance,
          regionConcurrencyType: 'SEQUENTIAL',
        },
        stackInstancesGroup: [{
          deploymentTargets: { organizationalUnitIds: props.organizationalUnitIds },
          regions: props.regions,
        }],
        templateBody: this.templateBody,
      });
    } catch (e) {
      throw withPath(this.node.path, e);
    }
  }

  /** Two StackSets of one name in one stack would both deploy to the one StackSet CloudFormation keeps by that name. */
  private claimName(name: string): void {
    if (Token.isUnresolved(name)) return;
    const stack = Stack.of(this);
    const names = NAMES_IN_STACK.get(stack) ?? new Map<string, string>();
    NAMES_IN_STACK.set(stack, names);
    const holder = names.get(name);
    if (holder !== undefined) {
      throw new Error(`\`stackSetName\` must be unique in the stack, got: ${got(name)}, already the name of ${holder}`);
    }
    names.set(name, this.node.path);
  }

  private codeBucketOwner(owner: string | undefined): string {
    if (owner === undefined) {
      const account = Stack.of(this).account;
      if (Token.isUnresolved(account)) {
        throw new Error('`codeBucketOwner` must be given when the stack has no account (the member template needs a literal), got: none');
      }
      return account;
    }
    if (Token.isUnresolved(owner)) {
      throw new Error('`codeBucketOwner` must be a fixed value (the member template is rendered apart from this stack), got: a token');
    }
    validateAccountId('codeBucketOwner', owner);
    return owner;
  }

  private validateTargets(props: KeyUsageAuditorStackSetProps): void {
    // A list token (a CommaDelimitedList parameter, say) is left to deploy time as a whole.
    if (!Token.isUnresolved(props.organizationalUnitIds)) {
      nonEmptyUnique('organizationalUnitIds', props.organizationalUnitIds);
      for (const ou of props.organizationalUnitIds) {
        validatePattern('organizationalUnitIds', ou, OU_ID, 'organizational unit ids (ou-…) or the root id (r-…)');
      }
    }
    if (!Token.isUnresolved(props.regions)) {
      nonEmptyUnique('regions', props.regions);
      for (const region of props.regions) validatePattern('regions', region, REGION, 'Region names such as eu-west-1');
    }
  }

  private validateCodeBucketPrefix(prefix: string, regions: string[]): void {
    if (Token.isUnresolved(prefix)) {
      throw new Error('`codeBucketPrefix` must be a fixed value (every Region\'s bucket name is written from it), got: a token');
    }
    validatePattern('codeBucketPrefix', prefix, BUCKET_PREFIX, 'lowercase letters, digits and hyphens, starting with a letter or digit');
    validatePattern('codeBucketPrefix', prefix, NOT_RESERVED, 'free of the starts (xn--, sthree-, amzn-s3-demo-) and ends (-s3alias, --ol-s3) S3 reserves');
    if (Token.isUnresolved(regions)) return;
    for (const region of regions) {
      const name = `${prefix}-${region}`;
      if (!Token.isUnresolved(region) && name.length > MAX_BUCKET_NAME) {
        throw new Error(`\`codeBucketPrefix\` must leave room for the Region in a bucket name of at most ${MAX_BUCKET_NAME} characters, got: ${got(name)} (${name.length} characters)`);
      }
    }
  }
}

/** A list that has at least one value and no value twice (CloudFormation refuses both). Tokens are not compared. */
function nonEmptyUnique(prop: string, values: string[]): void {
  if (values.length === 0) throw new Error(`\`${prop}\` must list at least one value, got: []`);
  const seen = new Set<string>();
  for (const v of values) {
    if (Token.isUnresolved(v)) continue;
    if (seen.has(v)) throw new Error(`\`${prop}\` must not list a value twice, got: ${got(v)} twice`);
    seen.add(v);
  }
}
