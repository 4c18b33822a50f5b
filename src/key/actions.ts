// Permission sets (KMS and S3), named once and shared by the code that grants and the messages that explain.

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
