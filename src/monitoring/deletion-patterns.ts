// CloudWatch Logs filter patterns over CloudTrail records for KMS key deletion risks (one set per log group, never per key).

/**
 * A KMS call that failed because its key is pending deletion. KMS answers `KMSInvalidStateException` with
 * the message "<key ARN> is pending deletion." for every operation on such a key, including calls that
 * services (S3, EBS, ...) make on a caller's behalf, so one pattern covers them all. The message is also
 * seen worded by key state ("... key state is PendingDeletion"); matching both costs nothing, since no
 * other key state contains either text.
 */
export const PENDING_DELETION_PATTERN =
  '{ ($.eventSource = "kms.amazonaws.com") && ($.errorCode = "KMSInvalidStateException") && ' +
  '(($.errorMessage = "* is pending deletion.") || ($.errorMessage = "*PendingDeletion*")) }';

/**
 * DisableKey or ScheduleKeyDeletion: the CIS AWS Foundations Benchmark pattern, character for character.
 * Security Hub control CloudWatch.7 passes only on this exact text, so it must not be reformatted.
 */
export const DISABLE_OR_SCHEDULE_DELETION_PATTERN =
  '{($.eventSource=kms.amazonaws.com) && (($.eventName=DisableKey)||($.eventName=ScheduleKeyDeletion))}';

/** PutKeyPolicy (which can remove a deletion guard) or CancelKeyDeletion: kept apart from the CIS pattern above. */
export const POLICY_CHANGE_OR_CANCEL_DELETION_PATTERN =
  '{ ($.eventSource = "kms.amazonaws.com") && (($.eventName = "PutKeyPolicy") || ($.eventName = "CancelKeyDeletion")) }';
