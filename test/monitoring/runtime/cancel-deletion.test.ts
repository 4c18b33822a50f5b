// The cancel-on-use handler against a KMS that enforces key states (LocalStack's, else local-kms): real pending-deletion
// failures, delivered as CloudWatch Logs subscription events, cancel only the monitored keys, once.
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import * as path from 'node:path';
import { gzipSync } from 'node:zlib';
import {
  CreateKeyCommand,
  DescribeKeyCommand,
  EncryptCommand,
  KMSClient,
  ReEncryptCommand,
  ScheduleKeyDeletionCommand,
} from '@aws-sdk/client-kms';
import type { PublishCommandInput } from '@aws-sdk/client-sns';
import { PENDING_DELETION_PATTERN } from '../../../src/monitoring/deletion-patterns';
import {
  cancelDeletionOnUse,
  readConfig,
  type CancelDeletionConfig,
  type CancelDeletionClients,
} from '../../../src/monitoring/runtime/cancel-deletion';
import { installKeyStateKms, KEY_STATE_KMS_REQUIRED } from '../../support/key-state-kms';
import type { Emulator } from '../../support/moto';
import { ensureLambdaBundle } from '../support/bundle';
import { JsonFilterPattern } from '../support/filter-pattern';

jest.setTimeout(900_000);

const REGION = 'eu-west-1';
const FIXTURE = JSON.parse(fs.readFileSync(path.join(__dirname, '..', 'fixtures', 'decrypt-pending-deletion.json'), 'utf8'));

/** A CloudWatch Logs subscription delivery, as Lambda receives it: gzipped JSON, base64. */
function delivery(messages: string[], messageType = 'DATA_MESSAGE'): { awslogs: { data: string } } {
  const payload = {
    messageType,
    owner: '000000000000',
    logGroup: 'aws-cloudtrail-logs',
    logStream: `000000000000_CloudTrail_${REGION}`,
    subscriptionFilters: ['CancelDeletionOnUse'],
    logEvents: messages.map((message, i) => ({ id: String(i), timestamp: Date.parse('2026-11-20T10:02:31Z'), message })),
  };
  return { awslogs: { data: gzipSync(JSON.stringify(payload)).toString('base64') } };
}

/** What CloudTrail records for a failed call on `keyArn`: the service's error code and message. */
function trailRecord(keyArn: string, err: { name: string; message: string }, eventName = 'Encrypt', caller = 'arn:aws:sts::000000000000:assumed-role/App/run'): string {
  return JSON.stringify({
    ...FIXTURE,
    eventName,
    errorCode: err.name,
    errorMessage: err.message,
    userIdentity: { ...FIXTURE.userIdentity, arn: caller },
    resources: [{ accountId: keyArn.split(':')[4], type: 'AWS::KMS::Key', ARN: keyArn }],
  });
}

/** Records what would be published, instead of an SNS endpoint (the topic is not what is tested here). */
function topicRecorder(): { published: PublishCommandInput[]; client: CancelDeletionClients['sns'] } {
  const published: PublishCommandInput[] = [];
  const send = async (command: { input: PublishCommandInput }) => {
    published.push(command.input);
    return { MessageId: String(published.length) };
  };
  return { published, client: { send: send as never } };
}

/** Records SNS Publish requests as sent on the wire (the query protocol), and answers as SNS does. */
async function startSnsRecorder(): Promise<{ url: string; requests: URLSearchParams[]; close(): Promise<void> }> {
  const requests: URLSearchParams[] = [];
  const server = http.createServer((req, res) => {
    let body = '';
    req.on('data', (c) => (body += c));
    req.on('end', () => {
      requests.push(new URLSearchParams(body));
      res.writeHead(200, { 'content-type': 'text/xml' });
      res.end(`<PublishResponse xmlns="http://sns.amazonaws.com/doc/2010-03-31/"><PublishResult><MessageId>m-${requests.length}</MessageId></PublishResult>` +
        '<ResponseMetadata><RequestId>r</RequestId></ResponseMetadata></PublishResponse>');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return { url: `http://127.0.0.1:${port}`, requests, close: () => new Promise((resolve) => server.close(() => resolve())) };
}

describe('readConfig', () => {
  const env = { KEY_ARNS: `arn:aws:kms:${REGION}:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab`, TOPIC_ARN: 'arn:aws:sns:eu-west-1:111122223333:t', AWS_REGION: REGION };

  test('GIVEN the environment the construct writes WHEN read THEN keys, Region, account and flag are taken', () => {
    expect(readConfig({ ...env, RE_ENABLE: 'true' }, `arn:aws:lambda:${REGION}:111122223333:function:f`)).toEqual({
      keyArns: [env.KEY_ARNS], reEnable: true, topicArn: env.TOPIC_ARN, region: REGION, account: '111122223333',
    });
    expect(readConfig({ ...env, RE_ENABLE: 'false' }).reEnable).toBe(false);
  });

  test.each([
    [{ ...env, KEY_ARNS: '' }, 'KEY_ARNS must list at least one key ARN, got: nothing'],
    [{ ...env, KEY_ARNS: 'alias/cmek/k' }, 'KEY_ARNS must hold key ARNs (arn:<partition>:kms:<region>:<account>:key/<id>), got: "alias/cmek/k"'],
    [{ ...env, TOPIC_ARN: undefined }, 'TOPIC_ARN must be the ARN of the notification topic, got: nothing'],
  ])('GIVEN a bad environment WHEN read THEN one line names the variable', (bad, message) => {
    expect(() => readConfig(bad)).toThrow(message);
  });
});

const stateKms = installKeyStateKms();
const suite = stateKms.kms || KEY_STATE_KMS_REQUIRED ? describe : describe.skip;
if (!stateKms.kms) console.warn(`no key-state KMS, cancel-on-use tests ${KEY_STATE_KMS_REQUIRED ? 'fail' : 'skipped'}: ${stateKms.reason}`);

suite(`cancel deletion on use against ${stateKms.kms?.name ?? 'a key-state KMS'}`, () => {
  let emulator: Emulator;
  let kms: KMSClient;

  beforeAll(async () => {
    if (!stateKms.kms) throw new Error(`no key-state KMS could be installed: ${stateKms.reason}`);
    emulator = await stateKms.kms.start();
    kms = new KMSClient({ region: REGION, endpoint: emulator.endpoint, credentials: { accessKeyId: 'local', secretAccessKey: 'local' } });
  });
  afterAll(async () => emulator?.stop());

  /** A key scheduled for deletion, and the record of a real call failing on it. */
  async function keyPendingDeletion(): Promise<{ arn: string; record: string }> {
    const { KeyMetadata } = await kms.send(new CreateKeyCommand({}));
    await kms.send(new ScheduleKeyDeletionCommand({ KeyId: KeyMetadata!.KeyId, PendingWindowInDays: 30 }));
    let err: Error | undefined;
    try {
      await kms.send(new EncryptCommand({ KeyId: KeyMetadata!.Arn, Plaintext: Buffer.from('x') }));
    } catch (e) {
      err = e as Error;
    }
    expect(err?.name).toBe('KMSInvalidStateException');
    const record = trailRecord(KeyMetadata!.Arn!, err!);
    // The subscription filter delivers exactly what the pending-deletion metric filter counts.
    expect(new JsonFilterPattern(PENDING_DELETION_PATTERN).matches(record)).toBe(true);
    return { arn: KeyMetadata!.Arn!, record };
  }

  const stateOf = async (arn: string) => (await kms.send(new DescribeKeyCommand({ KeyId: arn }))).KeyMetadata!.KeyState;
  const config = (keyArns: string[], reEnable = false): CancelDeletionConfig => ({
    keyArns, reEnable, topicArn: 'arn:aws:sns:eu-west-1:000000000000:alerts', region: REGION, account: keyArns[0].split(':')[4],
  });

  test('GIVEN a monitored key pending deletion WHEN a use is delivered THEN its deletion is cancelled, it stays Disabled, and the notice says what happened', async () => {
    const { arn, record } = await keyPendingDeletion();
    const topic = topicRecorder();
    const summary = await cancelDeletionOnUse(delivery([record]), config([arn]), { kms, sns: topic.client });

    expect(await stateOf(arn)).toBe('Disabled');
    expect(summary.outcomes.map((o) => [o.keyArn, o.result])).toEqual([[arn, 'cancelled']]);
    expect(topic.published).toHaveLength(1);
    expect(topic.published[0].TopicArn).toBe('arn:aws:sns:eu-west-1:000000000000:alerts');
    expect(topic.published[0].Subject).toBe('KMS key deletion cancelled (key left Disabled)');
    expect(topic.published[0].Message).toContain(`KMS key ${arn} was scheduled for deletion and is still in use.`);
    expect(topic.published[0].Message).toContain('Triggering call: Encrypt by arn:aws:sts::000000000000:assumed-role/App/run at 2026-11-20T10:02:31Z');
    expect(topic.published[0].Message).toContain('Result: cancelled: deletion cancelled; the key is left Disabled');
  });

  test('GIVEN reEnable WHEN a use is delivered THEN the key is cancelled and Enabled again', async () => {
    const { arn, record } = await keyPendingDeletion();
    const topic = topicRecorder();
    const summary = await cancelDeletionOnUse(delivery([record]), config([arn], true), { kms, sns: topic.client });

    expect(await stateOf(arn)).toBe('Enabled');
    expect(summary.outcomes[0].result).toBe('re-enabled');
    expect(topic.published[0].Subject).toBe('KMS key deletion cancelled and key re-enabled');
  });

  test('GIVEN the same use delivered twice WHEN the second arrives THEN nothing is done and the notice says so', async () => {
    const { arn, record } = await keyPendingDeletion();
    await cancelDeletionOnUse(delivery([record]), config([arn]), { kms, sns: topicRecorder().client });
    const topic = topicRecorder();
    const second = await cancelDeletionOnUse(delivery([record]), config([arn]), { kms, sns: topic.client });

    expect(await stateOf(arn)).toBe('Disabled');
    expect(second.outcomes.map((o) => o.result)).toEqual(['skipped']);
    expect(topic.published[0].Subject).toBe('KMS key in use: deletion already cancelled');
    expect(topic.published[0].Message).toContain('the key is Disabled, not pending deletion: nothing to do');
  });

  test('GIVEN several uses of one key in a delivery THEN it is cancelled once and one notice counts them', async () => {
    const { arn, record } = await keyPendingDeletion();
    const topic = topicRecorder();
    const summary = await cancelDeletionOnUse(delivery([record, record, record]), config([arn]), { kms, sns: topic.client });

    expect(summary.outcomes).toHaveLength(1);
    expect(summary.outcomes[0].uses).toBe(3);
    expect(topic.published).toHaveLength(1);
    expect(topic.published[0].Message).toContain('3 failed call(s) in this delivery');
  });

  test('GIVEN uses of a key not monitored, and of a monitored key id in another Region or account THEN nothing is cancelled or published', async () => {
    const monitored = await keyPendingDeletion();
    const other = await keyPendingDeletion();
    const [, , , , account, resource] = monitored.arn.split(':');
    const elsewhere = [`arn:aws:kms:us-east-1:${account}:${resource}`, `arn:aws:kms:${REGION}:999999999999:${resource}`];
    const records = [other.record, ...elsewhere.map((arn) => trailRecord(arn, { name: 'KMSInvalidStateException', message: `${arn} is pending deletion.` }))];
    const topic = topicRecorder();
    const summary = await cancelDeletionOnUse(delivery(records), config([monitored.arn, ...elsewhere]), { kms, sns: topic.client });

    expect(await stateOf(other.arn)).toBe('PendingDeletion');
    expect(await stateOf(monitored.arn)).toBe('PendingDeletion');
    expect(summary.outcomes).toEqual([]);
    expect(topic.published).toEqual([]);
    expect(summary.ignored.map((i) => i.reason)).toEqual([
      'not one of the monitored keys',
      `key in Region us-east-1; this function acts only in ${REGION}`,
      `key of account 999999999999; this function acts only in account ${account}`,
    ]);
  });

  test('GIVEN a monitored key KMS does not know WHEN a use is delivered THEN the notice reports the failure and why', async () => {
    const { arn } = await keyPendingDeletion();
    const missing = arn.replace(/key\/.*/, 'key/00000000-0000-0000-0000-000000000000');
    const topic = topicRecorder();
    const summary = await cancelDeletionOnUse(
      delivery([trailRecord(missing, { name: 'KMSInvalidStateException', message: `${missing} is pending deletion.` })]),
      config([missing]),
      { kms, sns: topic.client },
    );

    expect(summary.outcomes.map((o) => o.result)).toEqual(['failed']);
    expect(topic.published[0].Subject).toBe('FAILED to cancel a KMS key deletion');
    expect(topic.published[0].Message).toMatch(/Result: failed: DescribeKey failed, the deletion is still pending: NotFoundException/);
  });

  test('GIVEN the bundled handler, run as Lambda loads it WHEN a use is delivered THEN it cancels over the wire and publishes the notice', async () => {
    const bundle = ensureLambdaBundle('src/monitoring/runtime/cancel-deletion.lambda.ts');
    const sns = await startSnsRecorder();
    try {
      const { arn, record } = await keyPendingDeletion();
      const account = arn.split(':')[4];
      const event = delivery([record]);
      const harness = `require(${JSON.stringify(bundle)}).handler(${JSON.stringify(event)}, { invokedFunctionArn: 'arn:aws:lambda:${REGION}:${account}:function:f' })` +
        ".then((r) => console.log('RESULT ' + JSON.stringify(r)), (e) => { console.error(e); process.exit(1); })";
      const run = await new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
        const child = spawn(process.execPath, ['-e', harness], {
          env: {
            PATH: process.env.PATH!,
            AWS_REGION: REGION,
            AWS_ACCESS_KEY_ID: 'local',
            AWS_SECRET_ACCESS_KEY: 'local',
            AWS_ENDPOINT_URL_KMS: emulator.endpoint,
            AWS_ENDPOINT_URL_SNS: sns.url,
            KEY_ARNS: arn,
            RE_ENABLE: 'true',
            TOPIC_ARN: `arn:aws:sns:${REGION}:${account}:alerts`,
          },
        });
        let stdout = '';
        let stderr = '';
        child.stdout.on('data', (d) => (stdout += d));
        child.stderr.on('data', (d) => (stderr += d));
        child.on('close', (code) => resolve({ code, stdout, stderr }));
      });
      expect(run.stderr).not.toMatch(/Error/);
      expect(run.code).toBe(0);
      const result = JSON.parse(run.stdout.split('\n').find((l) => l.startsWith('RESULT '))!.slice(7));
      expect(result.outcomes.map((o: { result: string }) => o.result)).toEqual(['re-enabled']);
      expect(await stateOf(arn)).toBe('Enabled');
      expect(sns.requests.map((r) => [r.get('Action'), r.get('TopicArn'), r.get('Subject')])).toEqual([
        ['Publish', `arn:aws:sns:${REGION}:${account}:alerts`, 'KMS key deletion cancelled and key re-enabled'],
      ]);
      expect(sns.requests[0].get('Message')).toContain(`KMS key ${arn} was scheduled for deletion and is still in use.`);
    } finally {
      await sns.close();
    }
  });

  /** A real ReEncrypt from an Enabled source key to a destination pending deletion, as CloudTrail records it. */
  async function reEncryptFailure(): Promise<{ source: string; destination: string; record: Record<string, unknown> }> {
    const source = (await kms.send(new CreateKeyCommand({}))).KeyMetadata!.Arn!;
    const destination = (await keyPendingDeletion()).arn;
    const { CiphertextBlob } = await kms.send(new EncryptCommand({ KeyId: source, Plaintext: Buffer.from('x') }));
    let err: Error | undefined;
    try {
      await kms.send(new ReEncryptCommand({ CiphertextBlob, SourceKeyId: source, DestinationKeyId: destination }));
    } catch (e) {
      err = e as Error;
    }
    expect(err?.name).toBe('KMSInvalidStateException');
    expect(err?.message).toBe(`${destination} is pending deletion.`);
    const record = JSON.parse(trailRecord(destination, err!, 'ReEncrypt'));
    // CloudTrail lists the source key first, then the destination.
    const accountId = source.split(':')[4];
    record.requestParameters = { sourceKeyId: source, destinationKeyId: destination };
    record.resources = [{ accountId, type: 'AWS::KMS::Key', ARN: source }, { accountId, type: 'AWS::KMS::Key', ARN: destination }];
    expect(new JsonFilterPattern(PENDING_DELETION_PATTERN).matches(JSON.stringify(record))).toBe(true);
    return { source, destination, record };
  }

  test.each([
    ['with the error message naming the destination', (r: Record<string, unknown>) => r],
    ['without an error message', (r: Record<string, unknown>) => ({ ...r, errorMessage: undefined })],
  ])('GIVEN a ReEncrypt that failed on its destination pending deletion, %s THEN the destination is cancelled and the Enabled source left alone', async (_, shape) => {
    const { source, destination, record } = await reEncryptFailure();
    const topic = topicRecorder();
    const summary = await cancelDeletionOnUse(delivery([JSON.stringify(shape(record))]), config([source, destination]), { kms, sns: topic.client });

    expect(await stateOf(destination)).toBe('Disabled');
    expect(await stateOf(source)).toBe('Enabled');
    expect(summary.outcomes.map((o) => [o.keyArn, o.result])).toEqual([[destination, 'cancelled']]);
    expect(topic.published.map((p) => p.Subject)).toEqual(['KMS key deletion cancelled (key left Disabled)']);
    expect(topic.published[0].Message).toContain(`KMS key ${destination} was scheduled for deletion`);
    expect(summary.ignored.map((i) => i.keyArn)).toEqual([source]);
  });

  test('GIVEN a ReEncrypt that failed on its monitored destination, from a source key not monitored THEN the destination is cancelled', async () => {
    const { source, destination, record } = await reEncryptFailure();
    const topic = topicRecorder();
    const summary = await cancelDeletionOnUse(delivery([JSON.stringify(record)]), config([destination]), { kms, sns: topic.client });

    expect(await stateOf(destination)).toBe('Disabled');
    expect(summary.outcomes.map((o) => [o.keyArn, o.result])).toEqual([[destination, 'cancelled']]);
    expect(summary.ignored).toEqual([{ keyArn: source, reason: 'not one of the monitored keys' }]);
  });

  test('GIVEN deliveries that are not CloudTrail records (null, an array, a number) THEN each is ignored and nothing is called', async () => {
    const topic = topicRecorder();
    const summary = await cancelDeletionOnUse(delivery(['null', '[]', '123']), config([`arn:aws:kms:${REGION}:000000000000:key/x`]), { kms, sns: topic.client });

    expect(summary).toEqual({ outcomes: [], ignored: Array(3).fill({ reason: 'not a CloudTrail record (not a JSON object)' }), notices: 0 });
  });

  test('GIVEN the control message CloudWatch Logs sends when the filter is created THEN nothing is done', async () => {
    const { arn, record } = await keyPendingDeletion();
    const topic = topicRecorder();
    const summary = await cancelDeletionOnUse(delivery([record], 'CONTROL_MESSAGE'), config([arn]), { kms, sns: topic.client });

    expect(summary).toEqual({ outcomes: [], ignored: [], notices: 0 });
    expect(await stateOf(arn)).toBe('PendingDeletion');
  });
});
