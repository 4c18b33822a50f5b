// The App every integration app synthesizes into: recommended feature flags, cdk-nag, no version reporting.
import { App, Environment, Stack, Validations } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as s3 from 'aws-cdk-lib/aws-s3';
import * as cxapi from 'aws-cdk-lib/cx-api';
import { AwsSolutionsChecks } from 'cdk-nag';
import { Construct } from 'constructs';
import { CmekAccessLogsBucket } from '../../src';

/** The platform team's account: it owns the keys. */
export const PLATFORM_ENV: Environment = { account: '999999999999', region: 'eu-west-1' };

/** A vendor's account: it uses the platform team's keys. */
export const VENDOR_ACCOUNT = '111122223333';

/**
 * An App as `cdk init` makes it today (every currently recommended feature flag), whose synthesis fails
 * on an unacknowledged cdk-nag AwsSolutions finding. Version reporting is off so that a snapshot changes
 * only when a template does.
 */
export function integApp(): App {
  const app = new App({
    context: { ...cxapi.CURRENTLY_RECOMMENDED_FLAGS },
    analyticsReporting: false,
  });
  Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
  return app;
}

/** A server-access-log destination: the library's own, delivered through its bucket policy (the recommended flags). */
export function accessLogsBucket(scope: Construct): s3.IBucket {
  return new CmekAccessLogsBucket(scope, 'AccessLogs');
}

/**
 * The vendor's own stack, in the vendor's account: the roles the platform's policies grant by ARN live there.
 * `dependent` (the platform's stack) deploys after it, because KMS and S3 refuse a policy naming a principal that
 * does not exist yet.
 */
export function vendorStack(app: App, id: string, dependent: Stack): Stack {
  const vendor = new Stack(app, id, { env: { account: VENDOR_ACCOUNT, region: PLATFORM_ENV.region } });
  dependent.node.addDependency(vendor);
  return vendor;
}

/** A role with a fixed name, for policies that name it by ARN: a vendor's workload role, or a break-glass role a replica's policy copies. */
export function namedRole(scope: Construct, roleName: string, description: string, assumedBy?: iam.IPrincipal): iam.Role {
  const id = roleName.replace(/(^|-)([a-z])/g, (_, _dash: string, c: string) => c.toUpperCase());
  return new iam.Role(scope, id, { roleName, description, assumedBy: assumedBy ?? new iam.ServicePrincipal('ecs-tasks.amazonaws.com') });
}

/** Assumed by a person of the account, with MFA, to delete or disable a key that is still in use. */
export function breakGlassPrincipal(): iam.IPrincipal {
  return new iam.AccountRootPrincipal().withConditions({ Bool: { 'aws:MultiFactorAuthPresent': 'true' } });
}
