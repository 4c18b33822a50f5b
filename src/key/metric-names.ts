// CloudWatch names shared by the monitoring constructs, the usage-audit handler and the CLI (no CDK imports, so handlers can bundle it).

/** The namespace every cdk-cmek metric is published in. */
export const METRIC_NAMESPACE = 'CdkCmek';
/** Whole days since a key's last cryptographic use (or since tracking start / creation when never used), per key. */
export const DAYS_SINCE_LAST_USE = 'DaysSinceLastUse';
/** Keys unused for longer than the audit threshold, per audit run. */
export const UNUSED_KEY_COUNT = 'UnusedKeyCount';
/** The dimension of an auditor's own UnusedKeyCount: its name, so auditors with other thresholds never mix counts. */
export const AUDITOR_DIMENSION = 'Auditor';
/** The dimension of per-key metrics: the key id (not the ARN, so dashboards stay readable). */
export const KEY_ID_DIMENSION = 'KeyId';
/** KMS calls that failed because the key is pending deletion (from the CloudTrail metric filter). */
export const PENDING_DELETION_ERRORS = 'KeyPendingDeletionErrors';
/** DisableKey / ScheduleKeyDeletion calls (the CIS AWS Foundations filter). */
export const DISABLE_OR_SCHEDULE_DELETION = 'KeyDisableOrScheduleDeletion';
/** PutKeyPolicy / CancelKeyDeletion calls: a policy change can remove the deletion guard. */
export const POLICY_CHANGE_OR_CANCEL_DELETION = 'KeyPolicyChangeOrCancelDeletion';
