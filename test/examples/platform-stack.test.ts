// The example app's stacks: they synthesize clean under cdk-nag and wire key, guard, bucket, seeded object,
// tenant fleet, monitoring and the disaster-recovery replica.
import { App } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { CmekDisasterRecoveryStack, CmekPlatformStack } from '../../examples/platform-stack';
import { nagApp } from '../support/nag';

function exampleApp(app: App = nagApp()) {
  const account = '999999999999';
  const platform = new CmekPlatformStack(app, 'CmekPlatform', { env: { account, region: 'eu-west-1' }, crossRegionReferences: true });
  const recovery = new CmekDisasterRecoveryStack(app, 'CmekDisasterRecovery', {
    env: { account, region: 'eu-central-1' },
    crossRegionReferences: true,
    primary: platform.tenants.keyFor('globex'),
  });
  return { app, platform, recovery };
}

describe('example app', () => {
  test('GIVEN the example app WHEN synthesized with cdk-nag AwsSolutions THEN there is no unacknowledged finding', () => {
    const { app } = exampleApp();
    expect(() => app.synth()).not.toThrow();
  });

  test('GIVEN the feature flags of a new CDK app (partition literals) WHEN the example synthesizes under cdk-nag THEN there is no unacknowledged finding', () => {
    const { app } = exampleApp(nagApp({ '@aws-cdk/core:enablePartitionLiterals': true }));
    expect(() => app.synth()).not.toThrow();
  });

  test('GIVEN the platform stack WHEN synthesized THEN the vendor key guards deletion with the break-glass role exempt', () => {
    const { platform } = exampleApp();
    const template = Template.fromStack(platform);
    const keys = template.findResources('AWS::KMS::Key', { Properties: { Description: 'Acme Analytics processes the platform data lake with this key' } });
    const [key] = Object.values(keys);
    const statements = key.Properties.KeyPolicy.Statement;
    expect(statements.map((s: any) => s.Sid)).toEqual([
      'CmekAccountRoot', 'CmekDeletionGuard', 'CmekDeletionGuardUsageUnknown', 'CmekMinimumPendingWindow', 'CmekUsageAcme', 'CmekUsageAcmeAudit',
      'CmekUsageAcmeEbs', 'CmekUsageAcmeEbsAwsResources', 'VendorKeyInventory', 'CmekUsageAcmeS3Read',
      // The KMS grant's handler: create only that grant, list, revoke.
      'CmekGrantCreateCmekPlatformAcmeAuditGrant0AB6592E', 'CmekGrantHandlerList', 'CmekGrantHandlerRevoke',
    ]);
    const guard = statements.find((s: any) => s.Sid === 'CmekDeletionGuard');
    expect(JSON.stringify(guard.Condition.ArnNotLike['aws:PrincipalArn'])).toContain(':role/cmek-key-break-glass');
  });

  test('GIVEN the platform stack WHEN synthesized THEN it seeds one envelope-encrypted object and monitors the keys', () => {
    const { platform } = exampleApp();
    const template = Template.fromStack(platform);
    template.resourceCountIs('Custom::CmekEnvelopeObject', 1);
    template.hasResourceProperties('Custom::CmekEnvelopeObject', { ObjectKey: 'vendor/acme/manifest.json', Format: 'V3' });
    template.resourceCountIs('AWS::Logs::MetricFilter', 3);
    template.resourceCountIs('AWS::CloudWatch::Dashboard', 1);
    template.resourceCountIs('AWS::CloudFormation::Stack', 2);
  });

  test('GIVEN the recovery stack WHEN synthesized THEN it holds one replica key with the primary alias and tenant tag', () => {
    const { recovery } = exampleApp();
    const template = Template.fromStack(recovery);
    template.resourceCountIs('AWS::KMS::ReplicaKey', 1);
    template.hasResourceProperties('AWS::KMS::Alias', { AliasName: 'alias/cmek/globex' });
    // The auditor can select keys by tag: the replica carries the fleet's tenant tag like its primary.
    template.hasResourceProperties('AWS::KMS::ReplicaKey', { Tags: Match.arrayWith([{ Key: 'cmek:tenant', Value: 'globex' }]) });
  });
});
