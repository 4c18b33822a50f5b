// CmekKey: props, defaults, validation and cross-stack behaviour, asserted on the synthesized template.
import { Aws, Duration, Lazy, RemovalPolicies, RemovalPolicy, Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import { CmekAction, CmekGrantee, CmekKey, CmekKeyProps } from '../../src';
import { deployedJsonBytes, surelyWithinKeyPolicyLimit } from '../../src/key/policy-size';
import { resolveCfn } from '../support/cfn';
import { nagApp } from '../support/nag';

const VENDOR = '111122223333';
const ALL_ACTIONS = ['kms:Encrypt', 'kms:Decrypt', 'kms:ReEncrypt*', 'kms:GenerateDataKey*', 'kms:DescribeKey'];

function stackWith(props: CmekKeyProps): { stack: Stack; key: CmekKey; template: Template } {
  const app = nagApp();
  const stack = new Stack(app, 'Platform', { env: { account: '999999999999', region: 'eu-west-1' } });
  const key = new CmekKey(stack, 'VendorKey', props);
  return { stack, key, template: Template.fromStack(stack) };
}

function statements(template: Template): any[] {
  const keys = template.findResources('AWS::KMS::Key');
  const [only] = Object.values(keys);
  return only.Properties.KeyPolicy.Statement;
}

function statement(template: Template, sid: string): any {
  const found = statements(template).find((s) => s.Sid === sid);
  if (!found) throw new Error(`no statement ${sid}; have ${statements(template).map((s) => s.Sid).join(', ')}`);
  return found;
}

describe('CmekKey', () => {
  test('GIVEN only an alias WHEN synthesized THEN the key is symmetric with rotation every 365 days, a 30-day window and RETAIN', () => {
    const { template } = stackWith({ alias: 'cmek/vendor' });
    template.hasResource('AWS::KMS::Key', {
      Properties: {
        KeySpec: 'SYMMETRIC_DEFAULT',
        KeyUsage: 'ENCRYPT_DECRYPT',
        EnableKeyRotation: true,
        RotationPeriodInDays: 365,
        PendingWindowInDays: 30,
        Description: 'Customer-managed key alias/cmek/vendor',
      },
      DeletionPolicy: 'Retain',
      UpdateReplacePolicy: 'Retain',
    });
    template.hasResourceProperties('AWS::KMS::Alias', { AliasName: 'alias/cmek/vendor' });
  });

  test('GIVEN only an alias WHEN synthesized THEN the policy has the account root and the deletion guard at 365 days', () => {
    const { template } = stackWith({ alias: 'cmek/vendor' });
    expect(statements(template).map((s) => s.Sid)).toEqual(['CmekAccountRoot', 'CmekDeletionGuard', 'CmekDeletionGuardUsageUnknown', 'CmekMinimumPendingWindow']);
    expect(statement(template, 'CmekAccountRoot')).toMatchObject({
      Effect: 'Allow',
      Action: 'kms:*',
      Principal: { AWS: { 'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, ':iam::999999999999:root']] } },
    });
    expect(statement(template, 'CmekDeletionGuard')).toEqual({
      Sid: 'CmekDeletionGuard',
      Effect: 'Deny',
      Principal: { AWS: '*' },
      Action: ['kms:ScheduleKeyDeletion', 'kms:DisableKey'],
      Resource: '*',
      Condition: { NumericLessThanEquals: { 'kms:TrailingDaysWithoutKeyUsage': '365' } },
    });
    expect(statement(template, 'CmekDeletionGuardUsageUnknown').Condition).toEqual({ Null: { 'kms:TrailingDaysWithoutKeyUsage': 'true' } });
    expect(statement(template, 'CmekMinimumPendingWindow')).toMatchObject({
      Effect: 'Deny',
      Action: 'kms:ScheduleKeyDeletion',
      Condition: { NumericLessThan: { 'kms:ScheduleKeyDeletionPendingWindowInDays': '30' } },
    });
  });

  test('GIVEN every optional prop WHEN synthesized THEN each one reaches the template', () => {
    const admin = new iam.ArnPrincipal('arn:aws:iam::999999999999:role/KeyAdmin');
    const { template } = stackWith({
      alias: 'alias/cmek/full',
      description: 'Key for Acme',
      rotationPeriod: Duration.days(90),
      pendingWindow: Duration.days(7),
      removalPolicy: RemovalPolicy.DESTROY,
      multiRegion: true,
      admins: [admin],
      allowAccountRootAccess: false,
      deletionGuard: { minDaysUnused: 30, exemptPrincipalArns: ['arn:aws:iam::999999999999:role/BreakGlass'] },
      grantees: [CmekGrantee.account(VENDOR, { name: 'acme' })],
    });
    template.hasResource('AWS::KMS::Key', {
      Properties: {
        Description: 'Key for Acme',
        RotationPeriodInDays: 90,
        PendingWindowInDays: 7,
        MultiRegion: true,
      },
      DeletionPolicy: 'Delete',
    });
    // A 7-day window is the shortest KMS accepts: no minimum-window statement.
    expect(statements(template).map((s) => s.Sid)).toEqual(['CmekKeyAdministration', 'CmekDeploymentRole', 'CmekDeletionGuard', 'CmekDeletionGuardUsageUnknown', 'CmekUsageAcme']);
    expect(statement(template, 'CmekKeyAdministration')).toMatchObject({
      Principal: { AWS: 'arn:aws:iam::999999999999:role/KeyAdmin' },
      Action: expect.arrayContaining(['kms:Create*', 'kms:ScheduleKeyDeletion', 'kms:Put*']),
    });
    expect(JSON.stringify(statement(template, 'CmekKeyAdministration').Action)).not.toMatch(/Decrypt|Encrypt|GenerateDataKey/);
    expect(statement(template, 'CmekDeletionGuard').Condition).toEqual({
      NumericLessThanEquals: { 'kms:TrailingDaysWithoutKeyUsage': '30' },
      ArnNotLike: { 'aws:PrincipalArn': ['arn:aws:iam::999999999999:role/BreakGlass'] },
    });
  });

  test('GIVEN enableKeyRotation false WHEN synthesized THEN rotation is off and no period is set', () => {
    const app = nagApp();
    const stack = new Stack(app, 'NoRotation');
    // Turning rotation off is an explicit decision with a reason, which answers cdk-nag's and checkov's findings.
    expect(() => new CmekKey(stack, 'K', { alias: 'cmek/norotate', enableKeyRotation: false })).toThrow(
      /`enableKeyRotation: false` needs `rotationDisabledReason`/,
    );
    const reason = 'the key material is imported and rotated by hand';
    const key2 = new CmekKey(stack, 'K2', { alias: 'cmek/norotate', enableKeyRotation: false, rotationDisabledReason: reason });
    expect(() => app.synth()).not.toThrow();
    const template = Template.fromStack(stack);
    expect(key2.keyArn).toBeDefined();
    template.hasResource('AWS::KMS::Key', { Metadata: { checkov: { skip: [{ id: 'CKV_AWS_7', comment: reason }] } } });
    template.hasResourceProperties('AWS::KMS::Key', {
      EnableKeyRotation: false,
      RotationPeriodInDays: Match.absent(),
    });
  });

  test('GIVEN deletionGuard.enabled false WHEN synthesized THEN there is no guard statement', () => {
    const { template, key } = stackWith({ alias: 'cmek/unguarded', deletionGuard: { enabled: false } });
    expect(statements(template).map((s) => s.Sid)).toEqual(['CmekAccountRoot']);
    expect(key.deletionGuardEnabled).toBe(false);
  });

  test('GIVEN each kind of grantee WHEN synthesized THEN each is one statement with a stable Sid and the five CMEK actions', () => {
    const { template, key } = stackWith({
      alias: 'cmek/vendor',
      grantees: [
        CmekGrantee.account(VENDOR),
        CmekGrantee.role('arn:aws:iam::444455556666:role/vendor-reader'),
        CmekGrantee.organization('o-a1b2c3d4e5'),
        CmekGrantee.servicePrincipal('logs.eu-west-1.amazonaws.com'),
        CmekGrantee.principal(new iam.ArnPrincipal('arn:aws:iam::777788889999:user/ops'), { name: 'ops user' }),
      ],
    });
    expect(key.granteeNames).toEqual(['Account111122223333', 'VendorReader', 'OrganizationA1b2c3d4e5', 'LogsEuWest1', 'OpsUser']);
    const usage = statements(template).filter((s) => s.Sid.startsWith('CmekUsage'));
    expect(usage.map((s) => s.Sid)).toEqual([
      'CmekUsageAccount111122223333',
      'CmekUsageVendorReader',
      'CmekUsageOrganizationA1b2c3d4e5',
      'CmekUsageLogsEuWest1',
      'CmekUsageOpsUser',
    ]);
    for (const s of usage) expect(s.Action).toEqual(ALL_ACTIONS);
    expect(statement(template, 'CmekUsageVendorReader').Principal).toEqual({ AWS: 'arn:aws:iam::444455556666:role/vendor-reader' });
    expect(statement(template, 'CmekUsageOrganizationA1b2c3d4e5')).toMatchObject({
      Principal: { AWS: '*' },
      Condition: { StringEquals: { 'aws:PrincipalOrgID': 'o-a1b2c3d4e5' } },
    });
    expect(statement(template, 'CmekUsageLogsEuWest1').Principal).toEqual({ Service: 'logs.eu-west-1.amazonaws.com' });
  });

  test('GIVEN a decrypt-only grantee WHEN synthesized THEN only Decrypt and DescribeKey are allowed', () => {
    const { template } = stackWith({
      alias: 'cmek/reader',
      grantees: [CmekGrantee.account(VENDOR, { actions: [CmekAction.DECRYPT, CmekAction.DESCRIBE_KEY] })],
    });
    expect(statement(template, 'CmekUsageAccount111122223333').Action).toEqual(['kms:Decrypt', 'kms:DescribeKey']);
  });

  test('GIVEN conditions WHEN synthesized THEN ViaService, SourceVpce and encryption context are fixed-value conditions and DescribeKey is split out', () => {
    const { template } = stackWith({
      alias: 'cmek/conditional',
      grantees: [
        CmekGrantee.account(VENDOR, {
          name: 'acme',
          viaServices: ['s3.eu-west-1.amazonaws.com'],
          sourceVpce: ['vpce-0a1b2c3d4e5f67890'],
          encryptionContext: { tenant: 'acme' },
          requireEncryptionContextKeys: ['dataset'],
        }),
      ],
    });
    expect(statement(template, 'CmekUsageAcme')).toMatchObject({
      Action: ['kms:Encrypt', 'kms:Decrypt', 'kms:ReEncrypt*', 'kms:GenerateDataKey*'],
      Condition: {
        StringEquals: {
          'kms:ViaService': ['s3.eu-west-1.amazonaws.com'],
          'aws:SourceVpce': ['vpce-0a1b2c3d4e5f67890'],
          'kms:EncryptionContext:tenant': 'acme',
        },
        Null: { 'kms:EncryptionContext:dataset': 'false' },
      },
    });
    expect(statement(template, 'CmekUsageAcmeDescribe')).toMatchObject({
      Action: 'kms:DescribeKey',
      Condition: {
        StringEquals: { 'kms:ViaService': ['s3.eu-west-1.amazonaws.com'], 'aws:SourceVpce': ['vpce-0a1b2c3d4e5f67890'] },
      },
    });
    expect(JSON.stringify(statement(template, 'CmekUsageAcmeDescribe'))).not.toContain('EncryptionContext');
  });

  test('GIVEN an organization grantee WHEN synthesized THEN the key carries a reasoned checkov skip for its Principal *, and only then', () => {
    const org = stackWith({ alias: 'cmek/org', grantees: [CmekGrantee.organization('o-a1b2c3d4e5')] }).template;
    const account = stackWith({ alias: 'cmek/acct', grantees: [CmekGrantee.account(VENDOR)] }).template;
    const metadata = (t: Template) => Object.values(t.findResources('AWS::KMS::Key'))[0].Metadata?.checkov;
    expect(metadata(org)).toEqual({ skip: [{ id: 'CKV_AWS_33', comment: expect.stringContaining('aws:PrincipalOrgID') }] });
    expect(metadata(account)).toBeUndefined();
  });

  test('GIVEN any grantee WHEN synthesized THEN no condition value holds a wildcard or policy variable (Security Hub KMS.5)', () => {
    const { template } = stackWith({
      alias: 'cmek/kms5',
      grantees: [
        CmekGrantee.organization('o-a1b2c3d4e5', { viaServices: ['s3.eu-west-1.amazonaws.com'] }),
        CmekGrantee.account(VENDOR, { encryptionContext: { tenant: 'acme' } }),
      ],
    });
    for (const s of statements(template).filter((x) => x.Effect === 'Allow' && x.Condition)) {
      const values = Object.values(s.Condition).flatMap((kv: any) => Object.values(kv).flat());
      for (const v of values) expect(String(v)).not.toMatch(/[*?]|\$\{/);
    }
  });

  test('GIVEN addGrantee after construction WHEN synthesized THEN the statement is added; revoking is leaving it out', () => {
    const app = nagApp();
    const granted = new Stack(app, 'Granted');
    new CmekKey(granted, 'K', { alias: 'cmek/x' }).addGrantee(CmekGrantee.account(VENDOR));
    const revoked = new Stack(app, 'Revoked');
    new CmekKey(revoked, 'K', { alias: 'cmek/x' });
    const sids = (s: Stack) => statements(Template.fromStack(s)).map((x) => x.Sid);
    expect(sids(granted)).toContain('CmekUsageAccount111122223333');
    expect(sids(revoked)).not.toContain('CmekUsageAccount111122223333');
    // Same key resource either way: revocation is a policy update, not a replacement.
    expect(Object.keys(Template.fromStack(granted).findResources('AWS::KMS::Key'))).toEqual(
      Object.keys(Template.fromStack(revoked).findResources('AWS::KMS::Key')),
    );
  });

  test('GIVEN tokens for alias, account, role ARN and org WHEN constructed THEN they are not validated', () => {
    const app = nagApp();
    const stack = new Stack(app, 'Tokens');
    const lazy = (v: string) => Lazy.string({ produce: () => v });
    expect(() => new CmekKey(stack, 'K', {
      alias: lazy('not valid!'),
      grantees: [
        CmekGrantee.account(lazy('x'), { name: 'tokenaccount' }),
        CmekGrantee.role(lazy('y'), { name: 'tokenrole' }),
        CmekGrantee.organization(lazy('z'), { name: 'tokenorg' }),
      ],
      deletionGuard: { exemptPrincipalArns: [Aws.ACCOUNT_ID] },
    })).not.toThrow();
  });

  test('GIVEN a CmekKey WHEN used where a kms.IKey is expected THEN grants delegate to the underlying key', () => {
    const app = nagApp();
    const stack = new Stack(app, 'IKey');
    const key: kms.IKey = new CmekKey(stack, 'K', { alias: 'cmek/ikey' });
    const role = new iam.Role(stack, 'Worker', { assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com') });
    key.grantDecrypt(role);
    Template.fromStack(stack).hasResourceProperties('AWS::IAM::Policy', {
      PolicyDocument: { Statement: [Match.objectLike({ Action: 'kms:Decrypt', Resource: { 'Fn::GetAtt': [Match.stringLikeRegexp('KKey'), 'Arn'] } })] },
    });
  });

  test('GIVEN a key WHEN its usage metric is requested THEN it is the audit metric for this key id, alarmable', () => {
    const stack = new Stack(nagApp(), 'Metric');
    const key = new CmekKey(stack, 'K', { alias: 'cmek/metric' });
    const metric = key.metricDaysSinceLastUse();
    expect(metric.namespace).toBe('CdkCmek');
    expect(metric.metricName).toBe('DaysSinceLastUse');
    expect(stack.resolve(metric.dimensions)).toEqual({ KeyId: { Ref: expect.stringMatching(/^KKey/) } });
    metric.createAlarm(stack, 'Unused', { threshold: 300, evaluationPeriods: 1 });
    Template.fromStack(stack).hasResourceProperties('AWS::CloudWatch::Alarm', {
      Namespace: 'CdkCmek', MetricName: 'DaysSinceLastUse', Statistic: 'Maximum', Period: 86400,
    });
  });

  test('GIVEN fromCustomerKeyArn WHEN given a key ARN THEN it returns that key, and an alias ARN is refused', () => {
    const stack = new Stack(nagApp(), 'Vendor');
    const arn = 'arn:aws:kms:eu-west-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab';
    expect(CmekKey.fromCustomerKeyArn(stack, 'Customer', arn).keyArn).toBe(arn);
    expect(() => CmekKey.fromCustomerKeyArn(stack, 'Alias', 'arn:aws:kms:eu-west-1:111122223333:alias/cmek')).toThrow(
      /`keyArn` must be a KMS key ARN .* got: "arn:aws:kms:eu-west-1:111122223333:alias\/cmek"/,
    );
  });

  describe('invalid input', () => {
    const base: CmekKeyProps = { alias: 'cmek/vendor' };
    const cases: Array<[string, () => CmekKeyProps, RegExp]> = [
      ['bad account id', () => ({ ...base, grantees: [CmekGrantee.account('12345')] }), /`accountId` must be a 12-digit AWS account id, got: "12345"/],
      ['alias alias/aws/x', () => ({ alias: 'alias/aws/x' }), /`alias` must not start with alias\/aws\/.*got: "alias\/aws\/x"/],
      ['alias with spaces', () => ({ alias: 'my key' }), /`alias` must be alias\/ followed by letters, digits.*got: "my key"/],
      ['alias over 256 characters', () => ({ alias: 'a'.repeat(251) }), /at most 256 characters in all, got/],
      ['pendingWindow 6', () => ({ ...base, pendingWindow: Duration.days(6) }), /`pendingWindow` must be a whole number of days from 7 to 30, got: 6 days/],
      ['pendingWindow 31', () => ({ ...base, pendingWindow: Duration.days(31) }), /`pendingWindow` must be a whole number of days from 7 to 30, got: 31 days/],
      ['rotationPeriod 89', () => ({ ...base, rotationPeriod: Duration.days(89) }), /`rotationPeriod` must be a whole number of days from 90 to 2560, got: 89 days/],
      ['rotationPeriod 2561', () => ({ ...base, rotationPeriod: Duration.days(2561) }), /`rotationPeriod` must be a whole number of days from 90 to 2560, got: 2561 days/],
      ['rotationPeriod with rotation off', () => ({ ...base, enableKeyRotation: false, rotationPeriod: Duration.days(180) }), /`rotationPeriod` needs `enableKeyRotation`/],
      ['minDaysUnused 0', () => ({ ...base, deletionGuard: { minDaysUnused: 0 } }), /`deletionGuard.minDaysUnused` must be an integer from 1 to 36500, got: 0/],
      ['minDaysUnused 1.5', () => ({ ...base, deletionGuard: { minDaysUnused: 1.5 } }), /`deletionGuard.minDaysUnused` must be an integer from 1 to 36500, got: 1.5/],
      ['exempt principal not an ARN', () => ({ ...base, deletionGuard: { exemptPrincipalArns: ['BreakGlass'] } }), /`deletionGuard.exemptPrincipalArns` must hold concrete IAM role or user ARNs.*got: "BreakGlass"/],
      ['duplicate grantee', () => ({ ...base, grantees: [CmekGrantee.account(VENDOR), CmekGrantee.account(VENDOR)] }), /duplicate grantee `Account111122223333`/],
      ['empty organization id', () => ({ ...base, grantees: [CmekGrantee.organization('')] }), /`organizationId` must be an AWS Organizations id such as o-a1b2c3d4e5, got: ""/],
      ['role ARN that is a user', () => ({ ...base, grantees: [CmekGrantee.role('arn:aws:iam::111122223333:user/bob')] }), /`roleArn` must be an IAM role ARN.*got: "arn:aws:iam::111122223333:user\/bob"/],
      ['wildcard ViaService', () => ({ ...base, grantees: [CmekGrantee.account(VENDOR, { viaServices: ['s3.*.amazonaws.com'] })] }), /`viaServices` must be a fixed, non-empty value without wildcards.*got: "s3.\*.amazonaws.com"/],
      ['policy variable in context', () => ({ ...base, grantees: [CmekGrantee.account(VENDOR, { encryptionContext: { tenant: '${aws:username}' } })] }), /`encryptionContext\["tenant"\]` must be a fixed.*got: "\$\{aws:username\}"/],
      ['bad VPC endpoint id', () => ({ ...base, grantees: [CmekGrantee.account(VENDOR, { sourceVpce: ['vpc-123'] })] }), /`sourceVpce` must be a VPC endpoint id.*got: "vpc-123"/],
      ['empty actions', () => ({ ...base, grantees: [CmekGrantee.account(VENDOR, { actions: [] })] }), /`actions` must name at least one of kms:Encrypt/],
      ['action outside the CMEK set', () => ({ ...base, grantees: [CmekGrantee.account(VENDOR, { actions: ['kms:CreateGrant' as CmekAction] })] }), /`actions` may only contain .* got: "kms:CreateGrant"/],
      ['no admins without root', () => ({ ...base, allowAccountRootAccess: false }), /`allowAccountRootAccess: false` needs at least one entry in `admins`/],
      ['bad service principal', () => ({ ...base, grantees: [CmekGrantee.servicePrincipal('logs')] }), /`service` must be a service principal.*got: "logs"/],
      ['empty viaServices list', () => ({ ...base, grantees: [CmekGrantee.account(VENDOR, { viaServices: [] })] }), /`viaServices` must not be empty when given/],
    ];
    test.each(cases)('GIVEN %s WHEN constructed THEN a clear error names it', (_name, props, message) => {
      const stack = new Stack(nagApp(), 'Invalid');
      expect(() => new CmekKey(stack, 'K', props())).toThrow(message);
    });

    test('GIVEN every invalid input WHEN constructed THEN each error is a single line', () => {
      for (const [, props] of cases) {
        const stack = new Stack(nagApp(), 'Invalid');
        let message = '';
        try {
          new CmekKey(stack, 'K', props());
        } catch (e) {
          message = (e as Error).message;
        }
        expect(message).not.toBe('');
        expect(message).not.toContain('\n');
      }
    });

    test.each([
      ['the prop', (_s: Stack, props: CmekKeyProps) => ({ ...props, removalPolicy: RemovalPolicy.DESTROY }), (_k: CmekKey) => undefined],
      ['applyRemovalPolicy', (_s: Stack, props: CmekKeyProps) => props, (k: CmekKey) => k.applyRemovalPolicy(RemovalPolicy.DESTROY)],
      ['RemovalPolicies.of(stack).destroy()', (_s: Stack, props: CmekKeyProps) => props, (k: CmekKey) => RemovalPolicies.of(Stack.of(k)).destroy()],
    ])('GIVEN DESTROY on a guarded key without exemptions, set by %s, WHEN synthesized THEN synthesis fails', (_how, props, after) => {
      const app = nagApp();
      const stack = new Stack(app, 'Late');
      const key = new CmekKey(stack, 'K', props(stack, { alias: 'cmek/late' }));
      after(key);
      expect(() => app.synth()).toThrow(/`removalPolicy: DESTROY` with the deletion guard on and no `deletionGuard.exemptPrincipalArns`/);
    });

    test('GIVEN DESTROY with a break-glass exemption WHEN constructed THEN it is allowed', () => {
      const stack = new Stack(nagApp(), 'Destroyable');
      expect(() => new CmekKey(stack, 'K', {
        alias: 'cmek/ephemeral',
        removalPolicy: RemovalPolicy.DESTROY,
        deletionGuard: { exemptPrincipalArns: ['arn:aws:iam::999999999999:role/cdk-hnb659fds-cfn-exec-role-999999999999-eu-west-1'] },
      })).not.toThrow();
    });
  });

  describe('key-policy size', () => {
    function withGrantees(n: number) {
      const app = nagApp();
      const stack = new Stack(app, 'Big', { env: { account: '999999999999', region: 'eu-west-1' } });
      new CmekKey(stack, 'K', {
        alias: 'cmek/big',
        grantees: Array.from({ length: n }, (_, i) => CmekGrantee.account(String(100000000000 + i), {
          viaServices: ['s3.eu-west-1.amazonaws.com'],
        })),
      });
      return app;
    }

    test('GIVEN a key policy with pseudo parameters WHEN its deployed size is estimated THEN it equals the policy resolved with the longest values', () => {
      const stack = new Stack(nagApp(), 'Sized');
      const key = new CmekKey(stack, 'K', { alias: 'cmek/sized', grantees: [CmekGrantee.account(VENDOR, { viaServices: [`s3.${Aws.REGION}.amazonaws.com`] })] });
      const resolved = stack.resolve(key.policy);
      const longest = resolveCfn(resolved, { account: '123456789012', partition: 'aws-iso-b', region: 'ap-southeast-5x' });
      expect(deployedJsonBytes(resolved)).toBe(Buffer.byteLength(JSON.stringify(longest)));
      expect(deployedJsonBytes(resolved)).toBeLessThan(Buffer.byteLength(JSON.stringify(resolved)));
    });

    test('GIVEN resolved values WHEN judged from their text THEN "surely within the limit" never holds for one over it', () => {
      const ref = (i: number) => ({ Ref: `Role${i}` });
      const statementOf = (principal: unknown) => ({ Effect: 'Allow', Principal: { AWS: principal }, Action: 'kms:Decrypt', Resource: '*' });
      const cases: unknown[] = [
        // Short references that deploy as long ARNs: 4 KB of text, over 32 KB deployed.
        { Statement: Array.from({ length: 170 }, (_, i) => statementOf(ref(i))) },
        // A join with a separator repeats it for every part.
        { Statement: [statementOf({ 'Fn::Join': ['x'.repeat(400), Array.from({ length: 90 }, (_, i) => `p${i}`)] })] },
        { Statement: [statementOf({ 'Fn::Join': [{ Ref: 'Sep' }, ['a', 'b']] })] },
        // Within the limit either way.
        { Statement: [statementOf({ 'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, ':iam::111122223333:root']] })] },
        { Statement: Array.from({ length: 20 }, (_, i) => statementOf(`arn:aws:iam::111122223333:role/R${i}`)) },
      ];
      const judged = cases.map((c) => [surelyWithinKeyPolicyLimit(c), deployedJsonBytes(c) <= 32_768]);
      expect(judged).toEqual([[false, false], [false, false], [false, true], [true, true], [true, true]]);
    });

    test('GIVEN a policy over 32 KB WHEN synthesized THEN synth fails saying how many grantees fit', () => {
      expect(() => withGrantees(200).synth()).toThrow(
        /key policy of alias\/cmek\/big would be \d+ bytes, over the KMS limit of 32768: at most \d+ grantees like these fit, got: 200/,
      );
    });

    test('GIVEN the count the error names WHEN synthesized THEN that many fit and one more does not', () => {
      let fit = -1;
      try {
        withGrantees(200).synth();
      } catch (e) {
        fit = Number(/at most (\d+) grantees/.exec((e as Error).message)![1]);
      }
      expect(fit).toBeGreaterThan(50);
      expect(() => withGrantees(fit).synth()).not.toThrow();
      expect(() => withGrantees(fit + 1).synth()).toThrow(/over the KMS limit/);
    });
  });

  describe('across stacks', () => {
    test('GIVEN a key in one stack and a grantee role in another WHEN the app synthesizes THEN there is no dependency cycle', () => {
      const app = nagApp();
      const env = { account: '999999999999', region: 'eu-west-1' };
      const workloads = new Stack(app, 'Workloads', { env });
      const role = new iam.Role(workloads, 'Reader', { assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com') });
      const keys = new Stack(app, 'Keys', { env });
      const key = new CmekKey(keys, 'K', { alias: 'cmek/shared', grantees: [CmekGrantee.principal(role)] });
      // The classic cycle: the workload stack also reads the key's ARN (identity policy, env var, …).
      role.addToPolicy(new iam.PolicyStatement({ actions: ['kms:DescribeKey'], resources: [key.keyArn] }));

      const assembly = app.synth();
      expect(assembly.stacks.map((s) => s.stackName).sort()).toEqual(['Keys', 'Workloads']);
      const keysTemplate = Template.fromStack(keys);
      // The key policy names the role's account, not an import from the workload stack.
      expect(JSON.stringify(keysTemplate.toJSON())).not.toContain('Fn::ImportValue');
      expect(statement(keysTemplate, 'CmekUsageReader').Principal).toEqual({
        AWS: { 'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, ':iam::999999999999:root']] },
      });
      // The role gets the matching identity policy.
      Template.fromStack(workloads).hasResourceProperties('AWS::IAM::Policy', {
        PolicyDocument: { Statement: Match.arrayWith([Match.objectLike({ Action: ALL_ACTIONS })]) },
      });
    });
  });
});
