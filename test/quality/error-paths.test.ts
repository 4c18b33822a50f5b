// A construction error names the construct it refused, first: which of a hundred keys was wrong matters as much as why.
import { App, Duration, Stack } from 'aws-cdk-lib';
import { CmekBucket, CmekGrant, CmekKey, CmekKeyFleet, CmekOrganizationGuard, CmekReplicaKey, KeyDeletionMonitor, KeyUsageAuditor } from '../../src';

const ENV = { account: '999999999999', region: 'eu-west-1' };
const stack = () => new Stack(new App(), 'Platform', { env: ENV });

const cases: Array<[string, () => unknown, string]> = [
  ['CmekKey', () => new CmekKey(stack(), 'DataKey', { alias: 'cmek/d', pendingWindow: Duration.days(3) }), 'Platform/DataKey: `pendingWindow`'],
  ['CmekBucket', () => new CmekBucket(stack(), 'Lake', {}), 'Platform/Lake: `keyAlias` is required'],
  ['the key a CmekBucket makes (its own path, not the bucket\'s)', () => new CmekBucket(stack(), 'Lake', { keyAlias: 'alias/aws/s3' }), 'Platform/Lake/Key: `alias` must not start with alias/aws/'],
  ['CmekReplicaKey', () => {
    const app = new App();
    const primary = new CmekKey(new Stack(app, 'P', { env: ENV }), 'K', { alias: 'cmek/k' });
    new CmekReplicaKey(new Stack(app, 'R', { env: { ...ENV, region: 'eu-central-1' } }), 'Replica', { primary });
  }, 'R/Replica: `primary` must be a multi-Region key'],
  ['CmekKeyFleet', () => new CmekKeyFleet(stack(), 'Tenants', { tenants: [{ id: 'a' }, { id: 'a' }] }), 'Platform/Tenants: tenant `id` must be unique'],
  ['KeyUsageAuditor', () => new KeyUsageAuditor(stack(), 'Audit', { thresholdDays: 0 }), 'Platform/Audit: `thresholdDays`'],
  ['KeyDeletionMonitor', () => new KeyDeletionMonitor(stack(), 'Monitor', { alarmNamePrefix: 'x'.repeat(300) }), 'Platform/Monitor: `alarmNamePrefix`'],
  ['CmekOrganizationGuard', () => new CmekOrganizationGuard(stack(), 'Guard', { targetIds: ['r-ab12'], minDaysUnused: 0 }), 'Platform/Guard: `minDaysUnused`'],
  ['CmekGrant', () => {
    const s = stack();
    new CmekGrant(s, 'VendorGrant', { key: new CmekKey(s, 'K', { alias: 'cmek/k' }), granteePrincipal: '*' });
  }, 'Platform/VendorGrant: `granteePrincipal`'],
];

describe('construction errors', () => {
  test.each(cases)('GIVEN a bad %s WHEN constructed THEN the one-line error starts with its construct path', (_name, build, start) => {
    let message = '';
    try {
      build();
    } catch (e) {
      message = (e as Error).message;
    }
    expect(message.startsWith(start)).toBe(true);
    expect(message).not.toContain('\n');
  });
});
