// `cdk-cmek retire` as a user runs it (the bundled binary) against moto: dependents recorded by EC2, RDS, S3, Secrets
// Manager, DynamoDB, SQS, SNS, Lambda, CloudTrail and CloudWatch Logs, grants and aliases; refusals, --force, unknowns.
import { CloudTrailClient, CreateTrailCommand } from '@aws-sdk/client-cloudtrail';
import { CloudWatchLogsClient, CreateLogGroupCommand } from '@aws-sdk/client-cloudwatch-logs';
import { CreateTableCommand, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { CopySnapshotCommand, CreateSnapshotCommand, CreateVolumeCommand, EC2Client } from '@aws-sdk/client-ec2';
import { CreateAliasCommand, CreateGrantCommand, CreateKeyCommand, DescribeKeyCommand, KMSClient, ListResourceTagsCommand } from '@aws-sdk/client-kms';
import { CreateFunctionCommand, LambdaClient } from '@aws-sdk/client-lambda';
import { CreateDBClusterCommand, CreateDBClusterSnapshotCommand, CreateDBInstanceCommand, CreateDBSnapshotCommand, RDSClient } from '@aws-sdk/client-rds';
import { CreateBucketCommand, PutBucketEncryptionCommand, S3Client } from '@aws-sdk/client-s3';
import { CreateSecretCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { CreateTopicCommand, SNSClient } from '@aws-sdk/client-sns';
import { CreateQueueCommand, SQSClient } from '@aws-sdk/client-sqs';
import { runCli } from './cli-support';
import { explicitDeny, startRetireProxy, type RetireProxy } from './retire-support';
import { Emulator, LOCAL_AWS, startMoto } from '../support/moto';

jest.setTimeout(120_000);

let moto: Emulator;
let proxy: RetireProxy;
let kms: KMSClient;
/** The key being retired: every service records it, by id, ARN, alias name or alias ARN. */
let key: { id: string; arn: string };
/** A key nothing depends on. */
let clean: { id: string; arn: string };
const expected: Array<[string, string]> = [];

async function newKey(): Promise<{ id: string; arn: string }> {
  const m = (await kms.send(new CreateKeyCommand({}))).KeyMetadata!;
  return { id: m.KeyId!, arn: m.Arn! };
}

beforeAll(async () => {
  moto = await startMoto();
  proxy = await startRetireProxy(moto.endpoint, moto.endpoint);
  const c = { ...LOCAL_AWS, endpoint: moto.endpoint };
  kms = new KMSClient(c);
  key = await newKey();
  clean = await newKey();
  const other = await newKey();
  await kms.send(new CreateAliasCommand({ AliasName: 'alias/cmek/legacy', TargetKeyId: key.id }));
  const aliasArn = key.arn.replace(/key\/.*/, 'alias/cmek/legacy');
  await kms.send(new CreateGrantCommand({ KeyId: key.id, GranteePrincipal: 'arn:aws:iam::123456789012:role/app', Operations: ['Decrypt'], Name: 'app' }));

  const ec2 = new EC2Client(c);
  const vol = await ec2.send(new CreateVolumeCommand({ AvailabilityZone: 'eu-west-1a', Size: 1, Encrypted: true, KmsKeyId: key.id }));
  expected.push(['EBS volume', vol.VolumeId!]);
  await ec2.send(new CreateVolumeCommand({ AvailabilityZone: 'eu-west-1a', Size: 1, Encrypted: true, KmsKeyId: other.id }));
  // moto's CreateSnapshot does not carry the volume's key over (AWS does); CopySnapshot with a key records it.
  const snap = await ec2.send(new CreateSnapshotCommand({ VolumeId: vol.VolumeId }));
  const copy = await ec2.send(new CopySnapshotCommand({ SourceSnapshotId: snap.SnapshotId, SourceRegion: 'eu-west-1', Encrypted: true, KmsKeyId: key.arn }));
  expected.push(['EBS snapshot', copy.SnapshotId!]);

  const rds = new RDSClient(c);
  const db = { DBInstanceClass: 'db.t3.micro', Engine: 'postgres', MasterUsername: 'u', MasterUserPassword: 'passw0rd-passw0rd', AllocatedStorage: 20 };
  await rds.send(new CreateDBInstanceCommand({ ...db, DBInstanceIdentifier: 'orders', StorageEncrypted: true, KmsKeyId: key.arn }));
  await rds.send(new CreateDBInstanceCommand({ ...db, DBInstanceIdentifier: 'unrelated', StorageEncrypted: true, KmsKeyId: other.arn }));
  await rds.send(new CreateDBClusterCommand({ DBClusterIdentifier: 'ledger', Engine: 'aurora-postgresql', MasterUsername: 'u', MasterUserPassword: 'passw0rd-passw0rd', StorageEncrypted: true, KmsKeyId: key.id }));
  await rds.send(new CreateDBSnapshotCommand({ DBSnapshotIdentifier: 'orders-final', DBInstanceIdentifier: 'orders' }));
  await rds.send(new CreateDBClusterSnapshotCommand({ DBClusterSnapshotIdentifier: 'ledger-final', DBClusterIdentifier: 'ledger' }));
  expected.push(['RDS instance', 'orders'], ['RDS cluster', 'ledger'], ['RDS snapshot', 'orders-final'], ['RDS cluster snapshot', 'ledger-final']);

  const s3 = new S3Client({ ...c, forcePathStyle: true });
  await s3.send(new CreateBucketCommand({ Bucket: 'reports-bucket', CreateBucketConfiguration: { LocationConstraint: 'eu-west-1' } }));
  await s3.send(new PutBucketEncryptionCommand({
    Bucket: 'reports-bucket',
    ServerSideEncryptionConfiguration: { Rules: [{ ApplyServerSideEncryptionByDefault: { SSEAlgorithm: 'aws:kms', KMSMasterKeyID: 'alias/cmek/legacy' } }] },
  }));
  await s3.send(new CreateBucketCommand({ Bucket: 'trail-bucket', CreateBucketConfiguration: { LocationConstraint: 'eu-west-1' } }));
  expected.push(['S3 bucket', 'reports-bucket']);

  const secret = await new SecretsManagerClient(c).send(new CreateSecretCommand({ Name: 'db-password', SecretString: 'x', KmsKeyId: 'alias/cmek/legacy' }));
  expected.push(['secret', secret.ARN!]);
  await new DynamoDBClient(c).send(new CreateTableCommand({
    TableName: 'sessions',
    AttributeDefinitions: [{ AttributeName: 'p', AttributeType: 'S' }],
    KeySchema: [{ AttributeName: 'p', KeyType: 'HASH' }],
    BillingMode: 'PAY_PER_REQUEST',
    SSESpecification: { Enabled: true, SSEType: 'KMS', KMSMasterKeyId: key.arn },
  }));
  expected.push(['DynamoDB table', 'sessions']);
  const queue = await new SQSClient(c).send(new CreateQueueCommand({ QueueName: 'jobs', Attributes: { KmsMasterKeyId: aliasArn } }));
  expected.push(['SQS queue', `arn:aws:sqs:eu-west-1:123456789012:${queue.QueueUrl!.split('/').pop()}`]);
  const topic = await new SNSClient(c).send(new CreateTopicCommand({ Name: 'alerts', Attributes: { KmsMasterKeyId: 'alias/cmek/legacy' } }));
  expected.push(['SNS topic', topic.TopicArn!]);

  // moto's Lambda wants an existing role: IAM's query API, unsigned as moto allows.
  await fetch(moto.endpoint, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', 'authorization': 'AWS4-HMAC-SHA256 Credential=testing/20260101/us-east-1/iam/aws4_request' },
    body: 'Action=CreateRole&Version=2010-05-08&RoleName=fn&AssumeRolePolicyDocument=%7B%7D',
  });
  await new LambdaClient(c).send(new CreateFunctionCommand({
    FunctionName: 'billing',
    Runtime: 'nodejs22.x',
    Role: 'arn:aws:iam::123456789012:role/fn',
    Handler: 'index.handler',
    Code: { ZipFile: Buffer.from('UEsFBgAAAAAAAAAAAAAAAAAAAAAAAA==', 'base64') },
    KMSKeyArn: key.arn,
  }));
  expected.push(['Lambda function', 'billing']);
  const trail = await new CloudTrailClient(c).send(new CreateTrailCommand({ Name: 'org-trail', S3BucketName: 'trail-bucket', KmsKeyId: key.id }));
  expected.push(['CloudTrail trail', trail.TrailARN!]);
  await new CloudWatchLogsClient(c).send(new CreateLogGroupCommand({ logGroupName: '/app/billing', kmsKeyId: key.arn }));
  expected.push(['log group', '/app/billing']);
}, 180_000);

afterAll(async () => {
  await proxy?.close();
  await moto?.stop();
});

const env = () => ({ AWS_ACCESS_KEY_ID: 'testing', AWS_SECRET_ACCESS_KEY: 'testing', AWS_REGION: 'eu-west-1' });
const retire = (args: string[]) => runCli(['retire', ...args, '--endpoint-url', proxy.url], env());
const state = async (id: string) => (await kms.send(new DescribeKeyCommand({ KeyId: id }))).KeyMetadata!.KeyState;

describe('cdk-cmek retire (bundled binary, moto)', () => {
  test('GIVEN a key named by every service WHEN dry-run with --json THEN each dependent, the grant and the alias are found, and only those', async () => {
    const r = await retire(['alias/cmek/legacy', '--json']);
    expect(r.code).toBe(1);
    const report = JSON.parse(r.stdout.toString());
    const found = report.lookups.flatMap((l: { dependents: Array<{ type: string; id: string }> }) => l.dependents.map((d) => [d.type, d.id]));
    // RDS takes automated snapshots under the instance's or cluster's key (moto too): they are dependents as well.
    const automated = found.filter(([type, id]: string[]) => type.startsWith('RDS') && id.startsWith('rds:'));
    expect(automated.map(([type]: string[]) => type).sort()).toEqual(['RDS cluster snapshot', 'RDS snapshot']);
    expect(found.filter((f: string[]) => !automated.includes(f)).sort()).toEqual([...expected].sort());
    expect(report.lookups.every((l: { unknown: string[] }) => l.unknown.length === 0)).toBe(true);
    expect(report.key).toMatchObject({ keyArn: key.arn, aliases: ['alias/cmek/legacy'], state: 'Enabled' });
    expect(report.grants).toEqual([expect.objectContaining({ grantee: 'arn:aws:iam::123456789012:role/app', operations: ['Decrypt'] })]);
    expect(report.verdict).toMatchObject({ step: 'disable', outcome: 'refused' });
    expect(report.verdict.blockers).toHaveLength(expected.length + 3);
    expect(r.stderr).toContain(`refused: --disable is blocked by ${expected.length + 3} finding(s)`);
  });

  test('GIVEN dependents WHEN --disable THEN refused with each reason and remedy, exit 1, the key still Enabled', async () => {
    const r = await retire([key.arn, '--disable']);
    const out = r.stdout.toString();
    expect(r.code).toBe(1);
    expect(out).toMatch(/^Key\n {2}arn:aws:kms:eu-west-1:\d{12}:key\//);
    expect(out).toContain('none recorded since tracking started on 2026-04-23: uses before then are not recorded');
    expect(out).toContain('- RDS instance orders names the key (');
    expect(out).toContain('; to proceed: re-encrypt or remove it, or pass --force orders');
    expect(out).toContain('- S3 bucket reports-bucket names the key (alias/cmek/legacy)');
    expect(out).toContain('aliases: alias/cmek/legacy');
    expect(await state(key.id)).toBe('Enabled');
    expect(proxy.requests.map((q) => q.op)).not.toContain('TrentService.DisableKey');
  });

  test('GIVEN --force naming all but one dependent WHEN --disable THEN still refused, naming the one left', async () => {
    const report = JSON.parse((await retire([key.id, '--json'])).stdout.toString());
    const ids = report.lookups.flatMap((l: { dependents: Array<{ id: string }> }) => l.dependents.map((d) => d.id)).filter((id: string) => id !== 'sessions');
    const r = await retire([key.id, '--disable', '--force', [...ids, report.grants[0].grantId].join(',')]);
    expect(r.code).toBe(1);
    expect(r.stdout.toString()).toContain('- DynamoDB table sessions names the key');
    expect(r.stderr).toContain('blocked by 1 finding(s)');
    expect(await state(key.id)).toBe('Enabled');
  });

  test('GIVEN a --force name that is no dependent WHEN --disable THEN exit 2 naming it, nothing disabled', async () => {
    const r = await retire([clean.id, '--disable', '--force', 'vol-typo']);
    expect(r.code).toBe(2);
    expect(r.stderr).toBe('cdk-cmek retire: `--force` must name dependents or unreadable services of this key, got: vol-typo (nothing of that name was found)\n');
    expect(await state(clean.id)).toBe('Enabled');
  });

  test('GIVEN a lookup denied WHEN --disable THEN the service is unknown and blocks; --force sqs overrides it and the key is disabled and tagged', async () => {
    proxy.refuse.set('AmazonSQS.ListQueues', { type: 'AccessDenied', message: 'User is not authorized to perform: sqs:listqueues' });
    try {
      const dry = await retire([clean.id]);
      expect(dry.code).toBe(1);
      expect(dry.stdout.toString()).toContain('sqs (SQS queue): UNKNOWN: AccessDenied: User is not authorized to perform: sqs:listqueues');
      expect(dry.stdout.toString()).toContain('- sqs: could not be checked (AccessDenied: User is not authorized to perform: sqs:listqueues); to proceed: grant the read access it needs and rerun, or pass --force sqs');
      const refused = await retire([clean.id, '--disable']);
      expect(refused.code).toBe(1);
      expect(await state(clean.id)).toBe('Enabled');
      const before = Date.now();
      const forced = await retire([clean.id, '--disable', '--force', 'sqs']);
      expect(forced.stderr).toBe('');
      expect(forced.code).toBe(0);
      expect(forced.stdout.toString()).toContain('overridden by --force: unknown sqs');
      expect(await state(clean.id)).toBe('Disabled');
      const tags = (await kms.send(new ListResourceTagsCommand({ KeyId: clean.id }))).Tags ?? [];
      const at = Date.parse(tags.find((t) => t.TagKey === 'cdk-cmek:disabled-at')!.TagValue!);
      expect(at).toBeGreaterThanOrEqual(before - 1000);
      expect(at).toBeLessThanOrEqual(Date.now());
    } finally {
      proxy.refuse.clear();
    }
  });

  test('GIVEN a Region no endpoint answers for WHEN run without an endpoint THEN one line naming the Region, exit 2', async () => {
    // A made-up Region: its KMS hostname does not resolve, so no request leaves the machine.
    const r = await runCli(['retire', 'alias/cmek/legacy', '--region', 'xx-nowhere-1'], { AWS_ACCESS_KEY_ID: 'testing', AWS_SECRET_ACCESS_KEY: 'testing' });
    expect(r.stderr).toMatch(/^cdk-cmek retire: no AWS endpoint answers for Region xx-nowhere-1 \((ENOTFOUND|EAI_AGAIN)\): check the Region name \(e\.g\. eu-west-1\) and the network\n$/);
    expect(r.code).toBe(2);
  });

  test('GIVEN the key policy denies DisableKey WHEN --disable THEN "the deletion guard refused", exit 1, still Enabled and untagged', async () => {
    const guarded = await newKey();
    proxy.refuse.set('TrentService.DisableKey', explicitDeny('kms:DisableKey', guarded.arn));
    try {
      const r = await retire([guarded.id, '--disable']);
      expect(r.stderr).toMatch(/^cdk-cmek retire: the deletion guard refused: AccessDeniedException: .* kms:DisableKey .* with an explicit deny in a resource-based policy; to proceed: wait until/);
      expect(r.code).toBe(1);
      expect(await state(guarded.id)).toBe('Enabled');
      expect((await kms.send(new ListResourceTagsCommand({ KeyId: guarded.id }))).Tags ?? []).toEqual([]);
    } finally {
      proxy.refuse.clear();
    }
  });
});
