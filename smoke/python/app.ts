// TypeScript twin of app.py: the template the Python bindings must reproduce.
import { App, Stack } from 'aws-cdk-lib';
import { CmekAction, CmekBucket, CmekGrantee, CmekKey } from '../../src';

const app = new App({ analyticsReporting: false });
const stack = new Stack(app, 'CmekSmoke', { env: { account: '999999999999', region: 'eu-west-1' } });

const key = new CmekKey(stack, 'VendorKey', {
  alias: 'cmek/acme',
  grantees: [
    CmekGrantee.account('111122223333', { name: 'acme', viaServices: ['s3.eu-west-1.amazonaws.com'] }),
    CmekGrantee.role('arn:aws:iam::111122223333:role/acme-audit', { actions: [CmekAction.DECRYPT, CmekAction.DESCRIBE_KEY] }),
  ],
  deletionGuard: { minDaysUnused: 180, exemptPrincipalArns: ['arn:aws:iam::999999999999:role/KeyBreakGlass'] },
});
const data = new CmekBucket(stack, 'Data', { encryptionKey: key });
data.grantRead(CmekGrantee.account('111122223333', { name: 'acme' }));

app.synth();
