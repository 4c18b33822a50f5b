// KeyDashboard: the widgets reference the monitor's and auditor's metrics and alarms.
import { Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import * as logs from 'aws-cdk-lib/aws-logs';
import { ensureLambdaBundle } from './support/bundle';
import { KeyDashboard } from '../../src/monitoring/key-dashboard';
import { KeyDeletionMonitor } from '../../src/monitoring/key-deletion-monitor';
import { KeyUsageAuditor } from '../../src/monitoring/key-usage-auditor';
import { resolveCfn } from '../support/cfn';
import { nagApp } from '../support/nag';

beforeAll(() => ensureLambdaBundle('src/monitoring/runtime/key-usage-auditor.lambda.ts'));

function body(template: Template): any {
  const [dash] = Object.values(template.findResources('AWS::CloudWatch::Dashboard'));
  const values = Object.fromEntries(
    Object.keys(template.toJSON().Resources).flatMap((id) => [
      [id, id],
      [`${id}.Arn`, `arn:${id}`],
    ]),
  );
  return JSON.parse(resolveCfn(dash.Properties.DashboardBody, { account: '999999999999', values }));
}

describe('KeyDashboard', () => {
  test('GIVEN a monitor and an auditor WHEN synthesized THEN the dashboard shows all five alarms, the risk metrics and a per-key SEARCH', () => {
    const app = nagApp();
    const stack = new Stack(app, 'Dash', { env: { account: '999999999999', region: 'eu-west-1' } });
    const monitor = new KeyDeletionMonitor(stack, 'Monitor', { cloudTrailLogGroup: logs.LogGroup.fromLogGroupName(stack, 'Trail', 'org-trail') });
    const auditor = new KeyUsageAuditor(stack, 'Auditor', { thresholdDays: 180 });
    new KeyDashboard(stack, 'Dashboard', { monitor, auditor, dashboardName: 'cmek-keys' });
    app.synth();
    const template = Template.fromStack(stack);
    template.hasResourceProperties('AWS::CloudWatch::Dashboard', { DashboardName: 'cmek-keys' });
    const widgets = body(template).widgets;
    const alarmWidget = widgets.find((w: any) => w.type === 'alarm');
    expect(alarmWidget.properties.alarms).toHaveLength(5);
    const text = JSON.stringify(widgets);
    for (const metric of ['KeyPendingDeletionErrors', 'KeyDisableOrScheduleDeletion', 'KeyPolicyChangeOrCancelDeletion', 'UnusedKeyCount']) {
      expect(text).toContain(`"${metric}"`);
    }
    expect(text).toContain("SEARCH('{CdkCmek,KeyId} MetricName=\\\"DaysSinceLastUse\\\"', 'Maximum', 86400)");
    expect(text).toContain('"value":180');
  });

  test('GIVEN any supported aws-cdk-lib WHEN synthesized THEN the text widget states its background (2.263 omits the default, later releases write it)', () => {
    const app = nagApp();
    const stack = new Stack(app, 'Dash', { env: { account: '999999999999', region: 'eu-west-1' } });
    const monitor = new KeyDeletionMonitor(stack, 'Monitor', { cloudTrailLogGroup: logs.LogGroup.fromLogGroupName(stack, 'Trail', 'org-trail') });
    new KeyDashboard(stack, 'Dashboard', { monitor });
    app.synth();
    const textWidget = body(Template.fromStack(stack)).widgets.find((w: any) => w.type === 'text');
    expect(textWidget.properties.background).toBe('transparent');
  });

  test('GIVEN only a monitor WHEN synthesized THEN there are no audit widgets', () => {
    const app = nagApp();
    const stack = new Stack(app, 'Dash', { env: { account: '999999999999', region: 'eu-west-1' } });
    const monitor = new KeyDeletionMonitor(stack, 'Monitor', { cloudTrailLogGroup: logs.LogGroup.fromLogGroupName(stack, 'Trail', 'org-trail') });
    new KeyDashboard(stack, 'Dashboard', { monitor });
    app.synth();
    const text = JSON.stringify(body(Template.fromStack(stack)).widgets);
    expect(text).toContain('KeyPendingDeletionErrors');
    expect(text).not.toContain('UnusedKeyCount');
    expect(text).not.toContain('SEARCH(');
  });

  test('GIVEN neither a monitor nor an auditor WHEN constructed THEN a clear error', () => {
    const stack = new Stack(nagApp(), 'Bad');
    expect(() => new KeyDashboard(stack, 'D', {})).toThrow('`monitor` or `auditor` must be given, got: neither');
  });
});
