// ResolvedOnce: the template reuses the key and bucket policies the synth-time checks resolved, and is exactly what a
// fresh resolution gives, on the first synth and on every later one.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { App, Lazy, Stack } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { Construct } from 'constructs';
import { CmekBucket, CmekGrantee, CmekKey } from '../../src';
import { ResolvedOnce } from '../../src/private/resolved-once';

const ACCOUNT = '111122223333';

function build() {
  const app = new App();
  const stack = new Stack(app, 'Reuse', { env: { account: ACCOUNT, region: 'eu-west-1' } });
  const key = new CmekKey(stack, 'Key', { alias: 'alias/reuse', grantees: [CmekGrantee.account('222233334444', { name: 'acme' })] });
  const bucket = new CmekBucket(stack, 'Bucket', { encryptionKey: key });
  bucket.grantCrossAccountRead(CmekGrantee.account('444455556666', { name: 'reader' }));
  return { app, stack, key, bucket };
}

function template(app: App, skipValidation = false): Record<string, unknown> {
  return app.synth({ force: true, skipValidation }).getStackByName('Reuse').template as Record<string, unknown>;
}

/** How often each policy document is resolved during `f`. */
function resolutions(documents: iam.PolicyDocument[], f: () => void): number[] {
  const counts = documents.map(() => 0);
  const original = iam.PolicyDocument.prototype.resolve;
  const spy = jest.spyOn(iam.PolicyDocument.prototype, 'resolve').mockImplementation(function (this: iam.PolicyDocument, context) {
    const i = documents.indexOf(this);
    if (i >= 0) counts[i]++;
    return original.call(this, context);
  });
  try {
    f();
  } finally {
    spy.mockRestore();
  }
  return counts;
}

describe('ResolvedOnce', () => {
  test('GIVEN a key and a bucket WHEN synthesized THEN the template is what a synth without the checks (no reuse) gives', () => {
    const checked = template(build().app);
    const unchecked = template(build().app, true);
    expect(checked).toEqual(unchecked);
  });

  test('GIVEN a key and a bucket WHEN synthesized THEN tree.json holds what a synth without the checks (no reuse) writes', () => {
    const tree = (skipValidation: boolean) => {
      const assembly = build().app.synth({ force: true, skipValidation });
      const text = fs.readFileSync(path.join(assembly.directory, assembly.tree()!.file), 'utf8');
      return JSON.parse(text) as unknown;
    };
    const checked = tree(false);
    expect(JSON.stringify(checked)).toContain('444455556666');
    expect(checked).toEqual(tree(true));
  });

  test('GIVEN the checks resolved both policies WHEN the template is written THEN it reuses them instead of resolving them again', () => {
    const { app, key, bucket } = build();
    const documents = [key.policy, bucket.policy!.document];
    // Preparation and the check resolve each policy; the template and the tree view reuse the check's resolution.
    expect(resolutions(documents, () => template(app))).toEqual([2, 2]);
    // Without the checks there is nothing to reuse: preparation, the template and the tree view.
    expect(resolutions(documents, () => template(app, true))).toEqual([3, 3]);
  });

  test('GIVEN a first synth WHEN statements are added and it synthesizes again THEN the second template has them', () => {
    const { app, key, bucket } = build();
    expect(JSON.stringify(template(app))).not.toContain('777788889999');
    key.addGrantee(CmekGrantee.account('777788889999', { name: 'late' }));
    bucket.grantCrossAccountRead(CmekGrantee.account('777788889999', { name: 'lateReader' }));
    const second = JSON.stringify(template(app));
    expect(second.match(/777788889999/g)?.length).toBeGreaterThanOrEqual(3);
    expect(JSON.parse(second)).toEqual(template(app, true));
  });

  test('GIVEN an uncached Lazy value in a statement WHEN it changes between synths THEN the second template holds the new value', () => {
    const { app, key } = build();
    let account = '888899990000';
    key.addToResourcePolicy(new iam.PolicyStatement({
      sid: 'LazyReader',
      actions: ['kms:DescribeKey'],
      principals: [new iam.AccountPrincipal(Lazy.uncachedString({ produce: () => account }))],
      resources: ['*'],
    }));
    expect(JSON.stringify(template(app))).toContain('888899990000');
    account = '999900001111';
    const second = JSON.stringify(template(app));
    expect(second).toContain('999900001111');
    expect(second).not.toContain('888899990000');
  });

  test('GIVEN a synth WHEN the key policy is resolved by hand afterwards THEN it is resolved afresh, not the kept value', () => {
    const { app, stack, key } = build();
    template(app);
    key.addGrantee(CmekGrantee.account('121212121212', { name: 'byHand' }));
    expect(JSON.stringify(stack.resolve((key.key.node.defaultChild as kms.CfnKey).keyPolicy))).toContain('121212121212');
  });

  test('GIVEN a synth WHEN it is over THEN neither wrapper holds a resolved policy any more (nothing stays on the heap)', () => {
    const { app, key, bucket } = build();
    const wrappers = [(key.key.node.defaultChild as kms.CfnKey).keyPolicy, (bucket.policy!.node.defaultChild as s3.CfnBucketPolicy).policyDocument];
    for (const w of wrappers) expect(w).toBeInstanceOf(ResolvedOnce);
    template(app);
    for (const w of wrappers) expect((w as { kept?: string }).kept).toBeUndefined();
  });

  test('GIVEN a later validation that adds a statement after the check WHEN synthesized THEN the synth fails instead of writing an unchecked policy', () => {
    const { app, stack, key } = build();
    // Validations run in tree order: this construct comes after the key, so the key's check has run already.
    new Construct(stack, 'Late').node.addValidation({
      validate: () => {
        key.addToResourcePolicy(new iam.PolicyStatement({ sid: 'Late', actions: ['kms:Decrypt'], principals: [new iam.AnyPrincipal()], resources: ['*'] }));
        return [];
      },
    });
    expect(() => template(app)).toThrow(/the key policy of alias\/reuse gained a statement after the synth-time check/);
  });

  test('GIVEN a Lazy principal that turns into * after preparation WHEN synthesized THEN the check sees * and the synth fails', () => {
    const { app, key } = build();
    let calls = 0;
    key.addToResourcePolicy(new iam.PolicyStatement({
      sid: 'Turncoat',
      actions: ['kms:Decrypt'],
      principals: [new iam.ArnPrincipal(Lazy.uncachedString({ produce: () => (calls++ === 0 ? 'arn:aws:iam::111122223333:role/Fine' : '*') }))],
      resources: ['*'],
    }));
    expect(() => template(app)).toThrow(/\[Reuse\/Key\] key policy of alias\/reuse: statement Turncoat allows principal "\*"/);
  });

  test('GIVEN a role of another stack in the key policy WHEN synthesized THEN the check and the template hold its exported ARN', () => {
    const app = new App();
    const env = { account: ACCOUNT, region: 'eu-west-1' };
    const roles = new Stack(app, 'Roles', { env });
    const role = new iam.Role(roles, 'Reader', { assumedBy: new iam.AccountRootPrincipal() });
    const stack = new Stack(app, 'Reuse', { env });
    const key = new CmekKey(stack, 'Key', { alias: 'alias/reuse' });
    key.addToResourcePolicy(new iam.PolicyStatement({ sid: 'CrossStack', actions: ['kms:Decrypt'], principals: [new iam.ArnPrincipal(role.roleArn)], resources: ['*'] }));
    const statement = (template(app).Resources as Record<string, any>)[stack.getLogicalId(key.key.node.defaultChild as kms.CfnKey)]
      .Properties.KeyPolicy.Statement.find((s: { Sid?: string }) => s.Sid === 'CrossStack');
    expect(statement.Principal.AWS).toEqual({ 'Fn::ImportValue': expect.stringMatching(/^Roles:ExportsOutputFnGetAttReader/) });
  });
});
