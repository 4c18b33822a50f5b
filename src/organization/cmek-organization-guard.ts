// CmekOrganizationGuard: the deletion guard for every customer managed key in an AWS Organization, as an RCP (or an SCP).
import { Duration, Stack, Token } from 'aws-cdk-lib';
import * as organizations from 'aws-cdk-lib/aws-organizations';
import { Construct } from 'constructs';
import {
  exemptionProblems,
  exemptionsThatFit,
  guardPolicyDocument,
  GuardPolicyOptions,
  OrganizationPolicyDocument,
  ORGANIZATION_POLICY_MAX_CHARS,
  targetProblems,
} from './guard-policy';
import { deployedJsonBytes } from '../key/policy-size';
import { withPath } from '../private/errors';
import { got, validateDays, validateInteger } from '../private/validate';

/** The kind of Organizations policy that holds the guard. */
export enum CmekOrganizationPolicyType {
  /**
   * A resource control policy: it limits what anyone may do to the keys that member accounts own, whoever
   * calls (`Principal: "*"`).
   */
  RESOURCE_CONTROL_POLICY = 'RESOURCE_CONTROL_POLICY',
  /**
   * A service control policy: it limits what the IAM users and roles of member accounts may do, on any key
   * (no Principal element). For organizations that have not enabled RCPs.
   */
  SERVICE_CONTROL_POLICY = 'SERVICE_CONTROL_POLICY',
}

/** Properties of a `CmekOrganizationGuard`. */
export interface CmekOrganizationGuardProps {
  /**
   * Where the policy is attached: the organization root (`r-xxxx`), organizational units (`ou-xxxx-xxxxxxxx`) or
   * member accounts (12-digit ids).
   */
  readonly targetIds: string[];

  /**
   * Which kind of Organizations policy holds the guard.
   *
   * @default CmekOrganizationPolicyType.RESOURCE_CONTROL_POLICY
   */
  readonly policyType?: CmekOrganizationPolicyType;

  /**
   * The policy's name in Organizations (1 to 128 characters, unique in the organization).
   *
   * @default - `cmek-deletion-guard-rcp`, or `cmek-deletion-guard-scp` for an SCP
   */
  readonly policyName?: string;

  /**
   * The policy's description in Organizations (at most 512 characters).
   *
   * @default - a sentence naming the threshold
   */
  readonly description?: string;

  /**
   * The guard holds while the key was used within this many days (an integer from 1 to 36500), as in
   * `CmekKey`'s `deletionGuard.minDaysUnused`: deletion and disabling are denied while
   * `kms:TrailingDaysWithoutKeyUsage` is at or below it.
   *
   * @default 365
   */
  readonly minDaysUnused?: number;

  /**
   * ARNs of IAM roles or users the guard does not apply to, such as a break-glass role. A concrete ARN
   * (`arn:aws:iam::111122223333:role/KeyBreakGlass`), or the same role name in every account
   * (`arn:aws:iam::*:role/KeyBreakGlass`): ScheduleKeyDeletion and DisableKey cannot be called across
   * accounts, so such a pattern matches only the role of that name in the key's own account. Names may not
   * hold wildcards.
   *
   * @default - no exemptions
   */
  readonly exemptPrincipalArns?: string[];

  /**
   * Whether ScheduleKeyDeletion and DisableKey are allowed when the request carries no
   * `kms:TrailingDaysWithoutKeyUsage` (usage unknown), as in `CmekKey`'s `deletionGuard.allowWhenUsageUnknown`.
   * Off, the guard fails closed.
   *
   * @default false
   */
  readonly allowWhenUsageUnknown?: boolean;

  /**
   * The shortest waiting period anyone, exemptions included, may schedule a key's deletion with
   * (`kms:ScheduleKeyDeletionPendingWindowInDays`), 7 to 30 whole days. 7 days, the shortest KMS accepts,
   * writes no statement.
   *
   * @default Duration.days(30)
   */
  readonly minPendingWindow?: Duration;
}

/**
 * The deletion guard of `CmekKey` for every customer managed key in the member accounts of an AWS Organization,
 * whoever created the key: an Organizations resource control policy (or, optionally, a service control policy).
 *
 * It denies `kms:ScheduleKeyDeletion` and `kms:DisableKey` while `kms:TrailingDaysWithoutKeyUsage` is at or below
 * `minDaysUnused`, and when the request carries no usage (unless `allowWhenUsageUnknown`), except to
 * `exemptPrincipalArns`; and it denies scheduling deletion with a waiting period shorter than `minPendingWindow`
 * to everyone.
 *
 * Deploy it in the management account or a delegated administrator account for Organizations policies, with
 * the policy type enabled on the root (`aws organizations enable-policy-type`). What Organizations documents:
 * RCPs and SCPs do not apply to the management account, nor to service-linked roles (so they need no
 * exemption here), and RCPs do not apply to AWS managed keys. RCPs do apply to AWS service principals:
 * the guard names none, since no AWS service disables or schedules the deletion of a customer managed key
 * on a customer's behalf, and an exemption would be a way around the guard without a use.
 */
export class CmekOrganizationGuard extends Construct {
  /** The Organizations policy. */
  public readonly policy: organizations.CfnPolicy;

  /** The policy's id (`p-...`). */
  public readonly policyId: string;

  /** The policy's ARN. */
  public readonly policyArn: string;

  /** The kind of policy. */
  public readonly policyType: CmekOrganizationPolicyType;

  private readonly options: GuardPolicyOptions;

  constructor(scope: Construct, id: string, props: CmekOrganizationGuardProps) {
    super(scope, id);
    try {
      this.policyType = props.policyType ?? CmekOrganizationPolicyType.RESOURCE_CONTROL_POLICY;
      const minDaysUnused = props.minDaysUnused ?? 365;
      // At most a century: a larger number is written in exponent form (1e+21), which is no number to a policy condition.
      validateInteger('minDaysUnused', minDaysUnused, 1, 36500);
      const minPendingWindow = props.minPendingWindow ?? Duration.days(30);
      validateDays('minPendingWindow', minPendingWindow, 7, 30);
      const rcp = this.policyType === CmekOrganizationPolicyType.RESOURCE_CONTROL_POLICY;
      const policyName = props.policyName ?? `cmek-deletion-guard-${rcp ? 'rcp' : 'scp'}`;
      if (!Token.isUnresolved(policyName) && (policyName.length < 1 || policyName.length > 128)) {
        throw new Error(`\`policyName\` must be 1 to 128 characters, got: ${got(policyName)} (${policyName.length} characters)`);
      }
      if (props.description !== undefined && !Token.isUnresolved(props.description) && props.description.length > 512) {
        throw new Error(`\`description\` must be at most 512 characters, got: ${props.description.length} characters`);
      }
      const targetIds = [...props.targetIds];
      const exemptPrincipalArns = [...(props.exemptPrincipalArns ?? [])];
      this.options = {
        minDaysUnused,
        exemptPrincipalArns,
        failClosed: !(props.allowWhenUsageUnknown ?? false),
        minPendingWindowDays: minPendingWindow.toDays(),
        withPrincipal: rcp,
      };

      this.policy = new organizations.CfnPolicy(this, 'Resource', {
        name: policyName,
        type: this.policyType,
        description: props.description ?? `Denies kms:ScheduleKeyDeletion and kms:DisableKey on any key used within the last ${minDaysUnused} days (cdk-cmek deletion guard)`,
        // An object, not a string: CloudFormation can then detect drift on it.
        content: guardPolicyDocument(this.options),
        targetIds,
      });
      this.policyId = this.policy.attrId;
      this.policyArn = this.policy.attrArn;

      this.node.addValidation({
        validate: () => [
          ...targetProblems('targetIds', targetIds),
          ...exemptionProblems('exemptPrincipalArns', exemptPrincipalArns),
          ...this.sizeProblems(),
        ],
      });
    } catch (e) {
      throw withPath(this.node.path, e);
    }
  }

  /** The policy's size as Organizations counts it: the compact JSON text, references at their longest. */
  private measure(document: OrganizationPolicyDocument): number {
    return deployedJsonBytes(Stack.of(this).resolve(document));
  }

  private sizeProblems(): string[] {
    const size = this.measure(guardPolicyDocument(this.options));
    if (size <= ORGANIZATION_POLICY_MAX_CHARS) return [];
    const kind = this.policyType === CmekOrganizationPolicyType.RESOURCE_CONTROL_POLICY ? 'resource control policy' : 'service control policy';
    const fit = exemptionsThatFit(this.options, (d) => this.measure(d));
    const total = this.options.exemptPrincipalArns.length;
    return [
      `the deletion guard's ${kind} would be ${size} characters, over the Organizations limit of ${ORGANIZATION_POLICY_MAX_CHARS}: ${fit} of these ${total} \`exemptPrincipalArns\` would fit, got: ${total} (one arn:aws:iam::*:role/<name> pattern stands for that role in every account)`,
    ];
  }
}
