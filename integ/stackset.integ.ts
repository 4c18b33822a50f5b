// Integration app for KeyUsageAuditorStackSet: the management account rolls the auditor out to two units in two Regions; the member template is snapshotted and linted beside it.
import { Stack } from 'aws-cdk-lib';
import { KeyUsageAuditorStackSet } from '../src';
import { integApp, PLATFORM_ENV } from './support/integ-app';

const app = integApp();

const management = new Stack(app, 'CmekStackSetInteg', { env: PLATFORM_ENV });
new KeyUsageAuditorStackSet(management, 'KeyUsageAuditors', {
  organizationalUnitIds: ['ou-a1b2-workload1', 'ou-a1b2-sandbox01'],
  regions: ['eu-west-1', 'us-east-1'],
  codeBucketPrefix: 'cmek-integ-auditor-code',
  auditor: { thresholdDays: 180, aliasPrefix: 'alias/cmek/' },
});

app.synth();
