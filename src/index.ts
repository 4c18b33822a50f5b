// cdk-cmek: customer-managed KMS keys for vendors and cross-account workloads.
export { CmekAction } from './key/actions';
export { CmekGrantee, CmekGranteeOptions } from './key/grantee';
export { DeletionGuardOptions } from './key/deletion-guard';
export { CmekKey, CmekKeyProps } from './key/cmek-key';
export { CmekBucket, CmekBucketProps } from './bucket/cmek-bucket';
