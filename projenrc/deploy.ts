// The `test:deploy` task: real CloudFormation deploys of the example and integ apps to LocalStack, wired in by .projenrc.ts.
import { awscdk, javascript } from 'projen';

/** Adds `test:deploy` and the AWS SDK clients its read-back uses. */
export function addDeployTests(project: awscdk.AwsCdkConstructLibrary): void {
  project.addDevDeps(
    '@aws-sdk/client-cloudformation@^3.1164.0',
    '@aws-sdk/client-eventbridge@^3.1164.0',
    '@aws-sdk/client-sns@^3.1164.0',
  );
  const deploy = project.addTask('test:deploy', {
    description:
      'Deploy the example app, every integ app and a redeploy app to LocalStack (host mode, loopback only); compare what was deployed with what was synthesized, redeploy, destroy',
    // In-process synthesis with ts-node: type-checking is the `typecheck` task's job.
    exec: 'ts-node --transpile-only --project tsconfig.dev.json scripts/deploy/run.ts',
    receiveArgs: true,
  });
  // The apps load the Lambda bundles as assets: a fresh clone has none until the bundle task runs.
  deploy.prependSpawn(javascript.Bundler.of(project)!.bundleTask);
  project.gitignore.exclude('/cdk.out.deploy/');
  project.addPackageIgnore('/cdk.out.deploy/');
}
