// The member template deploys as a plain stack on LocalStack's CloudFormation, with its code from the Region's code bucket, and fails without it.
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { CloudFormationClient, CreateStackCommand, DescribeStackEventsCommand, DescribeStackResourceCommand, DescribeStacksCommand } from '@aws-sdk/client-cloudformation';
import { CreateBucketCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { App, Stack } from 'aws-cdk-lib';
import { ensureLambdaBundle } from './support/bundle';
import { installLocalStack, startLocalStack } from '../../scripts/deploy/localstack';
import { KeyUsageAuditorStackSet } from '../../src';
import { AUDITOR_BUNDLE_DIR } from '../../src/monitoring/key-usage-auditor';
import { Emulator } from '../support/moto';

/** LocalStack takes a 12-digit access key id as the account: a member account of the organization. */
const MEMBER = { accessKeyId: '444455556666', secretAccessKey: 'testing' };
const PREFIX = 'acme-cmek-code';

async function settled(cfn: CloudFormationClient, name: string): Promise<{ status: string; reasons: string[] }> {
  const deadline = Date.now() + 240_000;
  for (;;) {
    const [stack] = (await cfn.send(new DescribeStacksCommand({ StackName: name }))).Stacks ?? [];
    const status = stack?.StackStatus ?? 'UNKNOWN';
    if (!status.endsWith('_IN_PROGRESS') || Date.now() > deadline) {
      const events = (await cfn.send(new DescribeStackEventsCommand({ StackName: name }))).StackEvents ?? [];
      return { status, reasons: events.filter((e) => e.ResourceStatus?.endsWith('_FAILED')).map((e) => `${e.LogicalResourceId}: ${e.ResourceStatusReason}`) };
    }
    await new Promise((r) => setTimeout(r, 1000));
  }
}

describe('KeyUsageAuditorStackSet member template on LocalStack', () => {
  let localstack: Emulator;
  let templateBody: string;
  let codeKey: string;
  let zip: string;
  const client = <T>(make: new (c: object) => T, region: string): T =>
    new make({ endpoint: localstack.endpoint, region, credentials: MEMBER, forcePathStyle: true });

  beforeAll(async () => {
    ensureLambdaBundle('src/monitoring/runtime/key-usage-auditor.lambda.ts');
    const stackSet = new KeyUsageAuditorStackSet(new Stack(new App(), 'Org', { env: { account: '999999999999', region: 'us-east-1' } }), 'Auditors', {
      organizationalUnitIds: ['r-ab12'],
      regions: ['us-east-1', 'eu-west-1'],
      codeBucketPrefix: PREFIX,
    });
    templateBody = stackSet.templateBody;
    codeKey = stackSet.codeKey;
    // The bundle zipped as the README says.
    zip = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'cdk-cmek-auditor-zip-')), 'key-usage-auditor.zip');
    const zipped = spawnSync('zip', ['-qr', zip, '.'], { cwd: AUDITOR_BUNDLE_DIR, encoding: 'utf8' });
    if (zipped.status !== 0) throw new Error(`zip failed: ${zipped.stderr}`);
    localstack = await startLocalStack(installLocalStack());
  }, 600_000);

  // LocalStack gets a grace period to stop before it is killed, longer than jest's default hook timeout.
  afterAll(async () => {
    await localstack?.stop();
    if (zip) fs.rmSync(path.dirname(zip), { recursive: true, force: true });
  }, 60_000);

  test('GIVEN the bundle in the Region\'s code bucket WHEN the member template is created as a stack THEN it completes and the function is created from it; a Region without the bundle fails on the function', async () => {
    const s3 = client(S3Client, 'us-east-1');
    await s3.send(new CreateBucketCommand({ Bucket: `${PREFIX}-us-east-1` }));
    await s3.send(new PutObjectCommand({ Bucket: `${PREFIX}-us-east-1`, Key: codeKey, Body: fs.readFileSync(zip) }));

    const cfn = client(CloudFormationClient, 'us-east-1');
    await cfn.send(new CreateStackCommand({ StackName: 'StackSet-auditors-1', TemplateBody: templateBody, Capabilities: ['CAPABILITY_IAM'] }));
    const created = await settled(cfn, 'StackSet-auditors-1');
    expect(created).toEqual({ status: 'CREATE_COMPLETE', reasons: [] });
    const resources = JSON.parse(templateBody).Resources;
    const fnId = Object.keys(resources).find((id) => resources[id].Type === 'AWS::Lambda::Function')!;
    const fn = await cfn.send(new DescribeStackResourceCommand({ StackName: 'StackSet-auditors-1', LogicalResourceId: fnId }));
    expect(fn.StackResourceDetail?.ResourceStatus).toBe('CREATE_COMPLETE');

    // eu-west-1 has no code bucket: the same template fails there, on the function.
    const cfnWest = client(CloudFormationClient, 'eu-west-1');
    await cfnWest.send(new CreateStackCommand({ StackName: 'StackSet-auditors-2', TemplateBody: templateBody, Capabilities: ['CAPABILITY_IAM'] }));
    const failed = await settled(cfnWest, 'StackSet-auditors-2');
    expect(failed.status).not.toBe('CREATE_COMPLETE');
    expect(failed.reasons.join('\n')).toContain(fnId);
  }, 600_000);
});
