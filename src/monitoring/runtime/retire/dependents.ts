// The resources whose encryption names a key, service by service, in one account and Region. A lookup that fails
// is reported as unknown with its reason: a missing permission or a service off in the Region is never "no dependents".
import { CloudTrailClient, DescribeTrailsCommand } from '@aws-sdk/client-cloudtrail';
import { CloudWatchLogsClient, paginateDescribeLogGroups } from '@aws-sdk/client-cloudwatch-logs';
import { DescribeTableCommand, DynamoDBClient, paginateListTables } from '@aws-sdk/client-dynamodb';
import { EC2Client, paginateDescribeSnapshots, paginateDescribeVolumes } from '@aws-sdk/client-ec2';
import { LambdaClient, paginateListFunctions } from '@aws-sdk/client-lambda';
import {
  RDSClient,
  paginateDescribeDBClusters,
  paginateDescribeDBClusterSnapshots,
  paginateDescribeDBInstances,
  paginateDescribeDBSnapshots,
} from '@aws-sdk/client-rds';
import { GetBucketEncryptionCommand, GetBucketLocationCommand, S3Client, paginateListBuckets } from '@aws-sdk/client-s3';
import { SecretsManagerClient, paginateListSecrets } from '@aws-sdk/client-secrets-manager';
import { GetTopicAttributesCommand, SNSClient, paginateListTopics } from '@aws-sdk/client-sns';
import { GetQueueAttributesCommand, SQSClient, paginateListQueues } from '@aws-sdk/client-sqs';
import { errorText } from './key-facts';
import { namesKey, type Dependent, type Lookup, type RetireKey } from './plan';

/** The clients of one account and Region; tests and the CLI build them with the same region and endpoint. */
export interface DependentClients {
  readonly ec2: EC2Client;
  readonly rds: RDSClient;
  readonly s3: S3Client;
  readonly secrets: SecretsManagerClient;
  readonly dynamodb: DynamoDBClient;
  readonly sqs: SQSClient;
  readonly sns: SNSClient;
  readonly lambda: LambdaClient;
  readonly cloudtrail: CloudTrailClient;
  readonly logs: CloudWatchLogsClient;
}

/** Builds every client for `region`, through `endpoint` when given (else the SDK's own resolution, AWS_ENDPOINT_URL included). */
export function dependentClients(region: string | undefined, endpoint: string | undefined): DependentClients {
  const c = { region, endpoint };
  return {
    ec2: new EC2Client(c),
    rds: new RDSClient(c),
    // Path-style: bucket names as hostnames need DNS that local endpoints do not have.
    s3: new S3Client({ ...c, forcePathStyle: endpoint !== undefined }),
    secrets: new SecretsManagerClient(c),
    dynamodb: new DynamoDBClient(c),
    sqs: new SQSClient(c),
    sns: new SNSClient(c),
    lambda: new LambdaClient(c),
    cloudtrail: new CloudTrailClient(c),
    logs: new CloudWatchLogsClient(c),
  };
}

type Found = (type: string, id: string, recorded: string | undefined) => void;

/** Runs one service's lookup: any error (AccessDenied, service not enabled, endpoint down) makes it unknown. */
async function lookup(
  service: string,
  checked: string[],
  key: RetireKey,
  body: (found: Found, unknown: (r: string) => void) => Promise<void>,
): Promise<Lookup> {
  const dependents: Dependent[] = [];
  const unknown: string[] = [];
  const found: Found = (type, id, recorded) => {
    if (namesKey(key, recorded)) dependents.push({ service, type, id, recordedKey: recorded! });
  };
  try {
    await body(found, (r) => unknown.push(r));
  } catch (err) {
    unknown.push(errorText(err));
  }
  return { service, checked, dependents, unknown };
}

const ec2 = (c: DependentClients, key: RetireKey) =>
  lookup('ec2', ['EBS volume', 'EBS snapshot'], key, async (found) => {
    // No server-side filter names a KMS key: list the encrypted ones and compare.
    const encrypted = [{ Name: 'encrypted', Values: ['true'] }];
    for await (const page of paginateDescribeVolumes({ client: c.ec2 }, { Filters: encrypted })) {
      for (const v of page.Volumes ?? []) found('EBS volume', v.VolumeId ?? '', v.KmsKeyId);
    }
    for await (const page of paginateDescribeSnapshots({ client: c.ec2 }, { OwnerIds: ['self'], Filters: encrypted })) {
      for (const s of page.Snapshots ?? []) found('EBS snapshot', s.SnapshotId ?? '', s.KmsKeyId);
    }
  });

const rds = (c: DependentClients, key: RetireKey) =>
  lookup('rds', ['RDS instance', 'RDS cluster', 'RDS snapshot', 'RDS cluster snapshot'], key, async (found) => {
    for await (const p of paginateDescribeDBInstances({ client: c.rds }, {})) {
      for (const d of p.DBInstances ?? []) found('RDS instance', d.DBInstanceIdentifier ?? '', d.KmsKeyId);
    }
    for await (const p of paginateDescribeDBClusters({ client: c.rds }, {})) {
      for (const d of p.DBClusters ?? []) found('RDS cluster', d.DBClusterIdentifier ?? '', d.KmsKeyId);
    }
    for await (const p of paginateDescribeDBSnapshots({ client: c.rds }, {})) {
      for (const s of p.DBSnapshots ?? []) found('RDS snapshot', s.DBSnapshotIdentifier ?? '', s.KmsKeyId);
    }
    for await (const p of paginateDescribeDBClusterSnapshots({ client: c.rds }, {})) {
      for (const s of p.DBClusterSnapshots ?? []) found('RDS cluster snapshot', s.DBClusterSnapshotIdentifier ?? '', s.KmsKeyId);
    }
  });

const s3 = (c: DependentClients, key: RetireKey) =>
  lookup('s3', ['S3 bucket default encryption'], key, async (found, unknown) => {
    for await (const page of paginateListBuckets({ client: c.s3 }, { BucketRegion: key.region })) {
      for (const b of page.Buckets ?? []) {
        const name = b.Name ?? '';
        try {
          // A KMS key serves buckets of its own Region only; older endpoints ignore BucketRegion, so check.
          const region = b.BucketRegion ?? ((await c.s3.send(new GetBucketLocationCommand({ Bucket: name }))).LocationConstraint || 'us-east-1');
          if (region !== key.region) continue;
          const enc = await c.s3.send(new GetBucketEncryptionCommand({ Bucket: name }));
          for (const r of enc.ServerSideEncryptionConfiguration?.Rules ?? []) {
            found('S3 bucket', name, r.ApplyServerSideEncryptionByDefault?.KMSMasterKeyID);
          }
        } catch (err) {
          if ((err as Error)?.name === 'ServerSideEncryptionConfigurationNotFoundError') continue;
          unknown(`bucket ${name}: ${errorText(err)}`);
        }
      }
    }
  });

const secrets = (c: DependentClients, key: RetireKey) =>
  lookup('secretsmanager', ['secret'], key, async (found) => {
    for await (const page of paginateListSecrets({ client: c.secrets }, {})) {
      for (const s of page.SecretList ?? []) found('secret', s.ARN ?? s.Name ?? '', s.KmsKeyId);
    }
  });

const dynamodb = (c: DependentClients, key: RetireKey) =>
  lookup('dynamodb', ['DynamoDB table'], key, async (found, unknown) => {
    for await (const page of paginateListTables({ client: c.dynamodb }, {})) {
      for (const name of page.TableNames ?? []) {
        try {
          const t = (await c.dynamodb.send(new DescribeTableCommand({ TableName: name }))).Table;
          found('DynamoDB table', name, t?.SSEDescription?.KMSMasterKeyArn);
        } catch (err) {
          unknown(`table ${name}: ${errorText(err)}`);
        }
      }
    }
  });

const sqs = (c: DependentClients, key: RetireKey) =>
  lookup('sqs', ['SQS queue'], key, async (found, unknown) => {
    for await (const page of paginateListQueues({ client: c.sqs }, {})) {
      for (const url of page.QueueUrls ?? []) {
        try {
          const a = await c.sqs.send(new GetQueueAttributesCommand({ QueueUrl: url, AttributeNames: ['KmsMasterKeyId', 'QueueArn'] }));
          found('SQS queue', a.Attributes?.QueueArn ?? url, a.Attributes?.KmsMasterKeyId);
        } catch (err) {
          unknown(`queue ${url}: ${errorText(err)}`);
        }
      }
    }
  });

const sns = (c: DependentClients, key: RetireKey) =>
  lookup('sns', ['SNS topic'], key, async (found, unknown) => {
    for await (const page of paginateListTopics({ client: c.sns }, {})) {
      for (const t of page.Topics ?? []) {
        try {
          const a = await c.sns.send(new GetTopicAttributesCommand({ TopicArn: t.TopicArn }));
          found('SNS topic', t.TopicArn ?? '', a.Attributes?.KmsMasterKeyId);
        } catch (err) {
          unknown(`topic ${t.TopicArn}: ${errorText(err)}`);
        }
      }
    }
  });

const lambda = (c: DependentClients, key: RetireKey) =>
  lookup('lambda', ['Lambda function environment'], key, async (found) => {
    // Every published version keeps the key it was published with, so $LATEST alone is not enough.
    for await (const page of paginateListFunctions({ client: c.lambda }, { FunctionVersion: 'ALL' })) {
      for (const f of page.Functions ?? []) {
        const name = f.Version && f.Version !== '$LATEST' ? `${f.FunctionName}:${f.Version}` : f.FunctionName ?? '';
        found('Lambda function', name, f.KMSKeyArn);
      }
    }
  });

const cloudtrail = (c: DependentClients, key: RetireKey) =>
  lookup('cloudtrail', ['CloudTrail trail'], key, async (found) => {
    const r = await c.cloudtrail.send(new DescribeTrailsCommand({ includeShadowTrails: true }));
    for (const t of r.trailList ?? []) found('CloudTrail trail', t.TrailARN ?? t.Name ?? '', t.KmsKeyId);
  });

const logs = (c: DependentClients, key: RetireKey) =>
  lookup('logs', ['CloudWatch Logs log group'], key, async (found) => {
    for await (const page of paginateDescribeLogGroups({ client: c.logs }, {})) {
      for (const g of page.logGroups ?? []) found('log group', g.logGroupName ?? '', g.kmsKeyId);
    }
  });

/** The services looked up, in report order; `--force <service>` names one of these. */
export const DEPENDENT_SERVICES = ['ec2', 'rds', 's3', 'secretsmanager', 'dynamodb', 'sqs', 'sns', 'lambda', 'cloudtrail', 'logs'] as const;

/** Every service's lookup at once (they are independent); results in DEPENDENT_SERVICES order. */
export function findDependents(c: DependentClients, key: RetireKey): Promise<Lookup[]> {
  return Promise.all([ec2, rds, s3, secrets, dynamodb, sqs, sns, lambda, cloudtrail, logs].map((f) => f(c, key)));
}
