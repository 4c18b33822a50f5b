// The contract between KeyDeletionMonitor's cancel-on-use function and its construct: environment, permissions, limits.

/** Environment variables the construct sets and the handler reads. */
export const CANCEL_DELETION_ENV = {
  /** The ARNs of the keys whose deletion the function may cancel, comma-separated. */
  keyArns: 'KEY_ARNS',
  /** `true` to enable a key again after its deletion is cancelled. */
  reEnable: 'RE_ENABLE',
  /** The topic the function reports to. */
  topicArn: 'TOPIC_ARN',
} as const;

/** Reading a key's state (so a second delivery of the same use does nothing) and cancelling its deletion. */
export const CANCEL_DELETION_ACTIONS: readonly string[] = ['kms:DescribeKey', 'kms:CancelKeyDeletion'];

/** Enabling the key again, only when asked to: KMS leaves a key Disabled when its deletion is cancelled. */
export const RE_ENABLE_ACTIONS: readonly string[] = ['kms:EnableKey'];

/**
 * At most this many keys: their ARNs travel in the function's environment, which Lambda caps at 4 KB (a key ARN is
 * up to 86 characters in the longest partition and Region names).
 */
export const MAX_CANCEL_DELETION_KEYS = 40;
