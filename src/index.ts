// cdk-cmek: customer-managed KMS keys for vendors and cross-account workloads.
export { CmekAction } from './key/actions';
export { CmekGrantee, CmekGranteeOptions } from './key/grantee';
export { DeletionGuardOptions } from './key/deletion-guard';
export { CmekKey, CmekKeyOptions, CmekKeyProps } from './key/cmek-key';
export { CmekReplicaKey, CmekReplicaKeyProps } from './key/replica-key';
export { CmekBucket, CmekBucketProps } from './bucket/cmek-bucket';
export { CmekAccessLogsBucket, CmekAccessLogsBucketProps } from './bucket/access-logs-bucket';
export { CmekKeyFleet, CmekKeyFleetProps } from './fleet/cmek-key-fleet';
export { CmekFleetKeyOptions, CmekFleetTenant } from './fleet/tenant';
export { CmekOrganizationGuard, CmekOrganizationGuardProps, CmekOrganizationPolicyType } from './organization/cmek-organization-guard';
export { KeyMetrics } from './key/key-metrics';
export { KeyDeletionMonitor, KeyDeletionMonitorProps } from './monitoring/key-deletion-monitor';
export { KeyUsageAuditor, KeyUsageAuditorProps } from './monitoring/key-usage-auditor';
export { KeyDashboard, KeyDashboardProps } from './monitoring/key-dashboard';
export { EnvelopeEncryptedObject, EnvelopeEncryptedObjectProps, EnvelopeFormat } from './envelope/envelope-encrypted-object';
export { EnvelopeSource, EnvelopeSourceConfig, EnvelopeSecretOptions, EnvelopeSsmOptions } from './envelope/envelope-source';
export { CmekGrant, CmekGrantProps } from './grant/cmek-grant';
