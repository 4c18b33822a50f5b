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

  test('GIVEN the member template WHEN read THEN it is env-agnostic: no bootstrap, no asset, no account or Region of the deploying stack', () => {
    const { member } = build();
    expect(member.Parameters?.BootstrapVersion).toBeUndefined();
    expect(member.Rules).toBeUndefined();
    const text = JSON.stringify(member);
    expect(text).not.toContain(MANAGEMENT.account);
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
    const withoutCode = (t: any) => {
      const copy = JSON.parse(JSON.stringify(t.Resources));
      for (const r of Object.values<any>(copy)) if (r.Type === 'AWS::Lambda::Function') delete r.Properties.Code;
      return copy;
    };
    expect(withoutCode(member)).toEqual(withoutCode(expected));
    expect(ofType(member, 'AWS::IAM::Policy')).toHaveLength(1);
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
    expect(seen).toEqual(['KeyUsageAuditor/Auditor/Function/Resource']);
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
