// CmekOrganizationGuard's template: policy type, targets, the guard's statements, the RCP rules, the size limit and refusals.
import { validateResourceControlPolicy, validateServiceControlPolicy } from '@cloud-copilot/iam-policy';
import { App, Duration, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { CmekKey, CmekOrganizationGuard, CmekOrganizationGuardProps, CmekOrganizationPolicyType } from '../../src';
import { nagApp } from '../support/nag';

const ENV = { account: '999999999999', region: 'us-east-1' };
const BREAK_GLASS = 'arn:aws:iam::222233334444:role/KeyBreakGlass';
const EVERY_BREAK_GLASS = 'arn:aws:iam::*:role/KeyBreakGlass';

function guardStack(props: Partial<CmekOrganizationGuardProps> = {}): Stack {
  const stack = new Stack(nagApp(), 'Org', { env: ENV });
  new CmekOrganizationGuard(stack, 'Guard', { targetIds: ['r-ab12'], ...props });
  return stack;
}

function policyResource(stack: Stack): any {
  const [only] = Object.values(Template.fromStack(stack).findResources('AWS::Organizations::Policy'));
  return only.Properties;
}

/** The one-line errors synthesis fails with, without their construct paths. */
function synthErrors(stack: Stack): string[] {
  try {
    (stack.node.root as App).synth();
    return [];
  } catch (e) {
    return String((e as Error).message)
      .split('\n')
      .map((l) => /^\s*\[[^\]]*\] (.*)$/.exec(l)?.[1])
      .filter((l): l is string => l !== undefined);
  }
}

/** `count` distinct concrete break-glass ARNs, one per member account. */
function exemptions(count: number): string[] {
  return Array.from({ length: count }, (_, i) => `arn:aws:iam::${String(100000000000 + i)}:role/KeyBreakGlass`);
}

const sizeOf = (stack: Stack) => JSON.stringify(policyResource(stack).Content).length;
const GUARDED = ['kms:ScheduleKeyDeletion', 'kms:DisableKey'];

/** An RCP statement as the template must hold it. */
function deny(sid: string, action: string | string[], condition: Record<string, unknown>): Record<string, unknown> {
  return { Sid: sid, Effect: 'Deny', Principal: '*', Action: action, Resource: '*', Condition: condition };
}

describe('CmekOrganizationGuard', () => {
  test('GIVEN defaults WHEN synthesized THEN one RCP attached to the targets denies deletion and disabling at or below 365 days, fail closed, with a 30-day floor', () => {
    const props = policyResource(guardStack({ targetIds: ['r-ab12', 'ou-ab12-cdef3456', '222233334444'], exemptPrincipalArns: [BREAK_GLASS] }));
    expect(props.Type).toBe('RESOURCE_CONTROL_POLICY');
    expect(props.Name).toBe('cmek-deletion-guard-rcp');
    expect(props.TargetIds).toEqual(['r-ab12', 'ou-ab12-cdef3456', '222233334444']);
    const exempt = { ArnNotLike: { 'aws:PrincipalArn': [BREAK_GLASS] } };
    expect(props.Content).toEqual({
      Version: '2012-10-17',
      Statement: [
        deny('CmekDeletionGuard', GUARDED, { NumericLessThanEquals: { 'kms:TrailingDaysWithoutKeyUsage': '365' }, ...exempt }),
        deny('CmekDeletionGuardUsageUnknown', GUARDED, { Null: { 'kms:TrailingDaysWithoutKeyUsage': 'true' }, ...exempt }),
        deny('CmekMinimumPendingWindow', 'kms:ScheduleKeyDeletion', { NumericLessThan: { 'kms:ScheduleKeyDeletionPendingWindowInDays': '30' } }),
      ],
    });
  });

  test('GIVEN the same options WHEN compared with a CmekKey\'s key policy THEN the guard conditions are identical', () => {
    const keyStack = new Stack(nagApp(), 'K', { env: ENV });
    new CmekKey(keyStack, 'K', { alias: 'cmek/k', deletionGuard: { minDaysUnused: 90, exemptPrincipalArns: [BREAK_GLASS] } });
    const [key] = Object.values(Template.fromStack(keyStack).findResources('AWS::KMS::Key'));
    const keyStatements = key.Properties.KeyPolicy.Statement as any[];
    const orgStatements = policyResource(guardStack({ minDaysUnused: 90, exemptPrincipalArns: [BREAK_GLASS] })).Content.Statement as any[];
    for (const sid of ['CmekDeletionGuard', 'CmekDeletionGuardUsageUnknown', 'CmekMinimumPendingWindow']) {
      const inKey = keyStatements.find((s) => s.Sid === sid);
      const inOrg = orgStatements.find((s) => s.Sid === sid);
      expect([inOrg.Condition, inOrg.Action]).toEqual([inKey.Condition, inKey.Action]);
    }
  });

  test('GIVEN the RCP WHEN checked against the RCP rules THEN it is valid: Deny only, Principal "*", no NotPrincipal', () => {
    const content = policyResource(guardStack({ exemptPrincipalArns: [BREAK_GLASS, EVERY_BREAK_GLASS] })).Content;
    expect(validateResourceControlPolicy(content)).toEqual([]);
    for (const s of content.Statement) {
      expect([s.Effect, s.Principal, s.NotPrincipal, s.NotAction]).toEqual(['Deny', '*', undefined, undefined]);
    }
  });

  test('GIVEN the SCP variant WHEN synthesized THEN its statements carry no Principal and it is a valid SCP', () => {
    const props = policyResource(guardStack({ policyType: CmekOrganizationPolicyType.SERVICE_CONTROL_POLICY, exemptPrincipalArns: [BREAK_GLASS] }));
    expect([props.Type, props.Name]).toEqual(['SERVICE_CONTROL_POLICY', 'cmek-deletion-guard-scp']);
    expect(validateServiceControlPolicy(props.Content)).toEqual([]);
    expect(props.Content.Statement.map((s: any) => [s.Sid, 'Principal' in s])).toEqual([
      ['CmekDeletionGuard', false], ['CmekDeletionGuardUsageUnknown', false], ['CmekMinimumPendingWindow', false],
    ]);
  });

  test('GIVEN allowWhenUsageUnknown and a 7-day floor WHEN synthesized THEN only the usage statement remains, without exemptions', () => {
    const props = { allowWhenUsageUnknown: true, minPendingWindow: Duration.days(7), minDaysUnused: 30 };
    expect(policyResource(guardStack(props)).Content.Statement).toEqual([
      deny('CmekDeletionGuard', GUARDED, { NumericLessThanEquals: { 'kms:TrailingDaysWithoutKeyUsage': '30' } }),
    ]);
  });

  test('GIVEN a 21-day floor, a name and a description WHEN synthesized THEN they are written', () => {
    const props = policyResource(guardStack({ minPendingWindow: Duration.days(21), policyName: 'keys-guard', description: 'Key guard' }));
    expect([props.Name, props.Description]).toEqual(['keys-guard', 'Key guard']);
    expect(props.Content.Statement[2].Condition).toEqual({ NumericLessThan: { 'kms:ScheduleKeyDeletionPendingWindowInDays': '21' } });
  });

  test('GIVEN a wildcard-account exemption WHEN synthesized THEN it is accepted and written as given', () => {
    const stack = guardStack({ exemptPrincipalArns: [EVERY_BREAK_GLASS] });
    expect(synthErrors(stack)).toEqual([]);
    expect(policyResource(stack).Content.Statement[0].Condition.ArnNotLike).toEqual({ 'aws:PrincipalArn': [EVERY_BREAK_GLASS] });
  });

  describe('targets', () => {
    test('GIVEN a root, an OU and an account WHEN synthesized THEN nothing is refused', () => {
      expect(synthErrors(guardStack({ targetIds: ['r-0a1b', 'ou-0a1b-2c3d4e5f', '123456789012'] }))).toEqual([]);
    });

    test('GIVEN three bad ids and a good one WHEN synthesized THEN one line per bad id', () => {
      expect(synthErrors(guardStack({ targetIds: ['r-ab12', 'r-AB12', 'ou-ab12', '12345678901'] }))).toEqual([
        '`targetIds` must hold root ids (r-xxxx), organizational unit ids (ou-xxxx-xxxxxxxx) or 12-digit account ids, got: "r-AB12"',
        '`targetIds` must hold root ids (r-xxxx), organizational unit ids (ou-xxxx-xxxxxxxx) or 12-digit account ids, got: "ou-ab12"',
        '`targetIds` must hold root ids (r-xxxx), organizational unit ids (ou-xxxx-xxxxxxxx) or 12-digit account ids, got: "12345678901"',
      ]);
    });

    test('GIVEN no target or one twice WHEN synthesized THEN refused', () => {
      expect(synthErrors(guardStack({ targetIds: [] }))).toEqual([
        '`targetIds` must name at least one root (r-xxxx), organizational unit (ou-xxxx-xxxxxxxx) or account (12 digits), got: an empty list',
      ]);
      expect(synthErrors(guardStack({ targetIds: ['r-ab12', 'r-ab12'] }))).toEqual([
        '`targetIds` must not name a target twice (Organizations attaches a policy once per target), got: "r-ab12" twice',
      ]);
    });
  });

  describe('exemptions', () => {
    test.each([
      ['a wildcard in the name', 'arn:aws:iam::*:role/KeyBreak*'],
      ['an account root', 'arn:aws:iam::222233334444:root'],
      ['a wildcard account without a name', 'arn:aws:iam::*:*'],
      ['a partial account wildcard', 'arn:aws:iam::2222*:role/KeyBreakGlass'],
    ])('GIVEN %s WHEN synthesized THEN refused with one line', (_name, arn) => {
      expect(synthErrors(guardStack({ exemptPrincipalArns: [BREAK_GLASS, arn] }))).toEqual([
        `\`exemptPrincipalArns\` must hold IAM role or user ARNs with a concrete name, such as arn:aws:iam::111122223333:role/KeyBreakGlass or arn:aws:iam::*:role/KeyBreakGlass (the account may be *, the name may not hold wildcards; no account roots), got: "${arn}"`,
      ]);
    });

    test('GIVEN an STS session ARN WHEN synthesized THEN refused: it would never match', () => {
      const session = 'arn:aws:sts::222233334444:assumed-role/KeyBreakGlass/alice';
      expect(synthErrors(guardStack({ exemptPrincipalArns: [session] }))).toEqual([
        `\`exemptPrincipalArns\` must hold IAM role or user ARNs, not STS session ARNs: aws:PrincipalArn of an assumed role is the role ARN (arn:aws:iam::<account>:role/<name>), so this entry would never match, got: "${session}"`,
      ]);
    });
  });

  describe('the 5,120-character limit', () => {
    test('GIVEN 1, 10 and 50 concrete exemptions WHEN synthesized THEN 1 and 10 fit, and 50 are refused with the exact size and how many fit', () => {
      const [one, ten] = [1, 10].map((n) => {
        const stack = guardStack({ exemptPrincipalArns: exemptions(n) });
        expect(synthErrors(stack)).toEqual([]);
        return sizeOf(stack);
      });
      // Each further ARN of the same length costs the same: listed in two statements, quoted, with a comma.
      const perArn = (ten - one) / 9;
      expect(perArn).toBe(2 * (exemptions(1)[0].length + 3));
      const fifty = one + 49 * perArn;
      const fit = 1 + Math.floor((5120 - one) / perArn);
      expect([one, ten, fifty, fit]).toEqual([819, 1665, 5425, 46]);
      expect(synthErrors(guardStack({ exemptPrincipalArns: exemptions(50) }))).toEqual([
        'the deletion guard\'s resource control policy would be 5425 characters, over the Organizations limit of 5120: 46 of these 50 `exemptPrincipalArns` would fit, got: 50 (one arn:aws:iam::*:role/<name> pattern stands for that role in every account)',
      ]);
    });

    test('GIVEN exactly as many exemptions as the refusal says fit WHEN synthesized THEN it fits, and one more does not', () => {
      const fit = guardStack({ exemptPrincipalArns: exemptions(46) });
      expect(synthErrors(fit)).toEqual([]);
      expect(sizeOf(fit)).toBeLessThanOrEqual(5120);
      expect(synthErrors(guardStack({ exemptPrincipalArns: exemptions(47) }))).toEqual([
        'the deletion guard\'s resource control policy would be 5143 characters, over the Organizations limit of 5120: 46 of these 47 `exemptPrincipalArns` would fit, got: 47 (one arn:aws:iam::*:role/<name> pattern stands for that role in every account)',
      ]);
    });

    test('GIVEN fail open (the exemptions are listed once) WHEN 50 exemptions are given THEN they fit; 120 do not, and more fit than fail closed', () => {
      expect(synthErrors(guardStack({ exemptPrincipalArns: exemptions(50), allowWhenUsageUnknown: true }))).toEqual([]);
      const [line] = synthErrors(guardStack({ exemptPrincipalArns: exemptions(120), allowWhenUsageUnknown: true }));
      expect(line).toMatch(/^the deletion guard's resource control policy would be \d+ characters, over the Organizations limit of 5120: \d+ of these 120 /);
      expect(Number(/: (\d+) of these/.exec(line)![1])).toBeGreaterThan(46);
    });

    test('GIVEN the SCP variant over the limit WHEN synthesized THEN the line names a service control policy', () => {
      const [line] = synthErrors(guardStack({ policyType: CmekOrganizationPolicyType.SERVICE_CONTROL_POLICY, exemptPrincipalArns: exemptions(50) }));
      expect(line).toBe('the deletion guard\'s service control policy would be 5377 characters, over the Organizations limit of 5120: 47 of these 50 `exemptPrincipalArns` would fit, got: 50 (one arn:aws:iam::*:role/<name> pattern stands for that role in every account)');
    });
  });

  describe('props refused at the call', () => {
    test.each<[string, Partial<CmekOrganizationGuardProps>, string]>([
      ['minDaysUnused 0', { minDaysUnused: 0 }, '`minDaysUnused` must be an integer from 1 to 36500, got: 0'],
      ['minDaysUnused 1.5', { minDaysUnused: 1.5 }, '`minDaysUnused` must be an integer from 1 to 36500, got: 1.5'],
      ['minPendingWindow 31 days', { minPendingWindow: Duration.days(31) }, '`minPendingWindow` must be a whole number of days from 7 to 30, got: 31 days'],
      ['an empty policyName', { policyName: '' }, '`policyName` must be 1 to 128 characters, got: "" (0 characters)'],
      ['a 513-character description', { description: 'x'.repeat(513) }, '`description` must be at most 512 characters, got: 513 characters'],
    ])('GIVEN %s THEN one line', (_name, props, message) => {
      expect(() => guardStack(props)).toThrow(message);
    });
  });
});
