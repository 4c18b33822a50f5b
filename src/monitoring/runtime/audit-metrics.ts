// Turns an audit report into CloudWatch metric data and publishes it within PutMetricData's limits.
import { CloudWatchClient, PutMetricDataCommand, StandardUnit, type MetricDatum } from '@aws-sdk/client-cloudwatch';
import type { AuditReport } from './usage-audit';
import { DAYS_SINCE_LAST_USE, KEY_ID_DIMENSION, METRIC_NAMESPACE, UNUSED_KEY_COUNT } from '../../key/metric-names';

/** PutMetricData accepts at most 1,000 metrics and 1 MB per request (CloudWatch API reference, PutMetricData). */
export const MAX_METRICS_PER_REQUEST = 1000;
export const MAX_REQUEST_BYTES = 1_000_000;

/** One DaysSinceLastUse per key (dimension KeyId) and one UnusedKeyCount. */
export function auditMetricData(report: AuditReport, timestamp: Date): MetricDatum[] {
  return [
    ...report.keys.map((k) => ({
      MetricName: DAYS_SINCE_LAST_USE,
      Dimensions: [{ Name: KEY_ID_DIMENSION, Value: k.keyId }],
      Value: k.daysSinceLastUse,
      Unit: StandardUnit.Count,
      Timestamp: timestamp,
    })),
    { MetricName: UNUSED_KEY_COUNT, Value: report.unusedKeyCount, Unit: StandardUnit.Count, Timestamp: timestamp },
  ];
}

/**
 * Splits metric data into requests of at most 1,000 metrics and, with a generous margin for the query
 * encoding, well under 1 MB each.
 */
export function auditMetricBatches(data: MetricDatum[], maxCount = MAX_METRICS_PER_REQUEST, maxBytes = MAX_REQUEST_BYTES / 2): MetricDatum[][] {
  const batches: MetricDatum[][] = [];
  let current: MetricDatum[] = [];
  let bytes = 0;
  for (const d of data) {
    const size = JSON.stringify(d).length * 2;
    if (current.length > 0 && (current.length >= maxCount || bytes + size > maxBytes)) {
      batches.push(current);
      current = [];
      bytes = 0;
    }
    current.push(d);
    bytes += size;
  }
  if (current.length > 0) batches.push(current);
  return batches;
}

/** Publishes the report's metrics; returns the number of PutMetricData requests made. */
export async function publishAuditMetrics(
  cloudwatch: CloudWatchClient,
  report: AuditReport,
  timestamp: Date,
  namespace = METRIC_NAMESPACE,
): Promise<number> {
  const batches = auditMetricBatches(auditMetricData(report, timestamp));
  for (const MetricData of batches) {
    await cloudwatch.send(new PutMetricDataCommand({ Namespace: namespace, MetricData }));
  }
  return batches.length;
}
