// walkCfn: which values are intrinsics, and that every hook sees what CloudFormation would.
import { walkCfn } from '../../src/private/cfn-walk';

const tag = {
  ref: (name: unknown) => `<ref ${String(name)}>`,
  join: (separator: unknown, parts: unknown[]) => parts.map(String).join(String(separator)),
  intrinsic: (value: Record<string, unknown>) => `<${Object.keys(value)[0]}>`,
};

describe('walkCfn', () => {
  test('GIVEN nested values WHEN walked with defaults THEN arrays and objects keep their shape, intrinsics are replaced', () => {
    const value = {
      Statement: [{ Resource: { 'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, ':s3:::b/', { 'Fn::GetAtt': ['B', 'Arn'] }]] }, N: 1, F: null }],
    };
    expect(walkCfn(value, tag)).toEqual({ Statement: [{ Resource: 'arn:<ref AWS::Partition>:s3:::b/<Fn::GetAtt>', N: 1, F: null }] });
  });

  test('GIVEN objects with more than one key WHEN walked THEN they are plain objects, not intrinsics', () => {
    expect(walkCfn({ Ref: 'X', Other: 'y' }, tag)).toEqual({ Ref: 'X', Other: 'y' });
  });

  test('GIVEN a join that is not [separator, [parts]] WHEN walked THEN it is an opaque intrinsic', () => {
    expect(walkCfn({ 'Fn::Join': ['', 'not-a-list'] }, tag)).toBe('<Fn::Join>');
    expect(walkCfn({ 'Fn::Join': 'x' }, tag)).toBe('<Fn::Join>');
  });

  test('GIVEN leaf hooks WHEN walked THEN strings, scalars, arrays and plain objects go to them', () => {
    const seen: string[] = [];
    const result = walkCfn({ 'Fn::Join': ['-', ['a', 1, ['x'], { k: 'v' }]] }, {
      ...tag,
      string: (s) => s.toUpperCase(),
      scalar: (v) => `#${String(v)}`,
      array: () => (seen.push('array'), '[]'),
      object: () => (seen.push('object'), '{}'),
    });
    expect(result).toBe('A-#1-[]-{}');
    expect(seen).toEqual(['array', 'object']);
  });
});
