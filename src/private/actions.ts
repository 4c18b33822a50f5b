// Every permission set the library grants (KMS, S3, and what its own functions need), named once and shared by the
// code that grants and the messages that explain.

/**
 * One of the cryptographic permissions a CMEK grantee can hold.
 *
 * Together they are the vendor statement of the KMS CMEK documentation; a grantee may hold a subset
 * (for example decrypt-only).
 */
export enum CmekAction {
  /** `kms:Encrypt`. */
  ENCRYPT = 'kms:Encrypt',
  /** `kms:Decrypt`. */
  DECRYPT = 'kms:Decrypt',
  /** `kms:ReEncrypt*` (`ReEncryptFrom` and `ReEncryptTo`). */
  RE_ENCRYPT = 'kms:ReEncrypt*',
  /** `kms:GenerateDataKey*` (with and without plaintext, and the pair variants). */
  GENERATE_DATA_KEY = 'kms:GenerateDataKey*',
  /** `kms:DescribeKey`. */
  DESCRIBE_KEY = 'kms:DescribeKey',
}

/** The full CMEK usage set, in the order the CMEK documentation lists it. */
export const CMEK_USAGE_ACTIONS: readonly CmekAction[] = [
  CmekAction.ENCRYPT,
  CmekAction.DECRYPT,
  CmekAction.RE_ENCRYPT,
  CmekAction.GENERATE_DATA_KEY,
  CmekAction.DESCRIBE_KEY,
];

/** What a reader needs: unwrap data keys, and look the key up. */
export const CMEK_READ_ACTIONS: readonly CmekAction[] = [CmekAction.DECRYPT, CmekAction.DESCRIBE_KEY];

/** Key administration without use, mirroring aws-cdk-lib's `kms.Key.grantAdmin`. */
export const KEY_ADMIN_ACTIONS: readonly string[] = [
  'kms:Create*',
  'kms:Describe*',
  'kms:Enable*',
  'kms:List*',
  'kms:Put*',
  'kms:Update*',
  'kms:Revoke*',
  'kms:Disable*',
  'kms:Get*',
  'kms:Delete*',
  'kms:TagResource',
  'kms:UntagResource',
  'kms:ScheduleKeyDeletion',
  'kms:CancelKeyDeletion',
  'kms:RotateKeyOnDemand',
];

/** What aws-cdk-lib's `IKey.grantDecrypt` grants. */
export const IKEY_DECRYPT_ACTIONS: readonly string[] = ['kms:Decrypt'];

/** What aws-cdk-lib's `IKey.grantEncrypt` grants. */
export const IKEY_ENCRYPT_ACTIONS: readonly string[] = ['kms:Encrypt', 'kms:ReEncrypt*', 'kms:GenerateDataKey*'];

/** What AWS services need to attach a key to the persistent resources they encrypt (EBS, RDS …). */
export const AWS_RESOURCE_GRANT_ACTIONS: readonly string[] = ['kms:CreateGrant', 'kms:ListGrants', 'kms:RevokeGrant'];

/** The actions the deletion guard denies while the key is in use. */
export const DELETION_GUARD_ACTIONS: readonly string[] = ['kms:ScheduleKeyDeletion', 'kms:DisableKey'];

/** Bucket-side read access, as aws-cdk-lib's `Bucket.grantRead` defines it. */
export const BUCKET_READ_ACTIONS: readonly string[] = ['s3:GetObject*', 's3:GetBucket*', 's3:List*'];

/** Bucket-side write access, as aws-cdk-lib's `Bucket.grantWrite` defines it (without ACL changes). */
export const BUCKET_WRITE_ACTIONS: readonly string[] = [
  's3:PutObject',
  's3:PutObjectLegalHold',
  's3:PutObjectRetention',
  's3:PutObjectTagging',
  's3:PutObjectVersionTagging',
  's3:Abort*',
  's3:DeleteObject*',
];

/** Key use S3 needs to read SSE-KMS objects for a principal. */
export const SSE_KMS_READ_ACTIONS: readonly CmekAction[] = [CmekAction.DECRYPT];

/** Key use S3 needs to write SSE-KMS objects (multipart uploads decrypt too). */
export const SSE_KMS_WRITE_ACTIONS: readonly CmekAction[] = [CmekAction.ENCRYPT, CmekAction.DECRYPT, CmekAction.GENERATE_DATA_KEY];

/** What the envelope handler does to the one object it owns. */
export const ENVELOPE_OBJECT_ACTIONS: readonly string[] = [
  's3:PutObject', 's3:GetObject', 's3:GetObjectVersion', 's3:DeleteObject', 's3:DeleteObjectVersion', 's3:AbortMultipartUpload',
];

/** The envelope handler's use of the object's key: a new data key, and re-keying to it. */
export const ENVELOPE_KEY_ACTIONS: readonly string[] = ['kms:GenerateDataKey', 'kms:ReEncryptTo'];

/** The envelope handler's use of the previous key on re-key. */
export const ENVELOPE_REKEY_FROM_ACTIONS: readonly string[] = ['kms:ReEncryptFrom'];

/** SSE-KMS through S3 for a principal that writes and copies objects. */
export const SSE_KMS_WRITE_THROUGH_S3_ACTIONS: readonly string[] = ['kms:GenerateDataKey', 'kms:Decrypt'];

/** Reading one asset object. */
export const S3_READ_OBJECT_ACTIONS: readonly string[] = ['s3:GetObject'];

/** Reading one secret. */
export const SECRET_READ_ACTIONS: readonly string[] = ['secretsmanager:GetSecretValue'];

/** Reading one parameter. */
export const SSM_READ_ACTIONS: readonly string[] = ['ssm:GetParameter'];

/** Unwrapping what a customer-managed key protects (a secret, a parameter). */
export const KMS_DECRYPT_ACTIONS: readonly string[] = ['kms:Decrypt'];

/** The usage auditor: finding keys. */
export const AUDITOR_LIST_ACTIONS: readonly string[] = ['kms:ListKeys', 'kms:ListAliases'];

/** The usage auditor: reading one key's last use (and its tags, when it selects by tag). */
export const AUDITOR_READ_ACTIONS: readonly string[] = ['kms:DescribeKey', 'kms:GetKeyLastUsage'];

/** Publishing metrics. */
export const PUT_METRIC_ACTIONS: readonly string[] = ['cloudwatch:PutMetricData'];

/** CloudWatch Logs on a log group's key, as its documentation writes the key policy. */
export const LOGS_SERVICE_KEY_ACTIONS: readonly string[] = ['kms:Encrypt*', 'kms:Decrypt*', 'kms:ReEncrypt*', 'kms:GenerateDataKey*', 'kms:Describe*'];

/** A function writing to its own log group. */
export const LOG_WRITE_ACTIONS: readonly string[] = ['logs:CreateLogStream', 'logs:PutLogEvents'];

/** Publishing to a topic. */
export const SNS_PUBLISH_ACTIONS: readonly string[] = ['sns:Publish'];

/** The cancel-on-use function: reading a key's state (a second delivery of the same use does nothing) and cancelling its deletion. */
export const CANCEL_DELETION_ACTIONS: readonly string[] = ['kms:DescribeKey', 'kms:CancelKeyDeletion'];

/** Enabling the key again, only when asked to: KMS leaves a key Disabled when its deletion is cancelled. */
export const RE_ENABLE_ACTIONS: readonly string[] = ['kms:EnableKey'];
