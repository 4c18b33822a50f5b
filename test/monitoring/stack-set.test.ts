// KeyUsageAuditorStackSet: the StackSet's targets and rollout, and a member template that any account can deploy.
import { App, BootstraplessSynthesizer, CfnResource, IPolicyValidationContext, IPolicyValidationPlugin, PolicyValidationPluginReport, Stack, Validations } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { IConstruct } from 'constructs';
import { KeyUsageAuditor, KeyUsageAuditorStackSet, KeyUsageAuditorStackSetProps, StackSetCallAs } from '../../src';
import { AUDITOR_CODE } from '../../src/monitoring/key-usage-auditor';
import { MAX_TEMPLATE_BODY_BYTES, validateTemplateBodySize } from '../../src/monitoring/stack-set-member';
import { nagApp } from '../support/nag';
import { ensureLambdaBundle } from './support/bundle';

beforeAll(() => ensureLambdaBundle('src/monitoring/runtime/key-usage-auditor.lambda.ts'));

const MANAGEMENT = { account: '999999999999', region: 'eu-west-1' };
const TARGETS: KeyUsageAuditorStackSetProps = {
  organizationalUnitIds: ['ou-ab12-cdef3456', 'r-ab12'],
  regions: ['eu-west-1', 'us-east-1'],
  codeBucketPrefix: 'acme-cmek-code',
};

function build(props: Partial<KeyUsageAuditorStackSetProps> = {}, app: App = nagApp()) {
  const stack = new Stack(app, 'Org', { env: MANAGEMENT });
  const stackSet = new KeyUsageAuditorStackSet(stack, 'Auditors', { ...TARGETS, ...props });
  app.synth(); // cdk-nag runs here, on this stack and, through the member's own App, on the member template
  const [resource] = Object.values(Template.fromStack(stack).findResources('AWS::CloudFormation::StackSet'));
  return { stackSet, properties: resource.Properties, member: JSON.parse(stackSet.templateBody) };
}

function ofType(template: any, type: string): any[] {
  return Object.values<any>(template.Resources).filter((r) => r.Type === type);
}

describe('KeyUsageAuditorStackSet', () => {
  test('GIVEN OUs and Regions WHEN synthesized THEN one service-managed StackSet targets them, auto-deploying, one quarter at a time, stopping at the first failure', () => {
    const { properties, stackSet } = build();
    expect(properties).toMatchObject({
      StackSetName: 'Org-Auditors',
      PermissionModel: 'SERVICE_MANAGED',
      CallAs: 'SELF',
      AutoDeployment: { Enabled: true, RetainStacksOnAccountRemoval: false },
      Capabilities: ['CAPABILITY_IAM'],
      ManagedExecution: { Active: true },
      OperationPreferences: { MaxConcurrentPercentage: 25, FailureTolerancePercentage: 0, RegionConcurrencyType: 'SEQUENTIAL' },
      StackInstancesGroup: [{ DeploymentTargets: { OrganizationalUnitIds: TARGETS.organizationalUnitIds }, Regions: TARGETS.regions }],
    });
    expect(properties.TemplateBody).toBe(stackSet.templateBody);
    expect(stackSet.codeBucketNames).toEqual(['acme-cmek-code-eu-west-1', 'acme-cmek-code-us-east-1']);
  });

  test('GIVEN a delegated administrator, no auto-deployment and a wider rollout WHEN synthesized THEN the StackSet says so', () => {
    const { properties } = build({
      callAs: StackSetCallAs.DELEGATED_ADMIN,
      autoDeployment: false,
      maxConcurrentPercentage: 100,
      failureTolerancePercentage: 10,
      stackSetName: 'cmek-auditors',
    });
    expect(properties).toMatchObject({
      StackSetName: 'cmek-auditors',
      CallAs: 'DELEGATED_ADMIN',
      AutoDeployment: { Enabled: false },
      OperationPreferences: { MaxConcurrentPercentage: 100, FailureTolerancePercentage: 10 },
    });
    expect(properties.AutoDeployment.RetainStacksOnAccountRemoval).toBeUndefined();
  });

  test('GIVEN the member template WHEN read THEN its function takes the content-hashed bundle from the code bucket of the Region it runs in', () => {
    const { member, stackSet } = build();
    expect(stackSet.codeKey).toMatch(/^cdk-cmek\/key-usage-auditor\/[0-9a-f]{64}\.zip$/);
    const [fn] = ofType(member, 'AWS::Lambda::Function');
    expect(fn.Properties.Code).toEqual({
      S3Bucket: { 'Fn::Join': ['', ['acme-cmek-code-', { Ref: 'AWS::Region' }]] },
      S3Key: stackSet.codeKey,
    });
  });

  test('GIVEN the member template WHEN read THEN its function is created only after a check that the Region\'s code bucket belongs to the deploying account, which may read only the bundle', () => {
    const { member, stackSet } = build();
    const ids = Object.keys(member.Resources);
    const checkId = ids.find((id) => member.Resources[id].Type === 'Custom::CodeBucketOwner')!;
    const auditorFnId = ids.find((id) => id.startsWith('AuditorFunction') && member.Resources[id].Type === 'AWS::Lambda::Function')!;
    expect(member.Resources[auditorFnId].DependsOn).toContain(checkId);
    const bucket = { 'Fn::Join': ['', ['acme-cmek-code-', { Ref: 'AWS::Region' }]] };
    expect(member.Resources[checkId].Properties).toEqual({
      ServiceToken: { 'Fn::GetAtt': [expect.stringMatching(/^CodeBucketOwnerFunction/), 'Arn'] },
      Bucket: bucket,
      Key: stackSet.codeKey,
      Owner: MANAGEMENT.account,
    });
    const [checkFn] = ofType(member, 'AWS::Lambda::Function').filter((f) => f.Properties.Code.ZipFile !== undefined);
    expect(checkFn.Properties.Runtime).toMatch(/^nodejs/);
    expect(Buffer.byteLength(checkFn.Properties.Code.ZipFile)).toBeLessThan(4096);
    const checkPolicy = ofType(member, 'AWS::IAM::Policy').find((p) => JSON.stringify(p.Properties.Roles).includes('CodeBucketOwnerRole'))!;
    const s3Statements = checkPolicy.Properties.PolicyDocument.Statement.filter((st: any) => JSON.stringify(st.Action).includes('s3:'));
    expect(s3Statements).toEqual([{
      Effect: 'Allow',
      Action: 's3:GetObject',
      Resource: { 'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, ':s3:::acme-cmek-code-', { Ref: 'AWS::Region' }, `/${stackSet.codeKey}`]] },
    }]);
  });

  test('GIVEN another code bucket owner WHEN synthesized THEN the check expects it; an env-agnostic stack without one is refused with one line', () => {
    const { member } = build({ codeBucketOwner: '111122223333' });
    expect(ofType(member, 'Custom::CodeBucketOwner')[0].Properties.Owner).toBe('111122223333');
    expect(() => new KeyUsageAuditorStackSet(new Stack(new App(), 'Org'), 'Auditors', TARGETS))
      .toThrow(/^Org\/Auditors: `codeBucketOwner` must be given when the stack has no account \(the member template needs a literal\), got: none$/);
  });

  test('GIVEN the member template WHEN read THEN it is env-agnostic: no bootstrap, no asset, no account or Region of the deploying stack', () => {
    const { member } = build();
    expect(member.Parameters?.BootstrapVersion).toBeUndefined();
    expect(member.Rules).toBeUndefined();
    // The deploying account appears once: as the owner every code bucket must have.
    const text = JSON.stringify(member);
    expect(text.split(MANAGEMENT.account)).toHaveLength(2);
    expect(ofType(member, 'Custom::CodeBucketOwner')[0].Properties.Owner).toBe(MANAGEMENT.account);
    expect(text).not.toContain(MANAGEMENT.region);
    expect(text).not.toMatch(/cdk-hnb659fds|aws:asset:|aws:cdk:path/);
    // The key ARNs the auditor reads are those of the account and Region it is deployed in.
    expect(text).toContain('{"Ref":"AWS::AccountId"}');
  });

  test('GIVEN auditor options WHEN synthesized THEN every account\'s auditor takes them', () => {
    const { member } = build({ auditor: { thresholdDays: 90, aliasPrefix: 'cmek/', alarmNamePrefix: 'org-cmek' } });
    const [fn] = ofType(member, 'AWS::Lambda::Function');
    expect(fn.Properties.Environment.Variables).toMatchObject({ THRESHOLD_DAYS: '90', ALIAS_PREFIX: 'alias/cmek/' });
    expect(ofType(member, 'AWS::CloudWatch::Alarm').map((a) => a.Properties.AlarmName).sort())
      .toEqual(['org-cmek-KeyUsageAuditErrors', 'org-cmek-UnusedKeyCount']);
  });

  test('GIVEN the member template WHEN compared with a KeyUsageAuditor of an env-agnostic stack THEN it is the same auditor, only the code location differs', () => {
    const { member } = build({ auditor: { thresholdDays: 30 } });
    const app = new App({ context: { 'aws:cdk:enable-path-metadata': false } });
    const plain = new Stack(app, 'KeyUsageAuditor', { synthesizer: new BootstraplessSynthesizer(), analyticsReporting: false });
    AUDITOR_CODE.set(plain, lambda.Code.fromBucket(s3.Bucket.fromBucketName(plain, 'Code', 'elsewhere'), 'code.zip'));
    new KeyUsageAuditor(plain, 'Auditor', { thresholdDays: 30 });
    const expected = Template.fromStack(plain).toJSON();
    // The owner check is the member's own addition, and the function waits for it.
    const check = Object.keys(member.Resources).filter((id) => id.startsWith('CodeBucketOwner'));
    const withoutCode = (t: any) => {
      const copy = JSON.parse(JSON.stringify(t.Resources));
      for (const id of check) delete copy[id];
      for (const r of Object.values<any>(copy)) {
        if (r.Type !== 'AWS::Lambda::Function') continue;
        delete r.Properties.Code;
        r.DependsOn = r.DependsOn.filter((d: string) => !check.includes(d));
      }
      return copy;
    };
    expect(withoutCode(member)).toEqual(withoutCode(expected));
    expect(check.map((id) => member.Resources[id].Type).sort())
      .toEqual(['AWS::IAM::Policy', 'AWS::IAM::Role', 'AWS::Lambda::Function', 'AWS::Logs::LogGroup', 'Custom::CodeBucketOwner']);
  });

  test('GIVEN a validation plugin on the caller\'s app WHEN the StackSet is built THEN the plugin checks the member template too', () => {
    const seen: string[] = [];
    class RecordFunctions implements IPolicyValidationPlugin {
      public readonly name = 'record-functions';
      public validate(context: IPolicyValidationContext): PolicyValidationPluginReport {
        const walk = (c: IConstruct): void => {
          if (c instanceof CfnResource && c.cfnResourceType === 'AWS::Lambda::Function') seen.push(c.node.path);
          c.node.children.forEach(walk);
        };
        walk((context as { appConstruct?: IConstruct }).appConstruct!);
        return { success: true, violations: [] };
      }
    }
    const app = new App();
    Validations.of(app).addPlugins(new RecordFunctions());
    build({}, app);
    expect(seen).toEqual(['KeyUsageAuditor/Auditor/Function/Resource', 'KeyUsageAuditor/CodeBucketOwner/Function/Resource']);
  });

  test('GIVEN a bad auditor option WHEN built THEN the error names the StackSet construct and the option under `auditor`, not the member\'s own path', () => {
    const stack = new Stack(new App(), 'Org', { env: MANAGEMENT });
    expect(() => new KeyUsageAuditorStackSet(stack, 'Auditors', { ...TARGETS, auditor: { alarmNamePrefix: 'x'.repeat(236) } }))
      .toThrow(/^Org\/Auditors: `auditor\.alarmNamePrefix` /);
  });

  test('GIVEN a body over the TemplateBody quota WHEN checked THEN it is refused with one line; at the quota it passes', () => {
    expect(() => validateTemplateBodySize('x'.repeat(MAX_TEMPLATE_BODY_BYTES))).not.toThrow();
    expect(() => validateTemplateBodySize('é'.repeat(MAX_TEMPLATE_BODY_BYTES / 2 + 1)))
      .toThrow(`the member template must be at most 51200 bytes to be a StackSet's TemplateBody, got: ${MAX_TEMPLATE_BODY_BYTES + 2} bytes`);
  });

  test('GIVEN the member template WHEN measured THEN it fits the TemplateBody quota with room to spare', () => {
    const { stackSet } = build({ auditor: { tagKey: 'cmek:vendor', tagValue: 'acme', aliasPrefix: 'alias/cmek/' } });
    expect(Buffer.byteLength(stackSet.templateBody)).toBeLessThan(MAX_TEMPLATE_BODY_BYTES / 2);
  });
});
