// The bundled CmekGrant handler (what the Lambda runs), in a plain Node process with its own KMS client: creates, then revokes a grant in moto.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import * as path from 'node:path';
import { CreateKeyCommand, KMSClient, ListGrantsCommand } from '@aws-sdk/client-kms';
import { Emulator, LOCAL_AWS, REPO_ROOT, startMoto } from '../../support/moto';

jest.setTimeout(120_000);

const BUNDLE = path.join(REPO_ROOT, 'assets', 'grant', 'runtime', 'grant.lambda', 'index.js');
let moto: Emulator;

beforeAll(async () => {
  moto = await startMoto();
});

afterAll(async () => {
  await moto?.stop();
});

/** Runs one request through the bundle in a fresh Node process, configured from the environment as Lambda does. */
function runBundle(event: Record<string, unknown>): { PhysicalResourceId: string } {
  const harness = `require(${JSON.stringify(BUNDLE)}).handler(${JSON.stringify(event)}).then((r) => console.log(JSON.stringify(r)), (e) => { console.error(String(e)); process.exit(1); })`;
  const run = spawnSync(process.execPath, ['-e', harness], {
    encoding: 'utf8',
    env: {
      PATH: process.env.PATH!,
      AWS_ENDPOINT_URL: moto.endpoint,
      AWS_REGION: LOCAL_AWS.region,
      AWS_ACCESS_KEY_ID: LOCAL_AWS.credentials.accessKeyId,
      AWS_SECRET_ACCESS_KEY: LOCAL_AWS.credentials.secretAccessKey,
    },
  });
  if (run.status !== 0) throw new Error(`bundle failed: ${run.stderr}`);
  return JSON.parse(run.stdout.trim().split('\n').pop()!);
}

test('GIVEN the built bundle WHEN it handles Create then Delete THEN the grant exists, then is revoked', async () => {
  expect(existsSync(BUNDLE)).toBe(true);
  const kms = new KMSClient({ ...LOCAL_AWS, endpoint: moto.endpoint });
  const keyArn = (await kms.send(new CreateKeyCommand({}))).KeyMetadata!.Arn!;
  const props = {
    ServiceToken: 't',
    KeyArn: keyArn,
    GranteePrincipal: 'arn:aws:iam::111122223333:role/vendor',
    Operations: ['Decrypt'],
    Name: 'cdk-cmek/S/G',
    RevokeOnDelete: 'true',
  };
  const base = { ServiceToken: 't', ResponseURL: 'https://example.invalid', StackId: 's', RequestId: 'r', LogicalResourceId: 'G', ResourceType: 'Custom::CmekGrant', ResourceProperties: props };
  const created = runBundle({ ...base, RequestType: 'Create' });
  const listed = (await kms.send(new ListGrantsCommand({ KeyId: keyArn }))).Grants ?? [];
  expect(listed.map((g) => [g.GrantId, g.GranteePrincipal, g.Operations])).toEqual([[created.PhysicalResourceId, props.GranteePrincipal, ['Decrypt']]]);
  runBundle({ ...base, RequestType: 'Delete', PhysicalResourceId: created.PhysicalResourceId });
  expect((await kms.send(new ListGrantsCommand({ KeyId: keyArn }))).Grants ?? []).toEqual([]);
});
