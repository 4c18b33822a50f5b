// The example app `cdk.json` runs (`npx cdk synth`): the platform stack, checked by cdk-nag's AwsSolutions rules.
import { App, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import { CmekPlatformStack } from './platform-stack';

const app = new App();
Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
new CmekPlatformStack(app, 'CmekPlatform', {
  env: { account: process.env.CDK_DEFAULT_ACCOUNT ?? '999999999999', region: process.env.CDK_DEFAULT_REGION ?? 'eu-west-1' },
});
app.synth();
