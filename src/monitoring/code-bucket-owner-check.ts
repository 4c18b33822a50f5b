// A custom resource in the member template that fails the stack unless the Region's code bucket belongs to the expected account.
import { Aws, CfnResource, CustomResource, Duration } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import { createOwnedFunction } from '../private/owned-function';

/**
 * The check's handler, inline (a bootstrapless member stack takes no asset), on the runtime's own AWS SDK v3.
 * HeadObject with `ExpectedBucketOwner` answers 403 when another account owns the bucket, so code planted in a
 * bucket of that name is never handed to Lambda. A delete always succeeds: there is nothing to undo.
 */
export const OWNER_CHECK_CODE = `const { S3Client, HeadObjectCommand } = require('@aws-sdk/client-s3');
exports.handler = async (event) => {
  const p = event.ResourceProperties;
  let Status = 'SUCCESS', Reason = '';
  if (event.RequestType !== 'Delete') {
    try {
      await new S3Client({}).send(new HeadObjectCommand({ Bucket: p.Bucket, Key: p.Key, ExpectedBucketOwner: p.Owner }));
    } catch (e) {
      Status = 'FAILED';
      Reason = 'code bucket ' + p.Bucket + ' must be owned by account ' + p.Owner + ' and let this account read ' + p.Key
        + ', got: ' + (e.name || 'error') + ' (HTTP ' + ((e.$metadata || {}).httpStatusCode || '-') + ')';
    }
  }
  const body = JSON.stringify({ Status, Reason, PhysicalResourceId: event.PhysicalResourceId || p.Bucket + '/' + p.Key,
    StackId: event.StackId, RequestId: event.RequestId, LogicalResourceId: event.LogicalResourceId });
  await fetch(event.ResponseURL, { method: 'PUT', body, headers: { 'content-type': '' } });
};
`;

/** What the owner check checks. */
export interface CodeBucketOwnerCheckProps {
  /** The code bucket's name. */
  readonly bucketName: string;
  /** The audit bundle's key in it. */
  readonly key: string;
  /** The 12-digit account that must own the bucket. */
  readonly owner: string;
}

/** The owner check: its function (allowed to read the one bundle object, nothing else in S3) and the custom resource. */
export class CodeBucketOwnerCheck extends Construct {
  /** The custom resource the auditor's function depends on. */
  public readonly resource: CfnResource;

  constructor(scope: Construct, id: string, props: CodeBucketOwnerCheckProps) {
    super(scope, id);
    const owned = createOwnedFunction(this, {
      roleDescription: 'Checks that the audit code bucket belongs to the expected account',
      description: 'cdk-cmek: refuses audit code from a bucket another account owns',
      code: lambda.Code.fromInline(OWNER_CHECK_CODE),
      handler: 'index.handler',
      memorySize: 128,
      timeout: Duration.seconds(30),
      logRetention: logs.RetentionDays.ONE_MONTH,
      statements: [new iam.PolicyStatement({
        actions: ['s3:GetObject'],
        resources: [`arn:${Aws.PARTITION}:s3:::${props.bucketName}/${props.key}`],
      })],
      reasons: {
        noDeadLetterQueue: 'CloudFormation invokes the check synchronously and reads its answer; a failure fails the stack.',
        noVpc: 'The check calls only S3 through its public endpoint; it reaches no private resource.',
        noReservedConcurrency: 'The check runs once per stack create or update.',
        unencryptedLogs: 'The check logs only the bucket name, the key and the error S3 answers.',
      },
    });
    const resource = new CustomResource(this, 'Resource', {
      serviceToken: owned.function.functionArn,
      resourceType: 'Custom::CodeBucketOwner',
      properties: { Bucket: props.bucketName, Key: props.key, Owner: props.owner },
    });
    // The S3 read must be allowed before CloudFormation calls the check.
    resource.node.addDependency(owned.policy);
    this.resource = resource.node.defaultChild as CfnResource;
  }
}
