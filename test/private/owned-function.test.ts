// createOwnedFunction: parts on the given scope, a log policy held to the function's own log group, every lint skip reasoned.
import { App, Duration, Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import { createOwnedFunction, OwnedFunctionProps } from '../../src/private/owned-function';
import { nagApp } from '../support/nag';

const REASONS = { noDeadLetterQueue: 'dlq', noVpc: 'vpc', noReservedConcurrency: 'concurrency', unencryptedLogs: 'logs' };

function build(props: Partial<OwnedFunctionProps> = {}, app = new App()): { stack: Stack; owner: Construct } {
  const stack = new Stack(app, 'S', { env: { account: '111111111111', region: 'eu-west-1' } });
  const owner = new Construct(stack, 'Owner');
  createOwnedFunction(owner, {
    roleDescription: 'role',
    description: 'fn',
    code: lambda.Code.fromInline('exports.handler = async () => {}'),
    handler: 'index.handler',
    memorySize: 256,
    timeout: Duration.minutes(1),
    logRetention: logs.RetentionDays.ONE_MONTH,
    reasons: REASONS,
    ...props,
  });
  return { stack, owner };
}

describe('createOwnedFunction', () => {
  test('GIVEN ids WHEN built THEN the parts are children of the given scope, with no level of their own', () => {
    const { owner } = build({ ids: { function: 'Handler', policy: 'Permissions' } });
    expect(owner.node.children.map((c) => c.node.id)).toEqual(['Logs', 'Role', 'Handler', 'Permissions']);
  });

  test('GIVEN statements WHEN built THEN the policy holds them, then logs to its own log group only, and the role no managed policy', () => {
    const { stack } = build({
      statements: [new iam.PolicyStatement({ sid: 'Own', actions: ['kms:ListKeys'], resources: ['*'] })],
      logStatementSid: 'WriteLogs',
    });
    const template = Template.fromStack(stack);
    const [logGroupId] = Object.keys(template.findResources('AWS::Logs::LogGroup'));
    template.hasResourceProperties('AWS::IAM::Policy', {
      PolicyDocument: {
        Statement: [
          Match.objectLike({ Sid: 'Own' }),
          { Sid: 'WriteLogs', Effect: 'Allow', Action: ['logs:CreateLogStream', 'logs:PutLogEvents'], Resource: { 'Fn::GetAtt': [logGroupId, 'Arn'] } },
        ],
      },
    });
    template.hasResourceProperties('AWS::IAM::Role', { ManagedPolicyArns: Match.absent() });
    template.hasResourceProperties('AWS::Logs::LogGroup', { RetentionInDays: 30 });
    template.hasResourceProperties('AWS::Lambda::Function', { Runtime: 'nodejs24.x', Architectures: ['arm64'], LoggingConfig: { LogGroup: { Ref: logGroupId } } });
  });

  test('GIVEN the reasons WHEN built THEN each checkov and cfn-lint finding is skipped with its reason', () => {
    const { stack } = build({ environment: { STAGE: 'test' }, reasons: { ...REASONS, plainEnvironment: 'env' } });
    const template = Template.fromStack(stack);
    const [fn] = Object.values(template.findResources('AWS::Lambda::Function'));
    expect(fn.Metadata.checkov.skip).toEqual([
      { id: 'CKV_AWS_116', comment: 'dlq' },
      { id: 'CKV_AWS_117', comment: 'vpc' },
      { id: 'CKV_AWS_115', comment: 'concurrency' },
      { id: 'CKV_AWS_173', comment: 'env' },
    ]);
    expect(fn.Metadata['cfn-lint'].config.ignore_checks).toEqual(['W3005']);
    const [logGroup] = Object.values(template.findResources('AWS::Logs::LogGroup'));
    expect(logGroup.Metadata.checkov.skip).toEqual([{ id: 'CKV_AWS_158', comment: 'logs' }]);
  });

  test('GIVEN cdk-nag AwsSolutions WHEN synthesized THEN the function raises no finding', () => {
    const app = nagApp();
    build({ environment: { STAGE: 'test' }, reasons: { ...REASONS, plainEnvironment: 'env' } }, app);
    expect(() => app.synth()).not.toThrow();
  });

  test('GIVEN an environment without a reason for it WHEN built THEN it is refused', () => {
    expect(() => build({ environment: { STAGE: 'test' } })).toThrow('an owned function with an environment needs `reasons.plainEnvironment`, got: none for S/Owner');
  });
});
