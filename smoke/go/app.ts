// TypeScript twin of main.go: the key, bucket, envelope-encrypted object and monitoring the Go bindings must reproduce.
import * as path from 'node:path';
import { App, Stack } from 'aws-cdk-lib';
import {
  CmekAction,
  CmekBucket,
  CmekGrantee,
  CmekKey,
  EnvelopeEncryptedObject,
  EnvelopeSource,
  KeyDeletionMonitor,
  KeyUsageAuditor,
} from '../../src';

const app = new App({ analyticsReporting: false });
const stack = new Stack(app, 'CmekGoSmoke', { env: { account: '999999999999', region: 'eu-west-1' } });

const key = new CmekKey(stack, 'VendorKey', {
  alias: 'cmek/acme',
  description: 'Acme processes the platform data with this key',
  grantees: [
    CmekGrantee.account('111122223333', { name: 'acme', viaServices: ['s3.eu-west-1.amazonaws.com'] }),
    CmekGrantee.role('arn:aws:iam::111122223333:role/acme-audit', { actions: [CmekAction.DECRYPT, CmekAction.DESCRIBE_KEY] }),
  ],
  deletionGuard: { minDaysUnused: 180, exemptPrincipalArns: ['arn:aws:iam::999999999999:role/KeyBreakGlass'] },
});
const data = new CmekBucket(stack, 'Data', { encryptionKey: key });
data.grantCrossAccountRead(CmekGrantee.account('111122223333', { name: 'acme' }));

new EnvelopeEncryptedObject(stack, 'VendorManifest', {
  bucket: data.bucket,
  key,
  objectKey: 'vendor/acme/manifest.json',
  source: EnvelopeSource.fromFile(path.join(__dirname, '..', '..', 'examples', 'seed', 'vendor-manifest.json')),
  encryptionContext: { vendor: 'acme' },
  contentType: 'application/json',
});

const monitor = new KeyDeletionMonitor(stack, 'KeyDeletionMonitor', { keys: [key] });
new KeyUsageAuditor(stack, 'KeyUsageAuditor', { thresholdDays: 365, aliasPrefix: 'alias/cmek/', topic: monitor.topic });

app.synth();
