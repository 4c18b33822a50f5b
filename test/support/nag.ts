// Test apps with cdk-nag's AwsSolutions checks: every synthesis of a test stack is also a nag run.
import { App, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';

/** An App whose synthesis fails on any unacknowledged AwsSolutions finding. */
export function nagApp(context?: Record<string, unknown>): App {
  const app = new App({ context });
  Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
  return app;
}
