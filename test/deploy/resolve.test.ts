// The deploy test's token resolver and comparison: what a deployed policy is compared with, and how a difference is reported.
import { canonical, firstDifference, resolveTokens, StackFacts } from '../../scripts/deploy/resolve';

const facts: StackFacts = {
  account: '999999999999',
  region: 'eu-west-1',
  stackName: 'S',
  stackId: 'arn:aws:cloudformation:eu-west-1:999999999999:stack/S/1',
  parameters: { Param: 'p-value' },
  resources: new Map([
    ['Key', { type: 'AWS::KMS::Key', physicalId: 'k-1' }],
    ['Role', { type: 'AWS::IAM::Role', physicalId: 'role-name' }],
    ['Bucket', { type: 'AWS::S3::Bucket', physicalId: 'bucket-name' }],
    ['Topic', { type: 'AWS::SNS::Topic', physicalId: 'arn:aws:sns:eu-west-1:999999999999:t' }],
    ['Dashboard', { type: 'AWS::CloudWatch::Dashboard', physicalId: 'd' }],
  ]),
  properties: new Map([['Role', { Path: '/service/' }]]),
};

describe('resolveTokens', () => {
  test('GIVEN Ref, GetAtt, Join, Select, Split and Sub WHEN resolved THEN each becomes the deployed value', () => {
    const template = {
      a: { Ref: 'Key' },
      b: { 'Fn::GetAtt': ['Key', 'Arn'] },
      c: { 'Fn::GetAtt': 'Role.Arn' },
      d: { 'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, ':s3:::', { Ref: 'Bucket' }, '/*']] },
      e: { 'Fn::Select': [1, { 'Fn::Split': [':', { Ref: 'Topic' }] }] },
      f: { 'Fn::Sub': ['${AWS::Region}-${Param}-${Key.Arn}-${X}-${!Literal}', { X: { Ref: 'AWS::AccountId' } }] },
      g: [{ Ref: 'AWS::StackName' }, { Ref: 'AWS::URLSuffix' }],
    };
    expect(resolveTokens(template, facts)).toEqual({
      a: 'k-1',
      b: 'arn:aws:kms:eu-west-1:999999999999:key/k-1',
      c: 'arn:aws:iam::999999999999:role/service/role-name',
      d: 'arn:aws:s3:::bucket-name/*',
      e: 'aws',
      f: 'eu-west-1-p-value-arn:aws:kms:eu-west-1:999999999999:key/k-1-999999999999-${Literal}',
      g: ['S', 'amazonaws.com'],
    });
  });

  test.each([
    [{ Ref: 'Missing' }, 'cannot resolve {"Ref": "Missing"}'],
    [{ 'Fn::GetAtt': ['Dashboard', 'Arn'] }, 'AWS::CloudWatch::Dashboard.Arn is not known'],
    [{ 'Fn::If': ['C', 'a', 'b'] }, 'cannot resolve Fn::If'],
  ])('GIVEN %j WHEN resolved THEN it fails rather than compare a guess', (value, message) => {
    expect(() => resolveTokens(value, facts)).toThrow(message);
  });
});

describe('firstDifference', () => {
  const policy = { Version: '2012-10-17', Statement: [{ Sid: 'A', Effect: 'Allow', Action: ['kms:Decrypt'] }] };

  test('GIVEN the same policy with keys in another order WHEN compared THEN there is no difference', () => {
    const reordered = { Statement: [{ Action: ['kms:Decrypt'], Effect: 'Allow', Sid: 'A' }], Version: '2012-10-17' };
    expect(firstDifference(policy, reordered)).toBeUndefined();
    expect(JSON.stringify(canonical(reordered))).toEqual(JSON.stringify(canonical(policy)));
  });

  test.each([
    [{ ...policy, Statement: [] }, '$.Statement: expected 1 items, got 0'],
    [{ ...policy, Statement: [{ Sid: 'A', Effect: 'Deny', Action: ['kms:Decrypt'] }] }, '$.Statement[0].Effect: expected "Allow", got "Deny"'],
    [{ Version: '2012-10-17' }, '$.Statement: missing'],
    [{ ...policy, Id: 'x' }, '$.Id: unexpected "x"'],
    [{ ...policy, Statement: [{ Sid: 'A', Effect: 'Allow', Action: 'kms:Decrypt' }] }, '$.Statement[0].Action: expected ["kms:Decrypt"], got "kms:Decrypt"'],
  ])('GIVEN a deployed policy %j WHEN compared THEN the first difference is named', (deployed, message) => {
    expect(firstDifference(policy, deployed)).toBe(message);
  });
});
