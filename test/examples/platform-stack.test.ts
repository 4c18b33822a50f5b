// The example app's stack: it synthesizes clean under cdk-nag and wires key, guard, bucket and vendor grants.
import { Template } from 'aws-cdk-lib/assertions';
import { CmekPlatformStack } from '../../examples/platform-stack';
import { nagApp } from '../support/nag';

describe('example platform stack', () => {
  test('GIVEN the example app WHEN synthesized with cdk-nag AwsSolutions THEN there is no unacknowledged finding', () => {
    const app = nagApp();
    new CmekPlatformStack(app, 'CmekPlatform', { env: { account: '999999999999', region: 'eu-west-1' } });
    expect(() => app.synth()).not.toThrow();
  });

  test('GIVEN the example app WHEN synthesized THEN the key guards deletion with a break-glass exemption and the vendor reads through S3', () => {
    const app = nagApp();
    const stack = new CmekPlatformStack(app, 'CmekPlatform', { env: { account: '999999999999', region: 'eu-west-1' } });
    const template = Template.fromStack(stack);
    const [key] = Object.values(template.findResources('AWS::KMS::Key'));
    const sids = key.Properties.KeyPolicy.Statement.map((s: any) => s.Sid);
    expect(sids).toEqual(['CmekAccountRoot', 'CmekDeletionGuard', 'CmekUsageAcme', 'CmekUsageAcmeAudit', 'CmekUsageAcmeS3Read']);
    const guard = key.Properties.KeyPolicy.Statement.find((s: any) => s.Sid === 'CmekDeletionGuard');
    expect(guard.Condition.ArnNotLike['aws:PrincipalArn']).toEqual([{ 'Fn::GetAtt': [expect.stringMatching(/^KeyBreakGlass/), 'Arn'] }]);
    template.resourceCountIs('AWS::S3::Bucket', 2);
  });
});
