// The member template of a KeyUsageAuditorStackSet: a KeyUsageAuditor synthesized in an App of its own, with no asset and no bootstrap.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Annotations, App, Aws, BootstraplessSynthesizer, FileSystem, IPolicyValidationPlugin, Stack, Stage, Token, Validations } from 'aws-cdk-lib';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { Construct } from 'constructs';
import { CodeBucketOwnerCheck } from './code-bucket-owner-check';
import { AUDITOR_BUNDLE_DIR, AUDITOR_CODE, KeyUsageAuditor, KeyUsageAuditorOptions } from './key-usage-auditor';

/** The most TemplateBody a StackSet takes (CloudFormation's quota), in bytes. */
export const MAX_TEMPLATE_BODY_BYTES = 51_200;

/** The name of the member stack in its own App, which is also the default start of its alarm names. */
export const MEMBER_STACK_NAME = 'KeyUsageAuditor';

/** The S3 key of the audit bundle in every code bucket: content-hashed, so a new bundle is a new key and a Lambda update. */
export function auditorCodeKey(): string {
  return `cdk-cmek/key-usage-auditor/${FileSystem.fingerprint(AUDITOR_BUNDLE_DIR)}.zip`;
}

/** The auditor's options whose values must be fixed: the member template is rendered apart from the deploying stack. */
const FIXED_OPTIONS: Array<keyof KeyUsageAuditorOptions> = ['thresholdDays', 'aliasPrefix', 'tagKey', 'tagValue', 'alarmNamePrefix', 'logRetention'];

/**
 * The validation plugins registered on the caller's app and stages. aws-cdk-lib keeps them on each Stage without a
 * public getter (only a deprecated one that wraps them), so they are read where it keeps them, if it does.
 */
function callerValidationPlugins(scope: Construct): IPolicyValidationPlugin[] {
  const plugins: IPolicyValidationPlugin[] = [];
  for (let stage = Stage.of(scope); stage !== undefined; stage = stage.parentStage) {
    plugins.push(...((stage as { readonly _validationPlugins?: IPolicyValidationPlugin[] })._validationPlugins ?? []));
  }
  return plugins;
}

/** Refuses a template CloudFormation would not take as a StackSet's TemplateBody. */
export function validateTemplateBodySize(body: string): void {
  const bytes = Buffer.byteLength(body, 'utf8');
  if (bytes > MAX_TEMPLATE_BODY_BYTES) {
    throw new Error(`the member template must be at most ${MAX_TEMPLATE_BODY_BYTES} bytes to be a StackSet's TemplateBody, got: ${bytes} bytes`);
  }
}

/** The rendered member template. */
export interface MemberTemplate {
  /** The template as CloudFormation takes it. */
  readonly body: string;
  /** The S3 key of the audit bundle the template's function takes from `<codeBucketPrefix>-<region>`. */
  readonly codeKey: string;
}

/**
 * Renders the member stack: the same locked-down `KeyUsageAuditor` any stack gets, env-agnostic (each target
 * account and Region fills in its own), with its code from `<codeBucketPrefix>-<region>` because member accounts
 * cannot read the deploying account's CDK asset bucket. The App takes the caller's context, so feature flags are
 * the same as in the rest of the app, and the caller's validation plugins (cdk-nag, say), so the member template is
 * held to the same checks; path metadata and version reporting are left out to keep the body small.
 */
export function renderMemberTemplate(
  scope: Construct, codeBucketPrefix: string, codeBucketOwner: string, options: KeyUsageAuditorOptions,
): MemberTemplate {
  for (const name of FIXED_OPTIONS) {
    const value = options[name];
    if (value !== undefined && Token.isUnresolved(value)) {
      throw new Error(`\`auditor.${name}\` must be a fixed value (the member template is rendered apart from this stack), got: a token`);
    }
  }
  const codeKey = auditorCodeKey();
  const outdir = fs.mkdtempSync(path.join(os.tmpdir(), 'cdk-cmek-stackset-'));
  try {
    const app = new App({
      outdir,
      autoSynth: false,
      context: scope.node.getAllContext(),
      postCliContext: { 'aws:cdk:enable-path-metadata': false, 'aws:cdk:version-reporting': false },
      treeMetadata: false,
    });
    const plugins = callerValidationPlugins(scope);
    if (plugins.length > 0) Validations.of(app).addPlugins(...plugins);
    const stack = new Stack(app, MEMBER_STACK_NAME, {
      // Both pseudo parameters: an env inherited from the app would pin every member to one account and Region.
      env: { account: Aws.ACCOUNT_ID, region: Aws.REGION },
      // Member accounts are not bootstrapped, and a bootstrapless stack refuses any asset.
      synthesizer: new BootstraplessSynthesizer(),
      analyticsReporting: false,
    });
    const bucketName = `${codeBucketPrefix}-${Aws.REGION}`;
    const bucket = s3.Bucket.fromBucketName(stack, 'AuditorCode', bucketName);
    // The key carries the bundle's hash: a new bundle is a new key, which CloudFormation sees as a code change.
    Annotations.of(bucket).acknowledgeWarning('@aws-cdk/aws-lambda:codeFromBucketObjectVersionNotSpecified', 'the code key is content-hashed');
    AUDITOR_CODE.set(stack, lambda.Code.fromBucket(bucket, codeKey));
    let auditor: KeyUsageAuditor;
    try {
      auditor = new KeyUsageAuditor(stack, 'Auditor', options);
    } catch (e) {
      // The member's own path means nothing to the caller; the caller's path is put in front of the reason.
      const message = String((e as Error).message).replace(/^[\w.-]+(\/[\w.-]+)+: /, '');
      throw new Error(message.replace(/^`(\w+)`/, '`auditor.$1`'));
    }
    // Anyone may own a bucket of that name (one never created, deleted, or in a Region added later): the function is
    // created only once the bucket is known to belong to the expected account, so planted code never runs.
    const check = new CodeBucketOwnerCheck(stack, 'CodeBucketOwner', { bucketName, key: codeKey, owner: codeBucketOwner });
    (auditor.auditFunction.node.defaultChild as lambda.CfnFunction).node.addDependency(check.resource);
    const assembly = app.synth();
    const body = JSON.stringify(assembly.getStackArtifact(stack.artifactId).template);
    validateTemplateBodySize(body);
    return { body, codeKey };
  } finally {
    fs.rmSync(outdir, { recursive: true, force: true });
  }
}
