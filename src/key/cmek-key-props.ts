// The props of CmekKey: its settings, shared with CmekKeyFleet, and the alias.
import { Duration, RemovalPolicy } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import { DeletionGuardOptions } from './deletion-guard';
import { CmekGrantee } from './grantee';

/**
 * The settings of a `CmekKey` other than its alias (shared with `CmekKeyFleet`).
 */
export interface CmekKeyOptions {
  /**
   * A description of the key.
   *
   * @default - "Customer-managed key <alias>"
   */
  readonly description?: string;

  /**
   * Who may use the key, each as one key-policy statement.
   *
   * @default - no grantees (add them later with `addGrantee`)
   */
  readonly grantees?: CmekGrantee[];

  /**
   * Principals that administer the key (no cryptographic use), named in the key policy itself.
   *
   * @default - none beyond the account root
   */
  readonly admins?: iam.IPrincipal[];

  /**
   * Whether the account root keeps full access in the key policy, so that IAM policies in the account can
   * delegate access and the key can never be locked out. Turning it off requires at least one `admins` entry.
   *
   * @default true
   */
  readonly allowAccountRootAccess?: boolean;

  /**
   * Whether KMS rotates the key material automatically. Turning it off needs `rotationDisabledReason`.
   *
   * @default true
   */
  readonly enableKeyRotation?: boolean;

  /**
   * Why rotation is off (Security Hub KMS.4 expects it on): required with `enableKeyRotation: false`, and
   * recorded as the reason for the cdk-nag and checkov findings it causes.
   *
   * @default - none; rotation must stay on
   */
  readonly rotationDisabledReason?: string;

  /**
   * The IAM role CloudFormation creates and updates the key with. KMS refuses a key policy that would not let
   * its creator call kms:PutKeyPolicy, so with `allowAccountRootAccess: false` (and with the guard's
   * `lockKeyPolicy`) the policy names this role.
   *
   * @default - the CloudFormation execution role of the stack's synthesizer (`DefaultStackSynthesizer`'s
   * `cdk-hnb659fds-cfn-exec-role-<account>-<region>`); synthesis fails where the synthesizer has none and the
   * policy needs it
   */
  readonly deploymentRoleArn?: string;

  /**
   * How often the key material rotates, from 90 to 2560 days.
   *
   * @default Duration.days(365)
   */
  readonly rotationPeriod?: Duration;

  /**
   * The waiting period between scheduling deletion and deletion, from 7 to 30 days: the time anyone has to
   * notice and cancel.
   *
   * @default Duration.days(30)
   */
  readonly pendingWindow?: Duration;

  /**
   * What happens to the key when it leaves the stack. `DESTROY` schedules deletion after `pendingWindow`.
   *
   * @default RemovalPolicy.RETAIN
   */
  readonly removalPolicy?: RemovalPolicy;

  /**
   * Whether the key is a multi-Region primary key.
   *
   * @default false
   */
  readonly multiRegion?: boolean;

  /**
   * The deletion guard: deny ScheduleKeyDeletion and DisableKey while the key is in use.
   *
   * @default - on, holding while the key was used within 365 days, no exemptions
   */
  readonly deletionGuard?: DeletionGuardOptions;

  /**
   * Statements of your own for the key policy. Each needs a `Sid` of its own (not starting with `Cmek`, which this
   * library's statements use); they count towards the 32 KB limit and pass the same final-policy check as the
   * library's: no public principal, no wildcard or variable in an Allow's conditions, no administration for a
   * wildcard principal.
   *
   * @default - none
   */
  readonly additionalStatements?: iam.PolicyStatement[];
}

/**
 * Properties of a `CmekKey`.
 */
export interface CmekKeyProps extends CmekKeyOptions {
  /**
   * The key's alias. `alias/` is added when missing; the `alias/aws/` prefix is reserved by AWS.
   * Letters, digits, `/`, `_` and `-`, at most 256 characters in all.
   */
  readonly alias: string;
}
