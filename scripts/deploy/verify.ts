// Reads a deployed stack back through the AWS APIs and compares it with its synthesized template: key policies, rotation, aliases, tags, bucket and topic policies, public-access blocks, alarms, rules.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { CloudFormationClient, DescribeStacksCommand, ListStackResourcesCommand } from '@aws-sdk/client-cloudformation';
import { CloudWatchClient, DescribeAlarmsCommand } from '@aws-sdk/client-cloudwatch';
import { DescribeRuleCommand, EventBridgeClient, ListTargetsByRuleCommand } from '@aws-sdk/client-eventbridge';
import { DescribeKeyCommand, GetKeyPolicyCommand, GetKeyRotationStatusCommand, KMSClient, ListAliasesCommand, ListResourceTagsCommand } from '@aws-sdk/client-kms';
import { GetBucketPolicyCommand, GetBucketVersioningCommand, GetPublicAccessBlockCommand, S3Client } from '@aws-sdk/client-s3';
import { GetTopicAttributesCommand, SNSClient } from '@aws-sdk/client-sns';
import { DeployedResource, firstDifference, resolveTokens, StackFacts } from './resolve';

const CLIENTS = new Map<string, Clients>();

/** SDK clients for one account and region of the emulator: LocalStack takes a 12-digit access key id as the account. */
export class Clients {
  /** The clients for `account` in `region`, made once. */
  public static for(endpoint: string, account: string, region: string): Clients {
    const id = `${endpoint} ${account} ${region}`;
    if (!CLIENTS.has(id)) CLIENTS.set(id, new Clients(endpoint, account, region));
    return CLIENTS.get(id)!;
  }

  public readonly cfn: CloudFormationClient;
  public readonly kms: KMSClient;
  public readonly s3: S3Client;
  public readonly sns: SNSClient;
  public readonly cloudwatch: CloudWatchClient;
  public readonly events: EventBridgeClient;

  private constructor(endpoint: string, account: string, region: string) {
    const config = { endpoint, region, credentials: { accessKeyId: account, secretAccessKey: 'test' }, maxAttempts: 2 };
    this.cfn = new CloudFormationClient(config);
    this.kms = new KMSClient(config);
    this.s3 = new S3Client({ ...config, forcePathStyle: true });
    this.sns = new SNSClient(config);
    this.cloudwatch = new CloudWatchClient(config);
    this.events = new EventBridgeClient(config);
  }
}

/** A CloudFormation template, as far as the checks read it. */
export interface Template {
  readonly Resources: Record<string, { Type: string; Properties?: Record<string, any>; DeletionPolicy?: string; Metadata?: Record<string, any> }>;
}

/** One deployed (possibly nested) stack, its synthesized template and the facts its tokens resolve against. */
export interface DeployedStack {
  readonly label: string;
  readonly template: Template;
  readonly facts: StackFacts;
}

/** A top-level stack of a cloud assembly, as the deploy driver knows it. */
export interface StackRef {
  readonly name: string;
  readonly account: string;
  readonly region: string;
  readonly templateFile: string;
}

/** The stack and its nested stacks as deployed, each with its physical ids and parameters. */
export async function readDeployed(endpoint: string, stack: StackRef): Promise<DeployedStack[]> {
  const clients = Clients.for(endpoint, stack.account, stack.region);
  const out: DeployedStack[] = [];
  const visit = async (label: string, stackName: string, templateFile: string) => {
    const template = JSON.parse(fs.readFileSync(templateFile, 'utf8')) as Template;
    const described = (await clients.cfn.send(new DescribeStacksCommand({ StackName: stackName }))).Stacks?.[0];
    if (!described) throw new Error(`${label}: DescribeStacks found no stack ${stackName}`);
    const resources = new Map<string, DeployedResource>();
    let token: string | undefined;
    do {
      const page = await clients.cfn.send(new ListStackResourcesCommand({ StackName: stackName, NextToken: token }));
      for (const r of page.StackResourceSummaries ?? []) resources.set(r.LogicalResourceId!, { type: r.ResourceType!, physicalId: r.PhysicalResourceId ?? '' });
      token = page.NextToken;
    } while (token);
    const facts: StackFacts = {
      account: stack.account,
      region: stack.region,
      stackName: described.StackName!,
      stackId: described.StackId!,
      parameters: Object.fromEntries((described.Parameters ?? []).map((p) => [p.ParameterKey!, p.ParameterValue ?? ''])),
      resources,
      properties: new Map(Object.entries(template.Resources).map(([id, r]) => [id, r.Properties ?? {}])),
    };
    out.push({ label, template, facts });
    for (const [id, r] of Object.entries(template.Resources)) {
      const nestedFile = r.Metadata?.['aws:asset:path'];
      if (r.Type !== 'AWS::CloudFormation::Stack' || !nestedFile) continue;
      const physical = resources.get(id)?.physicalId;
      if (!physical) throw new Error(`${label}: nested stack ${id} was not deployed`);
      await visit(`${label}/${id}`, physical, path.join(path.dirname(templateFile), nestedFile));
    }
  };
  await visit(stack.name, stack.name, stack.templateFile);
  return out;
}

/** What the checks of one stack found. */
export interface Verification {
  /** Keys whose policy was compared. */
  keys: number;
  checks: number;
  readonly mismatches: string[];
  /** Every key's id by `<stack label>/<logical id>`. */
  readonly keyIds: Map<string, string>;
}

/** Runs every check on every resource of the stack (and its nested stacks) that has one. */
export async function verifyStack(endpoint: string, stack: StackRef, deployed: DeployedStack[]): Promise<Verification> {
  const result: Verification = { keys: 0, checks: 0, mismatches: [], keyIds: new Map() };
  const c = Clients.for(endpoint, stack.account, stack.region);
  for (const d of deployed) {
    for (const [logicalId, resource] of Object.entries(d.template.Resources)) {
      const check = CHECKS[resource.Type];
      if (!check) continue;
      const physicalId = d.facts.resources.get(logicalId)?.physicalId;
      const where = `${d.label}/${logicalId} (${resource.Type})`;
      // LocalStack drops a replaced alias (a rename) from ListStackResources; its check reads KMS, not the stack.
      if (!physicalId && resource.Type !== 'AWS::KMS::Alias') {
        result.mismatches.push(`${where}: not deployed`);
        continue;
      }
      const props = resolveTokens(resource.Properties ?? {}, d.facts) as Record<string, any>;
      const expect = (what: string, expected: unknown, actual: unknown) => {
        result.checks++;
        const diff = firstDifference(expected, actual);
        if (diff) result.mismatches.push(`${where}: ${what} differs from the synthesized template: ${diff}`);
      };
      try {
        await check({ c, physicalId: physicalId ?? '', props, expect, result, key: `${d.label}/${logicalId}` });
      } catch (e) {
        result.mismatches.push(`${where}: ${(e as Error).name}: ${(e as Error).message}`);
      }
    }
  }
  return result;
}

interface CheckContext {
  readonly c: Clients;
  readonly physicalId: string;
  /** The resource's properties, tokens resolved. */
  readonly props: Record<string, any>;
  readonly expect: (what: string, expected: unknown, actual: unknown) => void;
  readonly result: Verification;
  readonly key: string;
}

const parse = (json: string | undefined) => (json === undefined ? undefined : JSON.parse(json));
const tagMap = (tags: { Key?: string; Value?: string; TagKey?: string; TagValue?: string }[] | undefined) =>
  Object.fromEntries((tags ?? []).map((t) => [t.Key ?? t.TagKey, t.Value ?? t.TagValue]));

const CHECKS: Record<string, (x: CheckContext) => Promise<void>> = {
  'AWS::KMS::Key': async ({ c, physicalId: KeyId, props, expect, result, key }) => {
    result.keyIds.set(key, KeyId);
    result.keys++;
    const policy = await c.kms.send(new GetKeyPolicyCommand({ KeyId, PolicyName: 'default' }));
    expect('key policy', props.KeyPolicy, parse(policy.Policy));
    const meta = (await c.kms.send(new DescribeKeyCommand({ KeyId }))).KeyMetadata!;
    expect('key state', props.Enabled === false ? 'Disabled' : 'Enabled', meta.KeyState);
    expect('description', props.Description ?? '', meta.Description ?? '');
    const rotation = await c.kms.send(new GetKeyRotationStatusCommand({ KeyId }));
    expect('rotation', props.EnableKeyRotation === true, rotation.KeyRotationEnabled === true);
    const tags = tagMap((await c.kms.send(new ListResourceTagsCommand({ KeyId }))).Tags);
    const wanted = tagMap(props.Tags);
    expect('tags', wanted, Object.fromEntries(Object.keys(wanted).map((k) => [k, tags[k]])));
  },
  'AWS::KMS::Alias': async ({ c, props, expect }) => {
    const aliases = (await c.kms.send(new ListAliasesCommand({ KeyId: props.TargetKeyId }))).Aliases ?? [];
    expect('alias', true, aliases.some((a) => a.AliasName === props.AliasName));
  },
  'AWS::S3::BucketPolicy': async ({ c, props, expect }) => {
    const policy = await c.s3.send(new GetBucketPolicyCommand({ Bucket: props.Bucket }));
    expect('bucket policy', props.PolicyDocument, parse(policy.Policy));
  },
  'AWS::S3::Bucket': async ({ c, physicalId: Bucket, props, expect }) => {
    if (props.PublicAccessBlockConfiguration) {
      const block = await c.s3.send(new GetPublicAccessBlockCommand({ Bucket }));
      expect('public access block', props.PublicAccessBlockConfiguration, { ...block.PublicAccessBlockConfiguration });
    }
    if (props.VersioningConfiguration) {
      const versioning = await c.s3.send(new GetBucketVersioningCommand({ Bucket }));
      expect('versioning', props.VersioningConfiguration.Status, versioning.Status);
    }
  },
  'AWS::SNS::Topic': async ({ c, physicalId: TopicArn, props, expect }) => {
    const attributes = (await c.sns.send(new GetTopicAttributesCommand({ TopicArn }))).Attributes ?? {};
    expect('topic key', props.KmsMasterKeyId, attributes.KmsMasterKeyId);
  },
  'AWS::SNS::TopicPolicy': async ({ c, props, expect }) => {
    for (const TopicArn of props.Topics as string[]) {
      const attributes = (await c.sns.send(new GetTopicAttributesCommand({ TopicArn }))).Attributes ?? {};
      expect(`topic policy of ${TopicArn}`, props.PolicyDocument, parse(attributes.Policy));
    }
  },
  'AWS::CloudWatch::Alarm': async ({ c, physicalId, props, expect }) => {
    const alarms = (await c.cloudwatch.send(new DescribeAlarmsCommand({ AlarmNames: [physicalId] }))).MetricAlarms ?? [];
    expect('alarm', 1, alarms.length);
    expect('alarm actions', props.AlarmActions ?? [], alarms[0]?.AlarmActions ?? []);
  },
  'AWS::Events::Rule': async ({ c, physicalId, props, expect }) => {
    const Name = physicalId.startsWith('arn:') ? physicalId.split('/').pop()! : physicalId;
    const rule = await c.events.send(new DescribeRuleCommand({ Name }));
    expect('rule state', props.State ?? 'ENABLED', rule.State);
    const targets = (await c.events.send(new ListTargetsByRuleCommand({ Rule: Name }))).Targets ?? [];
    expect('rule targets', (props.Targets ?? []).map((t: { Arn: string }) => t.Arn).sort(), targets.map((t) => t.Arn).sort());
  },
};

/** After `cdk destroy`: every key the template retains is still there and Enabled; every other key is pending deletion. */
export async function verifyRetained(endpoint: string, stack: StackRef, keyIds: Map<string, string>, deployed: DeployedStack[]): Promise<string[]> {
  const c = Clients.for(endpoint, stack.account, stack.region);
  const mismatches: string[] = [];
  for (const d of deployed) {
    for (const [logicalId, r] of Object.entries(d.template.Resources)) {
      if (r.Type !== 'AWS::KMS::Key') continue;
      const KeyId = keyIds.get(`${d.label}/${logicalId}`);
      if (!KeyId) continue;
      // A nested stack inside a retained stack is deleted with its parent: its own policies decide.
      const expected = r.DeletionPolicy === 'Retain' ? 'Enabled' : 'PendingDeletion';
      try {
        const state = (await c.kms.send(new DescribeKeyCommand({ KeyId }))).KeyMetadata?.KeyState;
        if (state !== expected) mismatches.push(`${d.label}/${logicalId}: after destroy the key is ${state}, expected ${expected} (DeletionPolicy ${r.DeletionPolicy ?? 'Delete'})`);
      } catch (e) {
        mismatches.push(`${d.label}/${logicalId}: after destroy DescribeKey failed: ${(e as Error).message} (DeletionPolicy ${r.DeletionPolicy ?? 'Delete'})`);
      }
    }
  }
  return mismatches;
}
