// The one grantee → statement model, tested without a stack: key policy, bucket policy, identity policy.
import * as iam from 'aws-cdk-lib/aws-iam';
import { BoundGrantee, bucketPolicyStatement, identityStatement, isOrganizationWide, keyPolicyStatements } from '../../src/key/grantee-statements';

const ROLE = 'arn:aws:iam::111122223333:role/Reader';

function grantee(over: Partial<BoundGrantee> = {}): BoundGrantee {
  return {
    kind: 'role',
    name: 'Reader',
    principal: new iam.ArnPrincipal(ROLE),
    actions: ['kms:Decrypt', 'kms:DescribeKey'],
    principalConditions: {},
    viaServices: [],
    sourceVpce: [],
    contextConditions: {},
    ...over,
  };
}

const json = (s: iam.PolicyStatement) => s.toStatementJson();

describe('keyPolicyStatements', () => {
  test('GIVEN a grantee without conditions WHEN rendered THEN one statement, its Sid from the name', () => {
    const statements = keyPolicyStatements(grantee()).map(json);
    expect(statements).toEqual([{ Sid: 'CmekUsageReader', Effect: 'Allow', Principal: { AWS: ROLE }, Action: ['kms:Decrypt', 'kms:DescribeKey'], Resource: '*' }]);
  });

  test('GIVEN an encryption context WHEN rendered THEN DescribeKey is split out without the context but with the network path', () => {
    const statements = keyPolicyStatements(grantee({
      viaServices: ['s3.eu-west-1.amazonaws.com'],
      sourceVpce: ['vpce-0a1b2c3d4e5f67890'],
      contextConditions: { StringEquals: { 'kms:EncryptionContext:app': 'a' } },
    })).map(json);
    expect(statements).toHaveLength(2);
    expect(statements[0]).toMatchObject({
      Sid: 'CmekUsageReader',
      Action: 'kms:Decrypt',
      Condition: { StringEquals: { 'kms:ViaService': ['s3.eu-west-1.amazonaws.com'], 'aws:SourceVpce': ['vpce-0a1b2c3d4e5f67890'], 'kms:EncryptionContext:app': 'a' } },
    });
    expect(statements[1]).toMatchObject({
      Sid: 'CmekUsageReaderDescribe',
      Action: 'kms:DescribeKey',
      Condition: { StringEquals: { 'kms:ViaService': ['s3.eu-west-1.amazonaws.com'], 'aws:SourceVpce': ['vpce-0a1b2c3d4e5f67890'] } },
    });
  });

  test('GIVEN an organization WHEN rendered THEN the principal condition is on every statement and the kind says organization-wide', () => {
    const org = grantee({ kind: 'organization', principal: new iam.AnyPrincipal(), principalConditions: { StringEquals: { 'aws:PrincipalOrgID': 'o-a1b2c3d4e5' } } });
    expect(keyPolicyStatements(org).map(json)[0].Condition).toEqual({ StringEquals: { 'aws:PrincipalOrgID': 'o-a1b2c3d4e5' } });
    expect(isOrganizationWide(org)).toBe(true);
    // The kind decides, not a condition that happens to look the same.
    expect(isOrganizationWide(grantee({ principalConditions: { StringEquals: { 'aws:PrincipalOrgID': 'o-a1b2c3d4e5' } } }))).toBe(false);
  });
});

describe('bucketPolicyStatement', () => {
  test('GIVEN a grantee with KMS-only and network conditions WHEN rendered for a bucket THEN only who and the network path remain', () => {
    const s = json(bucketPolicyStatement(grantee({
      viaServices: ['s3.eu-west-1.amazonaws.com'],
      sourceVpce: ['vpce-0a1b2c3d4e5f67890'],
      contextConditions: { StringEquals: { 'kms:EncryptionContext:app': 'a' } },
    }), 'ReaderS3Read', ['s3:GetObject*'], ['arn:aws:s3:::b/*']));
    expect(s).toEqual({
      Sid: 'ReaderS3Read',
      Effect: 'Allow',
      Principal: { AWS: ROLE },
      Action: 's3:GetObject*',
      Resource: 'arn:aws:s3:::b/*',
      Condition: { StringEquals: { 'aws:SourceVpce': ['vpce-0a1b2c3d4e5f67890'] } },
    });
  });
});

describe('identityStatement', () => {
  test('GIVEN a principal in the same stack WHEN asked THEN none: the resource policy names it', () => {
    expect(identityStatement(grantee(), 'key', ['arn:aws:kms:eu-west-1:999999999999:key/k'], ['kms:Decrypt'])).toBeUndefined();
  });

  test('GIVEN a principal in another stack WHEN asked for key and bucket THEN each carries the conditions its resource policy carries', () => {
    const role = new iam.ArnPrincipal(ROLE);
    const g = grantee({ identityPrincipal: role, viaServices: ['s3.eu-west-1.amazonaws.com'], sourceVpce: ['vpce-0a1b2c3d4e5f67890'] });
    const key = json(identityStatement(g, 'key', ['arn:aws:kms:eu-west-1:999999999999:key/k'], ['kms:Decrypt'])!);
    expect(key.Condition).toEqual({ StringEquals: { 'kms:ViaService': ['s3.eu-west-1.amazonaws.com'], 'aws:SourceVpce': ['vpce-0a1b2c3d4e5f67890'] } });
    const bucket = json(identityStatement(g, 'bucket', ['arn:aws:s3:::b'], ['s3:GetObject*'])!);
    expect(bucket).toEqual({ Effect: 'Allow', Action: 's3:GetObject*', Resource: 'arn:aws:s3:::b', Condition: { StringEquals: { 'aws:SourceVpce': ['vpce-0a1b2c3d4e5f67890'] } } });
  });
});
