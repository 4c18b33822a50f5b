// Integration app for CmekKey and CmekGrantee: every grantee kind and condition, admins, the guard's variants, the vendor's side.
import { Duration, RemovalPolicy, Stack } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import { CmekAction, CmekGrantee, CmekKey, CmekReplicaKey } from '../src';
import { breakGlassPrincipal, integApp, namedRole, PLATFORM_ENV, VENDOR_ACCOUNT, vendorStack } from './support/integ-app';

const app = integApp();

// The platform account: one key per way a platform team configures it.
const platform = new Stack(app, 'CmekKeyInteg', { env: PLATFORM_ENV });

// Named, because the replicated key's policy (which its replica copies) names it by a literal ARN; the name is
// this app's own, so that it deploys into one account beside the other integ apps.
const breakGlass = new iam.Role(platform, 'BreakGlass', {
  roleName: 'cmek-integ-key-break-glass',
  assumedBy: breakGlassPrincipal(),
  description: 'Assumed with MFA to delete or disable a key that is still in use',
});
const workload = new iam.Role(platform, 'Workload', {
  assumedBy: new iam.ServicePrincipal('ecs-tasks.amazonaws.com'),
  description: 'A workload in the platform account that encrypts with the vendor key',
});

// Every kind of grantee, each with one of the conditions.
new CmekKey(platform, 'VendorKey', {
  alias: 'cmek/integ-vendor',
  description: 'Every kind of grantee and condition',
  rotationPeriod: Duration.days(180),
  pendingWindow: Duration.days(14),
  multiRegion: true,
  grantees: [
    CmekGrantee.account(VENDOR_ACCOUNT, { name: 'vendor', viaServices: ['s3.eu-west-1.amazonaws.com'] }),
    CmekGrantee.role(`arn:aws:iam::${VENDOR_ACCOUNT}:role/vendor-audit`, { actions: [CmekAction.DECRYPT, CmekAction.DESCRIBE_KEY] }),
    CmekGrantee.principal(workload, { encryptionContext: { tenant: 'acme' } }),
    CmekGrantee.organization('o-a1b2c3d4e5', { requireEncryptionContextKeys: ['tenant'] }),
    CmekGrantee.servicePrincipal('logs.eu-west-1.amazonaws.com', { actions: [CmekAction.ENCRYPT, CmekAction.GENERATE_DATA_KEY, CmekAction.DESCRIBE_KEY] }),
    CmekGrantee.account('444455556666', { name: 'private-link', sourceVpce: ['vpce-0a1b2c3d4e5f67890'] }),
    // EBS in the vendor's account may attach the key to the volumes it encrypts; the vendor may not make grants itself.
    CmekGrantee.account('555566667777', { name: 'ebs-volumes', forAwsResources: true, viaServices: ['ec2.eu-west-1.amazonaws.com'] }),
    CmekGrantee.servicePrincipal('delivery.logs.amazonaws.com', { actions: [CmekAction.GENERATE_DATA_KEY], sourceAccount: '999999999999' }),
  ],
  additionalStatements: [
    new iam.PolicyStatement({ sid: 'VendorInventory', principals: [new iam.AccountPrincipal(VENDOR_ACCOUNT)], actions: ['kms:DescribeKey'], resources: ['*'] }),
  ],
  deletionGuard: { minDaysUnused: 90, exemptPrincipalArns: [breakGlass.roleArn] },
});

// Administered by a named role only, without the account root.
new CmekKey(platform, 'AdminOnlyKey', {
  alias: 'alias/cmek/integ-admin-only',
  allowAccountRootAccess: false,
  admins: [breakGlass],
  deletionGuard: { exemptPrincipalArns: [breakGlass.roleArn] },
});

// A short-lived key: no rotation, no guard, removed with the stack.
new CmekKey(platform, 'ScratchKey', {
  alias: 'cmek/integ-scratch',
  enableKeyRotation: false,
  rotationDisabledReason: 'A scratch key that lives for one test run: rotation is off on purpose to cover that setting',
  removalPolicy: RemovalPolicy.DESTROY,
  deletionGuard: { enabled: false },
});

// A multi-Region key and its replica in a second region, with the primary's policy, window and alias. A
// replica's policy is a copy: its principals are literal ARNs and accounts, never references.
const replicated = new CmekKey(platform, 'ReplicatedKey', {
  alias: 'cmek/integ-replicated',
  multiRegion: true,
  grantees: [CmekGrantee.account(VENDOR_ACCOUNT, { name: 'vendor', actions: [CmekAction.DECRYPT, CmekAction.DESCRIBE_KEY] })],
  deletionGuard: { exemptPrincipalArns: [`arn:aws:iam::${PLATFORM_ENV.account}:role/cmek-integ-key-break-glass`] },
});
const replicaRegion = new Stack(app, 'CmekKeyIntegReplica', {
  env: { account: PLATFORM_ENV.account, region: 'eu-central-1' },
  crossRegionReferences: true,
});
new CmekReplicaKey(replicaRegion, 'ReplicatedKeyReplica', { primary: replicated });

// The vendor's account: its audit role, which the vendor key grants by ARN; and it imports the platform team's key
// by ARN and lets one role decrypt with it.
const vendor = vendorStack(app, 'CmekKeyIntegVendor', platform);
namedRole(vendor, 'vendor-audit', 'The vendor auditor that may decrypt with the vendor key');
const customerKey = CmekKey.fromCustomerKeyArn(
  vendor,
  'CustomerKey',
  `arn:aws:kms:${PLATFORM_ENV.region}:${PLATFORM_ENV.account}:key/1234abcd-12ab-34cd-56ef-1234567890ab`,
);
const reader = new iam.Role(vendor, 'Reader', {
  assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'),
  description: 'Reads the platform team data with the customer key',
});
customerKey.grantDecrypt(reader);

app.synth();
