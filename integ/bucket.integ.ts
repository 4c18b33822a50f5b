// Integration app for CmekBucket: a bucket with its own key, and one under a shared key with access logs, lifecycle and grants.
import { Duration, Stack } from 'aws-cdk-lib';
import { CmekBucket, CmekGrantee, CmekKey } from '../src';
import { accessLogsBucket, integApp, namedRole, PLATFORM_ENV, VENDOR_ACCOUNT, vendorStack } from './support/integ-app';

const app = integApp();
const stack = new Stack(app, 'CmekBucketInteg', { env: PLATFORM_ENV });
// The vendor's reader role, which the named bucket's policy and key policy grant by ARN (a literal: it is another account's).
namedRole(vendorStack(app, 'CmekBucketIntegVendor', stack), 'vendor-reader', 'The vendor workload that reads the named bucket');

const accessLogs = accessLogsBucket(stack);

// The bucket creates its own key.
const own = new CmekBucket(stack, 'OwnKey', {
  keyAlias: 'cmek/integ-bucket-own',
  serverAccessLogsBucket: accessLogs,
  serverAccessLogsPrefix: 'own-key/',
});
own.grantCrossAccountRead(CmekGrantee.account(VENDOR_ACCOUNT, { name: 'vendor' }));

// A fixed name and a shared key: key grants also pin the bucket's encryption context.
const shared = new CmekKey(stack, 'SharedKey', { alias: 'cmek/integ-bucket-shared' });
const named = new CmekBucket(stack, 'Named', {
  encryptionKey: shared,
  bucketName: 'cmek-integ-named-999999999999',
  serverAccessLogsBucket: accessLogs,
  serverAccessLogsPrefix: 'named/',
  lifecycleRules: [{ noncurrentVersionExpiration: Duration.days(90), abortIncompleteMultipartUploadAfter: Duration.days(7) }],
});
named.grantCrossAccountRead(CmekGrantee.role(`arn:aws:iam::${VENDOR_ACCOUNT}:role/vendor-reader`));
named.grantCrossAccountReadWrite(CmekGrantee.account('444455556666', { name: 'ingest' }));

app.synth();
