// Integration app for CmekKeyFleet: tenants sharded across nested stacks by hash and by pin, per-tenant overrides, the tenant record, the fleet's monitor and auditor.
import { Duration, Stack } from 'aws-cdk-lib';
import { CmekAction, CmekGrantee, CmekKeyFleet } from '../src';
import { breakGlassPrincipal, integApp, namedRole, PLATFORM_ENV, VENDOR_ACCOUNT, vendorStack } from './support/integ-app';

const app = integApp();
const stack = new Stack(app, 'CmekFleetInteg', { env: PLATFORM_ENV });
// The roles the keys' policies name by ARN: the break-glass role the guard exempts, and tenant b's reader at the vendor.
namedRole(stack, 'cmek-break-glass', 'Assumed with MFA to delete or disable a key that is still in use', breakGlassPrincipal());
namedRole(vendorStack(app, 'CmekFleetIntegVendor', stack), 'beta-reader', 'The vendor workload that reads tenant b data');

const fleet = new CmekKeyFleet(stack, 'Fleet', {
  shardCount: 2,
  aliasPattern: 'alias/cmek/fleet/{tenant}',
  // What every tenant's key gets: the vendor through S3, the guard, a tag.
  keyDefaults: {
    grantees: [CmekGrantee.account(VENDOR_ACCOUNT, { name: 'vendor', viaServices: ['s3.eu-west-1.amazonaws.com'] })],
    deletionGuard: { minDaysUnused: 90, exemptPrincipalArns: [`arn:aws:iam::${PLATFORM_ENV.account}:role/cmek-break-glass`] },
    tags: { 'cmek:owner': 'platform' },
  },
  tenants: [
    // Every default, in the shard its id hashes to.
    { id: 'tenant-a' },
    // Renamed: the alias follows `name`, the key stays (its logical id comes from `id`); one more grantee and tag.
    {
      id: 'tenant-b',
      name: 'beta',
      grantees: [CmekGrantee.role(`arn:aws:iam::${VENDOR_ACCOUNT}:role/beta-reader`, { actions: [CmekAction.DECRYPT, CmekAction.DESCRIBE_KEY] })],
      tags: { 'cmek:tier': 'gold' },
    },
    // Pinned to shard 0, multi-Region, with a shorter waiting period before deletion.
    { id: 'tenant-c', shard: 0, multiRegion: true, pendingWindow: Duration.days(7) },
  ],
  // The record of every tenant deployed so far: tenant-z was removed on purpose.
  knownTenantIds: ['tenant-a', 'tenant-b', 'tenant-c', 'tenant-z'],
  retiredTenantIds: ['tenant-z'],
  deletionMonitor: { alarmNamePrefix: 'cmek-fleet' },
  // No aliasPrefix: the auditor covers alias/cmek/fleet/, from the alias pattern.
  usageAuditor: { thresholdDays: 90, alarmNamePrefix: 'cmek-fleet' },
});

// A tenant onboarded after the fleet was built, not yet in the record.
fleet.addTenant({ id: 'tenant-d', description: 'Onboarding: not in knownTenantIds until deployed' });

app.synth();
