// The contract between KeyDeletionMonitor's cancel-on-use function and its construct: environment and limits (its permissions are in src/private/actions.ts).

/** Environment variables the construct sets and the handler reads. */
export const CANCEL_DELETION_ENV = {
  /** The ARNs of the keys whose deletion the function may cancel, comma-separated. */
  keyArns: 'KEY_ARNS',
  /** `true` to enable a key again after its deletion is cancelled. */
  reEnable: 'RE_ENABLE',
  /** The topic the function reports to. */
  topicArn: 'TOPIC_ARN',
} as const;

/**
 * At most this many keys: their ARNs travel in the function's environment, which Lambda caps at 4 KB (a key ARN is
 * up to 86 characters in the longest partition and Region names).
 */
export const MAX_CANCEL_DELETION_KEYS = 40;
