// The example app `cdk.json` runs (`npx cdk synth`): the platform stack, checked by cdk-nag's AwsSolutions rules.
import { App, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import { CmekDisasterRecoveryStack, CmekPlatformStack } from './platform-stack';

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
new CmekDisasterRecoveryStack(app, 'CmekDisasterRecovery', {
  env: { account, region: recoveryRegion },
  crossRegionReferences: true,
  primary: platform.tenants.keyFor('globex'),
});
app.synth();
