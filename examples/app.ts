// The example app `cdk.json` runs (`npx cdk synth`): the platform stack, checked by cdk-nag's AwsSolutions rules.
import { App, Stack, Validations } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import { AwsSolutionsChecks } from 'cdk-nag';
import { CmekOrganizationGuard, KeyUsageAuditorStackSet } from '../src';
import { BREAK_GLASS_ROLE, CmekDisasterRecoveryStack, CmekPlatformStack, VENDOR_ACCOUNT } from './platform-stack';

const app = new App();
Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
const account = process.env.CDK_DEFAULT_ACCOUNT ?? '999999999999';
const region = process.env.CDK_DEFAULT_REGION ?? 'eu-west-1';
// The recovery region: any other region of the same partition.
const recoveryRegion = region === 'eu-central-1' ? 'eu-west-1' : 'eu-central-1';
const platform = new CmekPlatformStack(app, 'CmekPlatform', {
  env: { account, region },
  crossRegionReferences: true,
});
// The vendor's side: the audit role the platform key grants by ARN. KMS refuses a key policy naming a principal
// that does not exist, so the vendor creates it first.
const vendor = new Stack(app, 'CmekVendor', { env: { account: VENDOR_ACCOUNT, region } });
new iam.Role(vendor, 'AcmeAudit', {
  roleName: 'acme-audit',
  assumedBy: new iam.ServicePrincipal('ecs-tasks.amazonaws.com'),
  description: 'The Acme Analytics auditor: may decrypt with the platform key',
});
platform.node.addDependency(vendor);
new CmekDisasterRecoveryStack(app, 'CmekDisasterRecovery', {
  env: { account, region: recoveryRegion },
  crossRegionReferences: true,
  primary: platform.tenants.keyFor('globex'),
});
// The organization's management account: the deletion guard, as a resource control policy, for every key in the
// member accounts, whoever made it; each account's break-glass role of the same name is exempt.
const organization = new Stack(app, 'CmekOrganization', { env: { account: '222233334444', region } });
new CmekOrganizationGuard(organization, 'DeletionGuard', {
  targetIds: ['r-a1b2'],
  exemptPrincipalArns: [`arn:aws:iam::*:role/${BREAK_GLASS_ROLE}`],
});
// From the same account, every member account audits its keys' last use daily: a StackSet rolls the auditor out, and
// to each account that joins later. The code comes from buckets acme-cmek-auditor-code-<region>, made once.
new KeyUsageAuditorStackSet(organization, 'KeyUsageAuditors', {
  organizationalUnitIds: ['r-a1b2'],
  regions: [region],
  codeBucketPrefix: 'acme-cmek-auditor-code',
  auditor: { aliasPrefix: 'alias/cmek/' },
});
app.synth();
