// Bad and edge inputs to the `cdk-cmek` binary and the envelope handler: each refused with its one exact line, exit
// code 2 (CLI) or a FAILED reason with nothing read or written (handler); alias prefixes normalised everywhere.
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { KMSClient } from '@aws-sdk/client-kms';
import { CreateBucketCommand, ListObjectVersionsCommand, S3Client } from '@aws-sdk/client-s3';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { SSMClient } from '@aws-sdk/client-ssm';
import { App, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import type { CloudFormationCustomResourceEvent } from 'aws-lambda';
import { mockClient } from 'aws-sdk-client-mock';
import { physicalId } from '../../src/envelope/contract';
import { handler, useClients } from '../../src/envelope/runtime/envelope.lambda';
import { CmekKeyFleet } from '../../src/fleet/cmek-key-fleet';
import { KeyUsageAuditor } from '../../src/monitoring/key-usage-auditor';
import { normalizeAliasPrefix } from '../../src/private/alias-prefix';
import { runCli } from '../cli/cli-support';
import { Emulator, LOCAL_AWS, startMoto } from '../support/moto';

jest.setTimeout(120_000);

const fx = fs.mkdtempSync(path.join(os.tmpdir(), 'cdk-cmek-bad-'));
const existing = path.join(fx, 'exists.txt');
const dir = path.join(fx, 'dir');
const dirLink = path.join(fx, 'dir-link');
fs.writeFileSync(existing, 'keep');
fs.mkdirSync(dir);
fs.symlinkSync(dir, dirLink);
const fifo = path.join(fx, 'fifo');
execFileSync('mkfifo', [fifo]);
afterAll(() => fs.rmSync(fx, { recursive: true, force: true }));

const D = ['decrypt', 's3://data-bucket/seed/config.json'];
const ARN_ALIAS = 'arn:aws:kms:eu-west-1:111122223333:alias/cmek';
const AUDIT_PREFIX_CHARS = 'must be an alias name prefix of letters, digits, /, _ and - (a literal prefix, no wildcards or ARNs), such as alias/cmek/';
const KEY_ID_ALLOWED = 'must be a key id, key ARN, alias name (alias/...) or alias ARN';
const RETIRE_ARN = 'arn:aws:kms:eu-west-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab';
const R = ['retire', 'alias/cmek/legacy'];

/** [what, arguments, the one stderr line]: every one exits 2 before any request could be made. */
const CLI_CASES: Array<[string, string[], string]> = [
  ['no command', [], 'cdk-cmek: a command is required: audit, decrypt or retire (see cdk-cmek --help)'],
  ['a misspelt command', ['decryp'], "cdk-cmek: unknown command 'decryp' (Did you mean decrypt?)"],
  ['an unknown option', ['audit', '--dayz', '3'], "cdk-cmek: unknown option '--dayz' (Did you mean --days?)"],
  ['an option without its value', ['audit', '--days'], "cdk-cmek: option '--days <n>' argument missing"],
  ['--days 0', ['audit', '--days', '0'], 'cdk-cmek audit: `--days` must be an integer ≥ 1, got: "0"'],
  ['--days 1.5', ['audit', '--days', '1.5'], 'cdk-cmek audit: `--days` must be an integer ≥ 1, got: "1.5"'],
  ['--days in exponent notation', ['audit', '--days', '1e3'], 'cdk-cmek audit: `--days` must be an integer ≥ 1, got: "1e3"'],
  ['--days in hex', ['audit', '--days', '0x10'], 'cdk-cmek audit: `--days` must be an integer ≥ 1, got: "0x10"'],
  ['--days negative', ['audit', '--days', '-5'], 'cdk-cmek audit: `--days` must be an integer ≥ 1, got: "-5"'],
  ['--days past 2^53', ['audit', '--days', '99999999999999999999'], 'cdk-cmek audit: `--days` must be an integer ≥ 1, got: "99999999999999999999"'],
  ['--alias-prefix with a wildcard', ['audit', '--alias-prefix', 'cmek/*'], `cdk-cmek audit: \`--alias-prefix\` ${AUDIT_PREFIX_CHARS}, got: "cmek/*"`],
  ['--alias-prefix as an alias ARN', ['audit', '--alias-prefix', ARN_ALIAS], `cdk-cmek audit: \`--alias-prefix\` ${AUDIT_PREFIX_CHARS}, got: "${ARN_ALIAS}"`],
  ['--alias-prefix with an empty segment', ['audit', '--alias-prefix', 'alias//cmek'], `cdk-cmek audit: \`--alias-prefix\` ${AUDIT_PREFIX_CHARS}, got: "alias//cmek"`],
  ['--alias-prefix empty', ['audit', '--alias-prefix', ''], 'cdk-cmek audit: `--alias-prefix` must be an alias name prefix such as alias/cmek/, got: ""'],
  ['--alias-prefix alias/aws/', ['audit', '--alias-prefix', 'aws/'], 'cdk-cmek audit: `--alias-prefix` must not select alias/aws/ (AWS managed keys, which the audit skips), got: "aws/"'],
  ['--region with spaces', ['audit', '--region', 'eu west 1'], 'cdk-cmek audit: `--region` must be a region name such as eu-west-1, got: "eu west 1"'],
  ['--endpoint-url not http', ['audit', '--endpoint-url', 'ftp://127.0.0.1'], 'cdk-cmek audit: `--endpoint-url` must be an http(s) URL, got: "ftp://127.0.0.1"'],
  ['decrypt without an object', ['decrypt'], "cdk-cmek: missing required argument 'object'"],
  ['decrypt of two objects', [...D, 's3://data-bucket/other'], "cdk-cmek: too many arguments for 'decrypt'. Expected 1 argument but got 2."],
  ['an https URL', ['decrypt', 'https://data-bucket.s3.amazonaws.com/k'], 'cdk-cmek decrypt: the object must be given as s3://bucket/key, got: "https://data-bucket.s3.amazonaws.com/k"'],
  ['no object key', ['decrypt', 's3://data-bucket/'], 'cdk-cmek decrypt: the object must be given as s3://bucket/key, got: "s3://data-bucket/"'],
  ['an invalid bucket name', ['decrypt', 's3://Data_Bucket/k'], 'cdk-cmek decrypt: the bucket name must be 3 to 63 lowercase letters, digits, single dots and hyphens (not an IP address), got: "Data_Bucket"'],
  ['a bucket with two dots in a row', ['decrypt', 's3://data..bucket/k'], 'cdk-cmek decrypt: the bucket name must be 3 to 63 lowercase letters, digits, single dots and hyphens (not an IP address), got: "data..bucket"'],
  ['a bucket that is an IP address', ['decrypt', 's3://192.168.1.1/k'], 'cdk-cmek decrypt: the bucket name must be 3 to 63 lowercase letters, digits, single dots and hyphens (not an IP address), got: "192.168.1.1"'],
  ['--out /dev/null', [...D, '--out', '/dev/null', '--force'], 'cdk-cmek decrypt: `--out` must be a regular file outside /dev and /proc, got: "/dev/null" (leave --out out, or pass --out -, for stdout)'],
  ['--out /dev/stdout', [...D, '--out', '/dev/stdout', '--force'], 'cdk-cmek decrypt: `--out` must be a regular file outside /dev and /proc, got: "/dev/stdout" (leave --out out, or pass --out -, for stdout)'],
  ['--out a FIFO', [...D, '--out', fifo, '--force'], `cdk-cmek decrypt: \`--out\` must be a regular file, got a device, FIFO or socket: ${JSON.stringify(fifo)} (leave --out out, or pass --out -, for stdout)`],
  ['--context without =', [...D, '--context', 'app'], 'cdk-cmek decrypt: `--context` must be key=value, got: "app"'],
  ['--context without a key', [...D, '--context', '=billing'], 'cdk-cmek decrypt: `--context` must be key=value, got: "=billing"'],
  ['--context with the reserved pair', [...D, '--context', 'aws:x-amz-cek-alg=115'], 'cdk-cmek decrypt: `--context` key "aws:x-amz-cek-alg" is reserved (aws: prefix, kms_cmk_id): give only the pairs the object was written with'],
  ['--context with a key twice', [...D, '--context', 'app=a', '--context', 'app=b'], 'cdk-cmek decrypt: `--context` key "app" is given twice'],
  ['--out a directory', [...D, '--out', dir], `cdk-cmek decrypt: \`--out\` must be a file path, got a directory: ${JSON.stringify(dir)}`],
  ['--out a link to a directory', [...D, '--out', dirLink, '--force'], `cdk-cmek decrypt: \`--out\` must be a file path, got a directory: ${JSON.stringify(dirLink)}`],
  ['--out ending in /', [...D, '--out', `${fx}/new/`], `cdk-cmek decrypt: \`--out\` must be a file path, got: ${JSON.stringify(`${fx}/new/`)}`],
  ['--out empty', [...D, '--out', ''], 'cdk-cmek decrypt: `--out` must be a file path, got: ""'],
  ['--out in a missing directory', [...D, '--out', `${fx}/missing/out.txt`], `cdk-cmek decrypt: \`--out\` must be in an existing directory, got: ${JSON.stringify(`${fx}/missing/out.txt`)} (${fx}/missing is not a directory)`],
  ['--out an existing file', [...D, '--out', existing], `cdk-cmek decrypt: \`--out\` ${JSON.stringify(existing)} exists already: pass --force to replace it`],
  ['--key-id that is no key', [...D, '--key-id', 'my key'], `cdk-cmek decrypt: \`--key-id\` ${KEY_ID_ALLOWED}, got: "my key"`],
  ['--key-id an alias without alias/', [...D, '--key-id', 'cmek/acme'], `cdk-cmek decrypt: \`--key-id\` ${KEY_ID_ALLOWED}, got: "cmek/acme"`],
  ['--version-id empty', [...D, '--version-id', ''], 'cdk-cmek decrypt: `--version-id` must not be empty, got: ""'],
  ['--endpoint-url without a scheme', [...D, '--endpoint-url', 'localhost:4566'], 'cdk-cmek decrypt: `--endpoint-url` must be an http(s) URL, got: "localhost:4566"'],
  ['retire without a key', ['retire'], "cdk-cmek: missing required argument 'key'"],
  ['retire of an unknown Region', [...R, '--region', 'moon-1'], 'cdk-cmek retire: `--region` must be a Region name such as eu-west-1, got: "moon-1"'],
  ['retire of a malformed key id', ['retire', '1234abcd-12ab'], `cdk-cmek retire: \`<key>\` ${KEY_ID_ALLOWED}, got: "1234abcd-12ab"`],
  ['retire of a malformed key ARN', ['retire', 'arn:aws:kms:eu-west-1:1234:key/x'], `cdk-cmek retire: \`<key>\` ${KEY_ID_ALLOWED}, got: "arn:aws:kms:eu-west-1:1234:key/x"`],
  ['retire of an alias without alias/', ['retire', 'cmek/legacy'], `cdk-cmek retire: \`<key>\` ${KEY_ID_ALLOWED}, got: "cmek/legacy"`],
  ['retire of an AWS managed alias', ['retire', 'alias/aws/ebs'], 'cdk-cmek retire: `<key>` must name a customer-managed key, not an AWS managed alias (alias/aws/...), got: "alias/aws/ebs"'],
  ['retire --region other than the ARN\'s', ['retire', RETIRE_ARN, '--region', 'us-east-1'], 'cdk-cmek retire: `--region` must match the Region of the key ARN (eu-west-1), got: "us-east-1"'],
  ['retire --disable --schedule', [...R, '--disable', '--schedule'], 'cdk-cmek retire: `--disable` and `--schedule` exclude each other: disable first, schedule after the soak, got both'],
  ['retire --soak-days 0', [...R, '--schedule', '--soak-days', '0'], 'cdk-cmek retire: `--soak-days` must be an integer from 1 to 3650, got: "0"'],
  ['retire --soak-days 7.5', [...R, '--schedule', '--soak-days', '7.5'], 'cdk-cmek retire: `--soak-days` must be an integer from 1 to 3650, got: "7.5"'],
  ['retire --soak-days 3651', [...R, '--soak-days', '3651'], 'cdk-cmek retire: `--soak-days` must be an integer from 1 to 3650, got: "3651"'],
  ['retire --soak-days with --disable', [...R, '--disable', '--soak-days', '30'], 'cdk-cmek retire: `--soak-days` applies to --schedule (or the dry run), not --disable, got: "30"'],
  ['retire --force in a dry run', [...R, '--force', 'vol-1'], 'cdk-cmek retire: `--force` overrides a refusal of --disable or --schedule, got it without either: --force vol-1'],
  ['retire --force with an empty name', [...R, '--disable', '--force', 'vol-1,'], 'cdk-cmek retire: `--force` must name dependents (resource ids or ARNs) or services, comma-separated without spaces, got: "vol-1,"'],
];

describe('cdk-cmek (bundled binary): usage errors', () => {
  // Credentials and an endpoint where nothing listens: a request made by mistake fails differently.
  const env = { AWS_ACCESS_KEY_ID: 'testing', AWS_SECRET_ACCESS_KEY: 'testing', AWS_REGION: 'eu-west-1', AWS_ENDPOINT_URL: 'http://127.0.0.1:9' };

  test.each(CLI_CASES)('GIVEN %s WHEN run THEN exit 2 and one line', async (_what, args, line) => {
    const r = await runCli(args, env);
    expect(r.stderr).toBe(`${line}\n`);
    expect(r.stdout).toHaveLength(0);
    expect(r.code).toBe(2);
    expect(fs.readFileSync(existing, 'utf8')).toBe('keep');
    expect(fs.readdirSync(fx).sort()).toEqual(['dir', 'dir-link', 'exists.txt', 'fifo']);
  });

  test.each([
    ['audit', 'every audited key was used within --days', 'some customer-managed key is unused for more than --days', 'bad arguments, no credentials, or any account or Region'],
    ['decrypt', 'done', 'refused: the object failed verification', 'usage or access error'],
    ['retire', 'done, or nothing to do', 'refused because of findings: dependents, unreadable lookups, use after the disable', 'usage or access error (bad arguments, a key in the wrong state'],
  ])(
    'GIVEN %s --help WHEN run THEN exit 0 and the exit codes are documented',
    async (command, ok, findings, error) => {
      const r = await runCli([command, '--help'], env);
      expect(r.code).toBe(0);
      expect(r.stdout.toString()).toContain(`Exit codes:\n  0  ${ok}`);
      expect(r.stdout.toString()).toContain(`\n  1  ${findings}`);
      expect(r.stdout.toString()).toContain(`\n  2  ${error}`);
    },
  );
});

// ---------------------------------------------------------------------------------------------------------------
// The handler

const KEY_ARN = 'arn:aws:kms:eu-west-1:111111111111:key/11111111-1111-1111-1111-111111111111';
const GOOD = {
  Bucket: 'data-bucket',
  ObjectKey: 'seed/config.json',
  KeyArn: KEY_ARN,
  Format: 'V3',
  EncryptionContext: { app: 'billing' },
  Source: { type: 'inline', text: 'hello' },
};

function event(type: 'Create' | 'Update' | 'Delete', props: unknown, extra: Record<string, unknown> = {}): CloudFormationCustomResourceEvent {
  return {
    RequestType: type,
    ServiceToken: 'arn:aws:lambda:eu-west-1:111111111111:function:f',
    ResponseURL: 'https://example.com',
    StackId: 'arn:aws:cloudformation:eu-west-1:111111111111:stack/s/1',
    RequestId: 'req-1',
    LogicalResourceId: 'Seed',
    ResourceType: 'Custom::CmekEnvelopeObject',
    ResourceProperties: props,
    ...extra,
  } as unknown as CloudFormationCustomResourceEvent;
}

const ONE_OF_SOURCES = 'asset, secret, ssm, inline, random';
const BUCKET_RULE = 'must be an S3 bucket name (3 to 63 lowercase letters, digits, single dots and hyphens, not an IP address)';
const KEY_RULE = 'must be 1 to 700 bytes of UTF-8, not starting with / and without control characters';
const bigContext = Object.fromEntries(Array.from({ length: 8 }, (_, i) => [`k${i}`.padEnd(100, 'k'), 'v'.repeat(200)]));

/** [what, properties, the FAILED reason]. */
const HANDLER_CASES: Array<[string, unknown, string | RegExp]> = [
  ['no properties', null, '`ResourceProperties` must be an object, got: null'],
  ['Format in lowercase', { ...GOOD, Format: 'v3' }, '`Format` must be exactly "V3" or "V2", got: "v3"'],
  ['Format V1', { ...GOOD, Format: 'V1' }, '`Format` must be exactly "V3" or "V2", got: "V1"'],
  ['Format with a space', { ...GOOD, Format: 'V3 ' }, '`Format` must be exactly "V3" or "V2", got: "V3 "'],
  ['no Format', { ...GOOD, Format: undefined }, '`Format` must be exactly "V3" or "V2", got: nothing'],
  ['Format as a number', { ...GOOD, Format: 3 }, '`Format` must be exactly "V3" or "V2", got: 3'],
  ['no Bucket', { ...GOOD, Bucket: undefined }, `\`Bucket\` ${BUCKET_RULE}, got: nothing`],
  ['an empty Bucket', { ...GOOD, Bucket: '' }, `\`Bucket\` ${BUCKET_RULE}, got: ""`],
  ['a Bucket with capitals', { ...GOOD, Bucket: 'Data_Bucket' }, `\`Bucket\` ${BUCKET_RULE}, got: "Data_Bucket"`],
  ['a Bucket list', { ...GOOD, Bucket: ['data-bucket'] }, `\`Bucket\` ${BUCKET_RULE}, got: ["data-bucket"]`],
  ['an empty ObjectKey', { ...GOOD, ObjectKey: '' }, `\`ObjectKey\` ${KEY_RULE}, got: ""`],
  ['an absolute ObjectKey', { ...GOOD, ObjectKey: '/etc/passwd' }, `\`ObjectKey\` ${KEY_RULE}, got: "/etc/passwd"`],
  ['a newline in ObjectKey', { ...GOOD, ObjectKey: 'a\nb' }, `\`ObjectKey\` ${KEY_RULE}, got: "a\\nb"`],
  ['half a surrogate pair in ObjectKey', { ...GOOD, ObjectKey: 'a\ud800' }, `\`ObjectKey\` ${KEY_RULE}, got: "a\\ud800"`],
  ['a 701-byte ObjectKey', { ...GOOD, ObjectKey: 'x'.repeat(701) }, `\`ObjectKey\` ${KEY_RULE}, got: "${'x'.repeat(119)}…`],
  ['a 351-character ObjectKey of 2-byte letters', { ...GOOD, ObjectKey: 'é'.repeat(351) }, `\`ObjectKey\` ${KEY_RULE}, got: "${'é'.repeat(119)}…`],
  ['an AWS managed key as KeyArn', { ...GOOD, KeyArn: 'alias/aws/s3' }, '`KeyArn` must be a customer-managed key, not an AWS managed alias/aws/ key, got: "alias/aws/s3"'],
  ['an S3 ARN as KeyArn', { ...GOOD, KeyArn: 'arn:aws:s3:::data-bucket' }, '`KeyArn` must be a KMS key ARN, key id, alias name or alias ARN, got: "arn:aws:s3:::data-bucket"'],
  ['an empty KeyArn', { ...GOOD, KeyArn: '' }, '`KeyArn` must be a KMS key ARN, key id, alias name or alias ARN, got: ""'],
  ['EncryptionContext as text', { ...GOOD, EncryptionContext: 'app=billing' }, '`EncryptionContext` must be an object of string pairs, got: "app=billing"'],
  ['EncryptionContext as a list', { ...GOOD, EncryptionContext: ['app'] }, '`EncryptionContext` must be an object of string pairs, got: ["app"]'],
  ['a reserved aws: key', { ...GOOD, EncryptionContext: { 'aws:x-amz-cek-alg': 'AES/GCM/NoPadding' } }, '`EncryptionContext` key "aws:x-amz-cek-alg" is reserved (aws: prefix, kms_cmk_id): choose another key'],
  ['a reserved AWS: key in capitals', { ...GOOD, EncryptionContext: { 'AWS:tenant': 'a' } }, '`EncryptionContext` key "AWS:tenant" is reserved (aws: prefix, kms_cmk_id): choose another key'],
  ['the kms_cmk_id key', { ...GOOD, EncryptionContext: { kms_cmk_id: KEY_ARN } }, '`EncryptionContext` key "kms_cmk_id" is reserved (aws: prefix, kms_cmk_id): choose another key'],
  ['a number as a context value', { ...GOOD, EncryptionContext: { app: 5 } }, '`EncryptionContext.app` must be a string of 1 to 256 printable ASCII characters, got: 5'],
  ['an empty context value', { ...GOOD, EncryptionContext: { app: '' } }, '`EncryptionContext.app` must be a string of 1 to 256 printable ASCII characters, got: ""'],
  ['a non-ASCII context key', { ...GOOD, EncryptionContext: { régie: 'a' } }, '`EncryptionContext` keys must be 1 to 128 printable ASCII characters, got: "régie"'],
  ['a context over the metadata limit', { ...GOOD, EncryptionContext: bigContext }, /^`EncryptionContext` makes the object metadata up to \d{4} bytes, over S3's 2048-byte user-metadata limit: use fewer or shorter pairs$/],
  ['no Source', { ...GOOD, Source: undefined }, `\`Source\` must be an object with a \`type\` (${ONE_OF_SOURCES}), got: nothing`],
  ['a Source as text', { ...GOOD, Source: 'hello' }, `\`Source\` must be an object with a \`type\` (${ONE_OF_SOURCES}), got: "hello"`],
  ['an unknown Source type', { ...GOOD, Source: { type: 'file', path: '/etc/passwd' } }, `\`Source.type\` must be one of ${ONE_OF_SOURCES}, got: "file"`],
  ['a secret without an id', { ...GOOD, Source: { type: 'secret' } }, '`Source.id` must be a secret name or ARN, got: nothing'],
  ['a secret with an empty field', { ...GOOD, Source: { type: 'secret', id: 'db', field: '' } }, '`Source.field` must be a non-empty JSON field name, got: ""'],
  ['an SSM name with spaces', { ...GOOD, Source: { type: 'ssm', id: 'db password' } }, '`Source.id` must be an SSM parameter name (letters, digits, _ . - /), got: "db password"'],
  ['an asset without a key', { ...GOOD, Source: { type: 'asset', bucket: 'cdk-assets' } }, '`Source.key` must be an S3 object key of 1 to 1024 bytes, got: nothing'],
  ['an asset in an invalid bucket', { ...GOOD, Source: { type: 'asset', bucket: 'a', key: 'k' } }, `\`Source.bucket\` ${BUCKET_RULE}, got: "a"`],
  ['inline text as a number', { ...GOOD, Source: { type: 'inline', text: 5 } }, '`Source.text` must be a string of well-formed text, got: 5'],
  ['0 random bytes', { ...GOOD, Source: { type: 'random', length: '0' } }, '`Source.length` must be a whole number of bytes from 1 to 65536, got: "0"'],
  ['65537 random bytes', { ...GOOD, Source: { type: 'random', length: '65537' } }, '`Source.length` must be a whole number of bytes from 1 to 65536, got: "65537"'],
  ['random bytes as a fraction', { ...GOOD, Source: { type: 'random', length: '32.5' } }, '`Source.length` must be a whole number of bytes from 1 to 65536, got: "32.5"'],
  ['a ContentType with a header injected', { ...GOOD, ContentType: 'text/plain\r\nx-amz-meta-x: 1' }, '`ContentType` must be a media type of 1 to 256 printable ASCII characters, got: "text/plain\\r\\nx-amz-meta-x: 1"'],
  ['Retain as yes', { ...GOOD, Retain: 'yes' }, '`Retain` must be exactly "true" or "false", got: "yes"'],
];

describe('envelope handler: malformed properties (mocked clients)', () => {
  // Made here, not at collection: the mocks patch the client classes themselves, and the moto cases need the real ones.
  let mocks: Array<ReturnType<typeof mockClient>> = [];
  const calls = () => mocks.reduce((n, m) => n + m.calls().length, 0);

  beforeAll(() => {
    process.env.AWS_REGION = 'eu-west-1';
    jest.spyOn(console, 'log').mockImplementation(() => undefined);
    const clients = [KMSClient, S3Client, SecretsManagerClient, SSMClient] as Array<Parameters<typeof mockClient>[0]>;
    mocks = clients.map((c) => mockClient(c)) as Array<ReturnType<typeof mockClient>>;
  });
  beforeEach(() => {
    mocks.forEach((m) => m.reset());
    useClients({});
  });
  afterAll(() => mocks.forEach((m) => m.restore()));

  test.each(HANDLER_CASES)('GIVEN %s WHEN Create THEN FAILED with one line and no call at all', async (_what, props, reason) => {
    const err = (await handler(event('Create', props)).catch((e: Error) => e)) as Error;
    expect(err).toBeInstanceOf(Error);
    if (typeof reason === 'string') expect(err.message).toBe(reason);
    else expect(err.message).toMatch(reason);
    expect(err.stack).toBe(err.message);
    expect(err.message).not.toContain('\n');
    expect(calls()).toBe(0);
  });

  test('GIVEN an Update to malformed properties WHEN handled THEN FAILED before any call', async () => {
    const id = physicalId({ bucket: 'data-bucket', key: 'seed/config.json', versionId: 'v1', etag: '"e"', sha256: 'a'.repeat(64), marker: 'm' });
    const err = (await handler(event('Update', { ...GOOD, Format: 'V4' }, { OldResourceProperties: GOOD, PhysicalResourceId: id })).catch((e: Error) => e)) as Error;
    expect(err.message).toBe('`Format` must be exactly "V3" or "V2", got: "V4"');
    expect(calls()).toBe(0);
  });

  test.each([
    ['malformed properties', { ...GOOD, Format: 'bogus', Bucket: '' }],
    ['no properties at all', undefined],
  ])('GIVEN a Delete with %s after a failed Create WHEN handled THEN it succeeds without a call (a rollback never sticks)', async (_what, props) => {
    const failedId = 'AWSCDK::CustomResourceProviderFramework::CREATE_FAILED';
    await expect(handler(event('Delete', props, { PhysicalResourceId: failedId }))).resolves.toEqual({ PhysicalResourceId: failedId });
    expect(calls()).toBe(0);
  });
});

describe('envelope handler: malformed properties (moto)', () => {
  let moto: Emulator;
  let s3: S3Client;
  let kms: KMSClient;
  const sent: string[] = [];

  beforeAll(async () => {
    moto = await startMoto();
    s3 = new S3Client({ ...LOCAL_AWS, endpoint: moto.endpoint, forcePathStyle: true });
    kms = new KMSClient({ ...LOCAL_AWS, endpoint: moto.endpoint });
    for (const stack of [s3.middlewareStack, kms.middlewareStack] as Array<{ add: (m: unknown, o: unknown) => void }>) {
      stack.add((next: (a: unknown) => unknown, context: { commandName?: string }) => (args: unknown) => {
        sent.push(String(context.commandName));
        return next(args);
      }, { step: 'initialize' });
    }
    await s3.send(new CreateBucketCommand({ Bucket: 'data-bucket', CreateBucketConfiguration: { LocationConstraint: 'eu-west-1' } }));
    jest.spyOn(console, 'log').mockImplementation(() => undefined);
  });
  afterAll(() => moto?.stop());

  test.each([
    ['Format "v3"', { ...GOOD, Format: 'v3' }, '`Format` must be exactly "V3" or "V2", got: "v3"'],
    ['an aws: context key', { ...GOOD, EncryptionContext: { 'aws:app': 'x' } }, '`EncryptionContext` key "aws:app" is reserved (aws: prefix, kms_cmk_id): choose another key'],
    ['a random source of 1 MiB', { ...GOOD, Source: { type: 'random', length: '1048576' } }, '`Source.length` must be a whole number of bytes from 1 to 65536, got: "1048576"'],
  ])('GIVEN %s WHEN Create runs on moto THEN FAILED, no request sent and the bucket still empty', async (_what, props, reason) => {
    useClients({ s3, kms });
    sent.length = 0;
    await expect(handler(event('Create', props))).rejects.toThrow(reason);
    expect(sent).toEqual([]);
    const versions = await s3.send(new ListObjectVersionsCommand({ Bucket: 'data-bucket' }));
    expect(versions.Versions ?? []).toEqual([]);
    // The counter counts: the listing above went through it.
    expect(sent).toEqual(['ListObjectVersionsCommand']);
  });
});

// ---------------------------------------------------------------------------------------------------------------
// Alias prefixes: normalised or refused in the same words wherever one is given.

describe('alias prefixes', () => {
  test.each([
    ['cmek/', 'alias/cmek/'],
    ['alias/cmek/', 'alias/cmek/'],
    ['alias', 'alias/'],
    ['alias/', 'alias/'],
    ['cmek', 'alias/cmek'],
  ])('GIVEN %j WHEN normalised THEN %j', (given, expected) => {
    expect(normalizeAliasPrefix(given)).toBe(expected);
  });

  const auditorEnv = (props: ConstructorParameters<typeof KeyUsageAuditor>[2]) => {
    const stack = new Stack(new App(), 'S', { env: { account: '111122223333', region: 'eu-west-1' } });
    new KeyUsageAuditor(stack, 'Auditor', props);
    const fns = Template.fromStack(stack).findResources('AWS::Lambda::Function');
    return Object.values(fns)[0].Properties.Environment.Variables;
  };

  test('GIVEN KeyUsageAuditor aliasPrefix "cmek/" WHEN synthesized THEN the function audits alias/cmek/', () => {
    expect(auditorEnv({ aliasPrefix: 'cmek/' }).ALIAS_PREFIX).toBe('alias/cmek/');
  });

  test.each([
    ['', '`aliasPrefix` must be an alias name prefix such as alias/cmek/, got: ""'],
    ['alias/cmek/*', `\`aliasPrefix\` ${AUDIT_PREFIX_CHARS}, got: "alias/cmek/*"`],
    ['alias/aws/', '`aliasPrefix` must not select alias/aws/ (AWS managed keys, which the audit skips), got: "alias/aws/"'],
  ])('GIVEN KeyUsageAuditor aliasPrefix %j WHEN synthesized THEN refused with one line', (aliasPrefix, line) => {
    expect(() => auditorEnv({ aliasPrefix })).toThrow(line);
  });

  test('GIVEN a fleet aliasPattern without alias/ WHEN it has an auditor THEN the pattern and the auditor prefix gain alias/', () => {
    const stack = new Stack(new App(), 'F', { env: { account: '111122223333', region: 'eu-west-1' } });
    const fleet = new CmekKeyFleet(stack, 'Fleet', { aliasPattern: 'vendors/{tenant}', shardCount: 1, usageAuditor: {}, tenants: [{ id: 'acme' }] });
    expect(fleet.aliasPattern).toBe('alias/vendors/{tenant}');
    expect(fleet.keyFor('acme').aliasName).toBe('alias/vendors/acme');
    const fns = Template.fromStack(stack).findResources('AWS::Lambda::Function');
    const env = Object.values(fns).map((f: any) => f.Properties.Environment?.Variables).find((v) => v?.THRESHOLD_DAYS);
    expect(env.ALIAS_PREFIX).toBe('alias/vendors/');
  });
});
