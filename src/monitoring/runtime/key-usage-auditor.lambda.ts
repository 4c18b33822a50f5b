// KeyUsageAuditor handler: audits the customer-managed keys of its account and region, publishes DaysSinceLastUse and UnusedKeyCount.
import { CloudWatchClient, PutMetricDataCommand, StandardUnit } from '@aws-sdk/client-cloudwatch';
import { KMSClient } from '@aws-sdk/client-kms';
import { publishAuditMetrics } from './audit-metrics';
import type { AuditClock } from './rate-limit';
import { auditKeys, validateThresholdDays } from './usage-audit';
import { AUDITOR_DIMENSION, METRIC_NAMESPACE, UNUSED_KEY_COUNT } from '../../key/metric-names';

const kms = new KMSClient({});
const cloudwatch = new CloudWatchClient({});

/** What one run did: logged, and returned for the console's test invocations. */
export interface AuditSummary {
  readonly audited: number;
  readonly unusedKeyCount: number;
  readonly unusedKeyIds: string[];
  readonly neverUsedKeyIds: string[];
  readonly skipped: { awsManaged: number; pendingDeletion: number; notSelected: number; deleted: number };
  readonly putMetricDataRequests: number;
}

/** The Lambda entry point; `clock` is for tests. */
export async function handler(_event?: unknown, _context?: unknown, clock?: AuditClock): Promise<AuditSummary> {
  const env = process.env;
  const thresholdDays = validateThresholdDays(env.THRESHOLD_DAYS ?? '365', 'THRESHOLD_DAYS');
  const report = await auditKeys({
    kms,
    thresholdDays,
    // auditKeys normalises it too (`cmek/` → `alias/cmek/`) and refuses a prefix that could match nothing.
    aliasPrefix: env.ALIAS_PREFIX || undefined,
    tagKey: env.TAG_KEY || undefined,
    tagValue: env.TAG_VALUE || undefined,
    clock,
  });
  const timestamp = new Date(report.generatedAt);
  let requests = await publishAuditMetrics(cloudwatch, report, timestamp);
  if (env.AUDITOR_NAME) {
    // This auditor's own count, which its alarm reads: another auditor's threshold or filters never set it off.
    await cloudwatch.send(new PutMetricDataCommand({
      Namespace: METRIC_NAMESPACE,
      MetricData: [{
        MetricName: UNUSED_KEY_COUNT,
        Dimensions: [{ Name: AUDITOR_DIMENSION, Value: env.AUDITOR_NAME }],
        Value: report.unusedKeyCount,
        Unit: StandardUnit.Count,
        Timestamp: timestamp,
      }],
    }));
    requests += 1;
  }
  const summary: AuditSummary = {
    audited: report.keys.length,
    unusedKeyCount: report.unusedKeyCount,
    unusedKeyIds: report.keys.filter((k) => k.pastThreshold).map((k) => k.keyId),
    neverUsedKeyIds: report.keys.filter((k) => k.neverUsed).map((k) => k.keyId),
    skipped: report.skipped,
    putMetricDataRequests: requests,
  };
  console.log(JSON.stringify({ message: 'key usage audit', thresholdDays, ...summary }));
  return summary;
}
