// Integration app for CmekGrant: a vendor's role and a local workload hold KMS grants, constrained, revoked or retired on delete.
import { Stack } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import { CmekAction, CmekGrant, CmekKey } from '../src';
import { integApp, namedRole, PLATFORM_ENV, VENDOR_ACCOUNT, vendorStack } from './support/integ-app';

const app = integApp();
const platform = new Stack(app, 'CmekGrantInteg', { env: PLATFORM_ENV });

// KMS refuses a grant to a principal that does not exist: the vendor's role is created first, in the vendor's account.
const vendor = vendorStack(app, 'CmekGrantIntegVendor', platform);
namedRole(vendor, 'cmek-integ-grant-vendor', 'A vendor workload that decrypts one tenant\'s data under a grant');
// By literal ARN: a reference would be a cross-account export, which CloudFormation does not have.
const VENDOR_ROLE = `arn:aws:iam::${VENDOR_ACCOUNT}:role/cmek-integ-grant-vendor`;

const key = new CmekKey(platform, 'Key', { alias: 'cmek/integ-grant', description: 'Key whose use is handed out by grants' });

// Decrypt-only, for exactly tenant a's encryption context; revoked when the resource goes.
new CmekGrant(platform, 'VendorTenantA', {
  key,
  granteePrincipal: VENDOR_ROLE,
  operations: [CmekAction.DECRYPT, CmekAction.DESCRIBE_KEY],
  encryptionContextEquals: { tenant: 'a' },
});

// The vendor may pass on (as strictly) and give back its own grant, for contexts that include tenant b.
new CmekGrant(platform, 'VendorTenantB', {
  key,
  granteePrincipal: VENDOR_ROLE,
  operations: [CmekAction.DECRYPT, CmekAction.GENERATE_DATA_KEY],
  encryptionContextSubset: { tenant: 'b' },
  allowCreateGrant: true,
  allowRetireGrant: true,
  name: 'vendor-tenant-b',
});

// A local workload gets every CMEK use; the grant handler retires it rather than revoking it.
const workload = new iam.Role(platform, 'WorkloadRole', {
  assumedBy: new iam.ServicePrincipal('ecs-tasks.amazonaws.com'),
  description: 'A workload in the platform account that uses the key under a grant',
});
new CmekGrant(platform, 'Workload', { key, granteePrincipal: workload.roleArn, revokeOnDelete: false });

app.synth();
