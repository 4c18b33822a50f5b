// What the retire key facts read from fake KMS, CloudTrail and Lambda clients: the disable time (strict tag, the later
// of tag and CloudTrail), CloudTrail that cannot answer, the page cap, the key policy, and every Lambda version.
import type { CloudTrailClient } from '@aws-sdk/client-cloudtrail';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { KMSClient } from '@aws-sdk/client-kms';
import { LambdaClient } from '@aws-sdk/client-lambda';
import { DISABLED_KEY } from './retire-support';
import { retireCommand } from '../../src/cli/retire';
import { findDependents, type DependentClients } from '../../src/monitoring/runtime/retire/dependents';
import { parseDisabledAtTag, readKeyPolicy, readSoak } from '../../src/monitoring/runtime/retire/key-facts';
import { plan, type RetireKey } from '../../src/monitoring/runtime/retire/plan';

const KEY: RetireKey = DISABLED_KEY;
const NOW = Date.parse('2026-12-01T12:00:00Z');

type Handler = (op: string, input: Record<string, any>) => unknown;
/** A client whose `send` answers by command name; a thrown error is the service's error. */
function fake<T>(handler: Handler): T {
  return { send: async (cmd: { constructor: { name: string }; input: Record<string, any> }) => handler(cmd.constructor.name.replace(/Command$/, ''), cmd.input) } as unknown as T;
}
const awsError = (name: string, message: string) => Object.assign(new Error(message), { name });
const kmsWithTag = (value?: string) => fake<KMSClient>((op) => {
  if (op === 'ListResourceTags') return { Tags: value === undefined ? [] : [{ TagKey: 'cdk-cmek:disabled-at', TagValue: value }] };
  throw new Error(`unexpected ${op}`);
});
const event = (name: string, at: string, extra: Record<string, unknown> = {}) =>
  ({ EventName: name, EventTime: new Date(at), Resources: [{ ResourceName: KEY.keyArn }], CloudTrailEvent: JSON.stringify(extra) });
/** CloudTrail answering LookupEvents by attribute: DisableKey events, and the key's events. */
const trailOf = (disables: unknown[], keyEvents: unknown[]) => fake<CloudTrailClient>((op, input) => {
  if (op !== 'LookupEvents') throw new Error(`unexpected ${op}`);
  return { Events: input.LookupAttributes[0].AttributeKey === 'EventName' ? disables : keyEvents };
});
const lastUse = { trackingStartedAt: '2026-04-23T00:00:00.000Z' };
const verdict = (soak: Awaited<ReturnType<typeof readSoak>>, force: string[] = []) =>
  plan({ key: KEY, lastUse, lookups: [], grants: [], soak }, { action: 'schedule', force, soakDays: 30, now: NOW });

describe('retire key facts', () => {
  test.each(['AccessDeniedException', 'ThrottlingException'])(
    'GIVEN a tagged key disabled 61 days ago WHEN LookupEvents fails with %s THEN --schedule is refused until --force cloudtrail', async (name) => {
      const trail = fake<CloudTrailClient>(() => { throw awsError(name, 'no'); });
      const soak = await readSoak(kmsWithTag('2026-10-01T00:00:00Z'), trail, KEY);
      expect(soak).toMatchObject({ disabledAt: '2026-10-01T00:00:00.000Z', source: 'tag' });
      const refused = verdict(soak);
      expect(refused.outcome).toBe('refused');
      expect(refused.blockers.map((b) => b.remedy)).toEqual(['allow cloudtrail:LookupEvents and rerun, or pass --force cloudtrail']);
      expect(refused.blockers[0].reason).toContain(`CloudTrail did not answer (${name}: no`);
      expect(verdict(soak, ['cloudtrail'])).toMatchObject({ outcome: 'proceed', overridden: ['unchecked CloudTrail use attempts'] });
    });

  test('GIVEN 20 full pages of DescribeKey events and more WHEN the soak is read THEN the rest is unknown and --schedule is refused', async () => {
    const pages: number[] = [];
    const trail = fake<CloudTrailClient>((_op, input) => {
      if (input.LookupAttributes[0].AttributeKey === 'EventName') return { Events: [] };
      const n = Number(input.NextToken ?? 0);
      pages.push(n);
      expect(input.LookupAttributes[0].AttributeValue).toBe(KEY.keyArn);
      expect(input.StartTime).toEqual(new Date('2026-10-01T00:00:00Z'));
      if (n < 20) return { Events: Array.from({ length: 50 }, () => event('DescribeKey', '2026-11-30T00:00:00Z')), NextToken: String(n + 1) };
      return { Events: [event('Decrypt', '2026-10-02T00:00:00Z', { errorCode: 'DisabledException' })] };
    });
    const soak = await readSoak(kmsWithTag('2026-10-01T00:00:00Z'), trail, KEY);
    expect(pages).toHaveLength(20);
    expect(soak.cloudTrailUnreadable).toBe('more than 1000 CloudTrail events on the key since the disable; older ones were not read');
    expect(verdict(soak).outcome).toBe('refused');
  });

  test.each(['1', '0', 'x 1', 'Tuesday 5', '2026', '2026-10-01', '2026-10-01T00:00:00', '2026-10-01T00:00:00+02:00', '2026-02-30T00:00:00Z'])(
    'GIVEN the tag %j WHEN parsed THEN it is no date', (value) => {
      expect(parseDisabledAtTag(value)).toBeUndefined();
    });

  test.each([['2026-10-01T00:00:00Z', '2026-10-01T00:00:00.000Z'], ['2026-10-01T08:30:00.123Z', '2026-10-01T08:30:00.123Z']])(
    'GIVEN the tag %j WHEN parsed THEN %s', (value, iso) => {
      expect(parseDisabledAtTag(value)).toBe(iso);
    });

  test('GIVEN a loose tag and no DisableKey event WHEN the soak is read THEN the disable time is unknown, and the report says why', async () => {
    const soak = await readSoak(kmsWithTag('Tuesday 5'), trailOf([], []), KEY);
    expect(soak.disabledAt).toBeUndefined();
    expect(soak.note).toContain('tag cdk-cmek:disabled-at must be an ISO-8601 UTC time (YYYY-MM-DDTHH:MM:SSZ), got: "Tuesday 5"; ignored');
    expect(verdict(soak).outcome).toBe('refused');
  });

  test('GIVEN an old tag and a DisableKey yesterday WHEN the soak is read THEN the later one counts and the soak is not over', async () => {
    const disables = [event('DisableKey', '2026-11-30T10:00:00Z', { requestParameters: { keyId: KEY.keyId } }), event('DisableKey', '2026-11-30T11:00:00Z', { errorCode: 'AccessDenied' })];
    const soak = await readSoak(kmsWithTag('2026-09-01T00:00:00Z'), trailOf(disables, []), KEY);
    expect(soak).toMatchObject({ disabledAt: '2026-11-30T10:00:00.000Z', source: 'cloudtrail' });
    expect(verdict(soak).blockers[0].reason).toMatch(/^the soak is not over: disabled 1 of 30 days/);
    const older = await readSoak(kmsWithTag('2026-11-30T12:00:00Z'), trailOf(disables, []), KEY);
    expect(older).toMatchObject({ disabledAt: '2026-11-30T12:00:00.000Z', source: 'tag' });
  });

  test('GIVEN a key policy WHEN read THEN other accounts are findings; unreadable is unknown', async () => {
    const policy = {
      Statement: [
        { Sid: 'Own', Effect: 'Allow', Principal: { AWS: 'arn:aws:iam::111122223333:root' }, Action: 'kms:*' },
        { Sid: 'Partner', Effect: 'Allow', Principal: { AWS: ['arn:aws:iam::444455556666:role/app', '777788889999'] }, Action: 'kms:Decrypt' },
        { Sid: 'Deny', Effect: 'Deny', Principal: { AWS: 'arn:aws:iam::999999999999:root' }, Action: 'kms:*' },
        { Sid: 'Ebs', Effect: 'Allow', Principal: { AWS: '*' }, Action: 'kms:Decrypt', Condition: { StringEquals: { 'kms:CallerAccount': '111122223333' } } },
        { Effect: 'Allow', Principal: '*', Action: 'kms:Decrypt', Condition: { StringEquals: { 'aws:PrincipalOrgID': 'o-1' } } },
      ],
    };
    const kms = fake<KMSClient>((op) => ({ Policy: JSON.stringify(policy), op }));
    const kp = await readKeyPolicy(kms, KEY);
    expect(kp).toEqual({
      outside: [
        expect.objectContaining({ name: '444455556666', qualified: 'account:444455556666', reason: 'the key policy lets account 444455556666 use the key (statement Partner: arn:aws:iam::444455556666:role/app)' }),
        expect.objectContaining({ name: '777788889999' }),
        expect.objectContaining({ name: 'statement-5', reason: 'the key policy lets any principal under its conditions, in any account, use the key (statement statement-5)' }),
      ],
    });
    const denied = await readKeyPolicy(fake<KMSClient>(() => { throw awsError('AccessDeniedException', 'no'); }), KEY);
    expect(denied).toEqual({ unknown: 'GetKeyPolicy failed: AccessDeniedException: no' });
  });

  test('GIVEN published Lambda versions WHEN dependents are looked up THEN every version is listed', async () => {
    const lambda = new LambdaClient({ region: 'eu-west-1', credentials: { accessKeyId: 'a', secretAccessKey: 'b' } });
    const inputs: unknown[] = [];
    jest.spyOn(lambda, 'send').mockImplementation(async (cmd: any) => {
      inputs.push(cmd.input);
      return cmd.input.FunctionVersion === 'ALL'
        ? { Functions: [{ FunctionName: 'app', Version: '$LATEST' }, { FunctionName: 'app', Version: '3', KMSKeyArn: KEY.keyArn }] }
        : { Functions: [{ FunctionName: 'app', Version: '$LATEST' }] };
    });
    const failing = fake<never>(() => { throw awsError('AccessDeniedException', 'no'); });
    const services = ['ec2', 'rds', 's3', 'secrets', 'dynamodb', 'sqs', 'sns', 'cloudtrail', 'logs'];
    const clients = { ...Object.fromEntries(services.map((n) => [n, failing])), lambda } as DependentClients;
    const lookups = await findDependents(clients, KEY);
    expect(inputs).toEqual([expect.objectContaining({ FunctionVersion: 'ALL' })]);
    expect(lookups.find((l) => l.service === 'lambda')?.dependents).toEqual([{ service: 'lambda', type: 'Lambda function', id: 'app:3', recordedKey: KEY.keyArn }]);
  });

  test('GIVEN a table named lambda and an unreadable Lambda lookup WHEN retire --disable --force lambda THEN one line asks for the qualified name, exit 2', async () => {
    const sent: string[] = [];
    const kms = fake<KMSClient>((op) => {
      sent.push(op);
      if (op === 'DescribeKey') return { KeyMetadata: { KeyId: KEY.keyId, Arn: KEY.keyArn, KeyState: 'Enabled', KeyManager: 'CUSTOMER' } };
      if (op === 'ListAliases' || op === 'ListGrants') return {};
      if (op === 'GetKeyLastUsage') return {};
      if (op === 'GetKeyPolicy') return { Policy: '{"Statement":[]}' };
      throw new Error(`unexpected ${op}`);
    });
    const dynamodb = new DynamoDBClient({ region: 'eu-west-1', credentials: { accessKeyId: 'a', secretAccessKey: 'b' } });
    jest.spyOn(dynamodb, 'send').mockImplementation(async (cmd: any) =>
      (cmd.input.TableName ? { Table: { SSEDescription: { KMSMasterKeyArn: KEY.keyArn } } } : { TableNames: ['lambda'] }));
    const none = fake<never>(() => ({}));
    const failing = fake<never>(() => { throw awsError('AccessDeniedException', 'no'); });
    const dependents = {
      ec2: none, rds: none, s3: none, secrets: none, dynamodb, sqs: none, sns: none, lambda: failing, cloudtrail: none, logs: none,
    } as DependentClients;
    const out: string[] = [];
    const err: string[] = [];
    const io = { stdout: { write: (t: string) => out.push(t) }, stderr: { write: (t: string) => err.push(t) }, now: () => NOW };
    const code = await retireCommand(KEY.keyArn, { disable: true, force: ['lambda'] }, io, { kms, cloudtrail: none, dependents });
    expect(err.join('')).toBe('cdk-cmek retire: `--force` names must each name one finding, got: lambda (dynamodb:lambda or service:lambda): pass the qualified name\n');
    expect(code).toBe(2);
    expect(sent).not.toContain('DisableKey');
  });
});
