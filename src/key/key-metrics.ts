// Metric factories for a key's CloudWatch metrics; the names live in metric-names.ts, shared with the handler and the CLI.
import { Duration } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import {
  DAYS_SINCE_LAST_USE,
  DISABLE_OR_SCHEDULE_DELETION,
  KEY_ID_DIMENSION,
  METRIC_NAMESPACE,
  PENDING_DELETION_ERRORS,
  POLICY_CHANGE_OR_CANCEL_DELETION,
  UNUSED_KEY_COUNT,
} from './metric-names';

/**
 * The CloudWatch metrics published for customer-managed keys: by `KeyUsageAuditor` (daily gauges) and by the
 * `KeyDeletionMonitor` metric filters (event counts).
 */
export class KeyMetrics {
  /** The namespace of every cdk-cmek metric. */
  public static readonly NAMESPACE = METRIC_NAMESPACE;
  /** Metric name: whole days since a key's last use, dimension `KeyId`. */
  public static readonly DAYS_SINCE_LAST_USE = DAYS_SINCE_LAST_USE;
  /** Metric name: keys unused for longer than the audit threshold. */
  public static readonly UNUSED_KEY_COUNT = UNUSED_KEY_COUNT;
  /** Dimension name of per-key metrics. */
  public static readonly KEY_ID_DIMENSION = KEY_ID_DIMENSION;
  /** Metric name: KMS calls failing because the key is pending deletion. */
  public static readonly PENDING_DELETION_ERRORS = PENDING_DELETION_ERRORS;
  /** Metric name: DisableKey and ScheduleKeyDeletion calls. */
  public static readonly DISABLE_OR_SCHEDULE_DELETION = DISABLE_OR_SCHEDULE_DELETION;
  /** Metric name: PutKeyPolicy and CancelKeyDeletion calls. */
  public static readonly POLICY_CHANGE_OR_CANCEL_DELETION = POLICY_CHANGE_OR_CANCEL_DELETION;

  /**
   * Days since the key was last used, as published by the usage audit (once per run, so the period is a day).
   *
   * @param keyId the key id (not the ARN or an alias): the dimension the audit publishes.
   */
  public static daysSinceLastUse(keyId: string, options: cloudwatch.MetricOptions = {}): cloudwatch.Metric {
    return new cloudwatch.Metric({
      statistic: cloudwatch.Stats.MAXIMUM,
      period: Duration.days(1),
      ...options,
      namespace: METRIC_NAMESPACE,
      metricName: DAYS_SINCE_LAST_USE,
      dimensionsMap: { ...options.dimensionsMap, [KEY_ID_DIMENSION]: keyId },
    });
  }

  /**
   * Keys unused for longer than the audit threshold, as published by the latest audit run of any auditor in the
   * account and region (a `KeyUsageAuditor`'s own count is `metricUnusedKeyCount()`, dimension `Auditor`).
   */
  public static unusedKeyCount(options: cloudwatch.MetricOptions = {}): cloudwatch.Metric {
    return KeyMetrics.metric(UNUSED_KEY_COUNT, cloudwatch.Stats.MAXIMUM, Duration.days(1), options);
  }

  /** KMS calls that failed because the key is pending deletion: someone still needs the key. */
  public static pendingDeletionErrors(options: cloudwatch.MetricOptions = {}): cloudwatch.Metric {
    return KeyMetrics.metric(PENDING_DELETION_ERRORS, cloudwatch.Stats.SUM, Duration.minutes(5), options);
  }

  /** DisableKey and ScheduleKeyDeletion calls, successful or not. */
  public static disableOrScheduleDeletion(options: cloudwatch.MetricOptions = {}): cloudwatch.Metric {
    return KeyMetrics.metric(DISABLE_OR_SCHEDULE_DELETION, cloudwatch.Stats.SUM, Duration.minutes(5), options);
  }

  /** PutKeyPolicy and CancelKeyDeletion calls, successful or not. */
  public static policyChangeOrCancelDeletion(options: cloudwatch.MetricOptions = {}): cloudwatch.Metric {
    return KeyMetrics.metric(POLICY_CHANGE_OR_CANCEL_DELETION, cloudwatch.Stats.SUM, Duration.minutes(5), options);
  }

  private static metric(
    metricName: string,
    statistic: string,
    period: Duration,
    options: cloudwatch.MetricOptions,
  ): cloudwatch.Metric {
    return new cloudwatch.Metric({ statistic, period, ...options, namespace: METRIC_NAMESPACE, metricName });
  }

  private constructor() {}
}
