// Integration app for the monitoring family: KeyDeletionMonitor with its own trail or an organization's, KeyUsageAuditor, KeyDashboard.
import { Stack } from 'aws-cdk-lib';
import * as events from 'aws-cdk-lib/aws-events';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as sns from 'aws-cdk-lib/aws-sns';
import { CmekAction, CmekGrantee, CmekKey, KeyDashboard, KeyDeletionMonitor, KeyUsageAuditor } from '../src';
import { integApp, PLATFORM_ENV } from './support/integ-app';

const app = integApp();

// A standalone account: the monitor creates its trail, bucket and log group, and cancels the deletion of the watched
// key if it is used while pending deletion; the auditor shares its topic.
const standalone = new Stack(app, 'CmekMonitoringInteg', { env: PLATFORM_ENV });
const key = new CmekKey(standalone, 'WatchedKey', { alias: 'cmek/integ-watched' });
const monitor = new KeyDeletionMonitor(standalone, 'DeletionMonitor', {
  keys: [key],
  cancelDeletionOnUse: true,
  logRetention: logs.RetentionDays.TWO_YEARS,
});
const auditor = new KeyUsageAuditor(standalone, 'UsageAuditor', {
  thresholdDays: 180,
  aliasPrefix: 'alias/cmek/',
  topic: monitor.topic,
});
new KeyDashboard(standalone, 'Dashboard', { monitor, auditor, dashboardName: 'cmek-integ-keys' });

// A member account of an organization whose trail already delivers to CloudWatch Logs, alerting to a topic
// under a CMEK key that CloudWatch and EventBridge may use.
const member = new Stack(app, 'CmekMonitoringIntegOrgTrail', { env: PLATFORM_ENV });
const alertsKey = new CmekKey(member, 'AlertsKey', {
  alias: 'cmek/integ-alerts',
  grantees: ['cloudwatch.amazonaws.com', 'events.amazonaws.com'].map((service) =>
    CmekGrantee.servicePrincipal(service, { actions: [CmekAction.DECRYPT, CmekAction.GENERATE_DATA_KEY] }),
  ),
});
const alerts = new sns.Topic(member, 'Alerts', { displayName: 'CMEK key alerts', masterKey: alertsKey, enforceSSL: true });
const orgMonitor = new KeyDeletionMonitor(member, 'DeletionMonitor', {
  cloudTrailLogGroup: logs.LogGroup.fromLogGroupName(member, 'OrgTrailLogs', 'aws-controltower/CloudTrailLogs'),
  topic: alerts,
  alarmNamePrefix: 'cmek-org',
});
// Only the vendor's keys, by tag, every morning.
const vendorAuditor = new KeyUsageAuditor(member, 'VendorAuditor', {
  tagKey: 'cmek:vendor',
  tagValue: 'acme',
  schedule: events.Schedule.cron({ hour: '6', minute: '0' }),
  topic: alerts,
  alarmNamePrefix: 'cmek-org',
  logRetention: logs.RetentionDays.SIX_MONTHS,
});
new KeyDashboard(member, 'Dashboard', { monitor: orgMonitor, auditor: vendorAuditor });

app.synth();
