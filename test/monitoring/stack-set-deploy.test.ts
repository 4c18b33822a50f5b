// The member template deploys as a plain stack on LocalStack's CloudFormation, with its code from the Region's code bucket, and fails without it.
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as http from 'node:http';
import { AddressInfo } from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { CloudFormationClient, CreateStackCommand, DescribeStackEventsCommand, DescribeStackResourceCommand, DescribeStacksCommand } from '@aws-sdk/client-cloudformation';
import * as clientS3 from '@aws-sdk/client-s3';
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
/** The deploying (management) account, which owns the real code buckets. */
const MANAGEMENT = { accessKeyId: '999999999999', secretAccessKey: 'testing' };

interface CheckAnswer { readonly Status: string; readonly Reason: string; readonly PhysicalResourceId: string }

/**
 * Runs the owner check's inline handler, as the member template holds it, against LocalStack's S3 (which honours
 * ExpectedBucketOwner) with a member account's credentials, and returns what it answers CloudFormation.
 */
async function runOwnerCheck(endpoint: string, code: string, properties: Record<string, unknown>): Promise<CheckAnswer> {
  const answers: string[] = [];
  const server = http.createServer((req, res) => {
    let body = '';
    req.on('data', (c) => { body += c; });
    req.on('end', () => { answers.push(body); res.end(); });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  try {
    // The runtime's SDK, pointed at LocalStack: the handler's own calls are unchanged.
    class LocalS3 extends clientS3.S3Client {
      constructor() { super({ endpoint, region: 'us-east-1', credentials: MEMBER, forcePathStyle: true }); }
    }
    const sdk = { ...clientS3, S3Client: LocalS3 };
    const module = { exports: {} as { handler?: (event: object) => Promise<void> } };
    // The handler needs no module but the SDK.
    const load = (name: string): unknown => {
      if (name !== '@aws-sdk/client-s3') throw new Error(`the owner check needs only the S3 client, got: ${name}`);
      return sdk;
    };
    new Function('require', 'exports', 'module', code)(load, module.exports, module);
    await module.exports.handler!({
      RequestType: 'Create',
      ResourceProperties: properties,
      ResponseURL: `http://127.0.0.1:${(server.address() as AddressInfo).port}/answer`,
      StackId: 'stack',
      RequestId: 'request',
      LogicalResourceId: 'CodeBucketOwner',
    });
  } finally {
    server.close();
  }
  expect(answers).toHaveLength(1);
  return JSON.parse(answers[0]);
}

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

  test('GIVEN the member template\'s owner check on LocalStack S3 WHEN the bundle is in the bucket THEN it succeeds; without the bundle it fails with one line', async () => {
    const resources = JSON.parse(templateBody).Resources;
    const check = Object.values<any>(resources).find((r) => r.Type === 'Custom::CodeBucketOwner');
    const checkFn = resources[check.Properties.ServiceToken['Fn::GetAtt'][0]];
    const code: string = checkFn.Properties.Code.ZipFile;
    const owner: string = check.Properties.Owner;
    expect(owner).toBe(MANAGEMENT.accessKeyId);

    // The management account's bucket, read from a member account: the check passes.
    const bucket = `${PREFIX}-ap-south-1`;
    const management = new S3Client({ endpoint: localstack.endpoint, region: 'us-east-1', credentials: MANAGEMENT, forcePathStyle: true });
    await management.send(new CreateBucketCommand({ Bucket: bucket }));
    await management.send(new PutObjectCommand({ Bucket: bucket, Key: codeKey, Body: 'bundle' }));
    expect(await runOwnerCheck(localstack.endpoint, code, { Bucket: bucket, Key: codeKey, Owner: owner })).toEqual({
      Status: 'SUCCESS', Reason: '', PhysicalResourceId: `${bucket}/${codeKey}`, StackId: 'stack', RequestId: 'request', LogicalResourceId: 'CodeBucketOwner',
    });

    // The right owner, but no bundle at the key.
    const missing = await runOwnerCheck(localstack.endpoint, code, { Bucket: bucket, Key: 'cdk-cmek/key-usage-auditor/0.zip', Owner: owner });
    expect(missing.Status).toBe('FAILED');
    expect(missing.Reason).toMatch(/^code bucket acme-cmek-code-ap-south-1 must be owned by account 999999999999 and let this account read cdk-cmek\/key-usage-auditor\/0\.zip, got: \w+ \(HTTP 404\)$/);
  }, 120_000);

  test('GIVEN the owner check WHEN S3 answers as it does for ExpectedBucketOwner THEN it sends the expected owner and fails when another account owns the bucket', async () => {
    // Neither LocalStack nor moto checks ExpectedBucketOwner on HeadObject, so this endpoint answers as S3 documents:
    // 403 when the header names another account than the bucket's owner.
    const sent: Array<string | undefined> = [];
    const s3 = http.createServer((req, res) => {
      const expected = req.headers['x-amz-expected-bucket-owner'] as string | undefined;
      sent.push(`${req.method} ${req.url} ${expected}`);
      res.statusCode = expected === MEMBER.accessKeyId ? 200 : 403;
      res.end();
    });
    await new Promise<void>((resolve) => s3.listen(0, '127.0.0.1', resolve));
    try {
      const endpoint = `http://127.0.0.1:${(s3.address() as AddressInfo).port}`;
      const resources = JSON.parse(templateBody).Resources;
      const check = Object.values<any>(resources).find((r) => r.Type === 'Custom::CodeBucketOwner');
      const code: string = resources[check.Properties.ServiceToken['Fn::GetAtt'][0]].Properties.Code.ZipFile;
      const bucket = `${PREFIX}-us-east-1`;

      // The bucket is another account's (the member's, say): the deploying account's check refuses it.
      const planted = await runOwnerCheck(endpoint, code, { Bucket: bucket, Key: codeKey, Owner: check.Properties.Owner });
      expect(planted.Status).toBe('FAILED');
      const escaped = codeKey.replace(/[./]/g, '\\$&');
      expect(planted.Reason).toMatch(new RegExp(`^code bucket ${bucket} must be owned by account 999999999999 and let this account read ${escaped}, got: \\w+ \\(HTTP 403\\)$`));
      // The bucket's own account as the owner: it passes.
      expect((await runOwnerCheck(endpoint, code, { Bucket: bucket, Key: codeKey, Owner: MEMBER.accessKeyId })).Status).toBe('SUCCESS');
      expect(sent).toEqual([`HEAD /${bucket}/${codeKey} 999999999999`, `HEAD /${bucket}/${codeKey} ${MEMBER.accessKeyId}`]);
    } finally {
      s3.close();
    }
  }, 60_000);
});
