// Quality gates on synthesized templates and the jsii packages: tasks wired into the project by .projenrc.ts.
import { awscdk, Task } from 'projen';

/** ts-node without type-checking: the test command type-checks `scripts/` with everything else first. */
const TS_NODE = 'ts-node --transpile-only --project tsconfig.dev.json';

/** Adds the template-lint, integ-snapshot and packaging gates to the project. */
export function addQualityGates(project: awscdk.AwsCdkConstructLibrary): void {
  const integSnapshot = project.addTask('integ:snapshot', {
    description: 'Re-synthesize every integ/*.integ.ts app and fail when a template differs from its checked-in snapshot',
    exec: `${TS_NODE} scripts/integ-snapshot.ts`,
  });
  project.addTask('integ:update', {
    description: 'Re-synthesize every integ/*.integ.ts app and rewrite its snapshot (commit the result with the change that explains it)',
    exec: `${TS_NODE} scripts/integ-snapshot.ts --update`,
  });
  const lintTemplates = project.addTask('lint:templates', {
    description: 'Synthesize the example app and every integ app; cfn-lint (no errors or warnings) and checkov (no failed check) on each template',
    exec: `${TS_NODE} scripts/lint-templates.ts`,
  });
  // After jest and eslint: the integ apps load the Lambda bundles the test command builds first.
  project.testTask.spawn(integSnapshot);
  project.testTask.spawn(lintTemplates);

  const rosetta = project.addTask('rosetta:check', {
    description: 'Compile every TypeScript sample in the README and the API docs (jsii-rosetta --strict) and keep their translations in .jsii.tabl.json, where jsii-pacmak reads them; needs `compile` first',
    exec: 'jsii-rosetta extract --strict',
  });
  // jsii-pacmak's Go module would require the aws-cdk-lib installed for development; build it against the peer
  // dependency's minimum instead, as the Python and Java packages declare it.
  project.tasks.tryFind('package:go')?.reset('bash scripts/package-go.sh');
  guardPackaging(project, rosetta);
  project.addTask('test:cdk-floor', {
    description: 'Run the construct tests against the lowest aws-cdk-lib the peer dependency accepts (what Java and Go users get)',
    exec: 'bash scripts/test-cdk-floor.sh',
    receiveArgs: true,
  });
  project.addTask('smoke:python', {
    description: 'Build the Python wheel, install it into a fresh virtualenv, synthesize the example app in Python (cdk-nag included) and compare every template with TypeScript\'s',
    exec: 'bash scripts/smoke-python.sh',
  });
  project.addTask('smoke:go', {
    description: 'Build the Go module, synthesize a key, bucket, envelope-encrypted object, deletion monitor and usage auditor from Go and compare the template with its TypeScript twin',
    exec: 'bash scripts/smoke-go.sh',
  });

  // Scripts hold the gates' logic, and the smoke test has a TypeScript twin: type-check and lint them like the rest.
  project.tryFindObjectFile('tsconfig.dev.json')?.addToArray('include', 'scripts/**/*.ts', 'smoke/**/*.ts');
  project.eslint?.addLintPattern('scripts');
  project.eslint?.addLintPattern('smoke');
  project.eslint?.allowDevDeps('smoke/**');

  project.gitignore.exclude('/cdk.out.quality/', '/.jsii.tabl.json');
  // The npm tarball is what every jsii package (wheel, jar, Go module, NuGet) embeds: keep local tooling,
  // virtualenvs and build output out of it.
  project.addPackageIgnore('/.venv/');
  project.addPackageIgnore('/.tools/');
  project.addPackageIgnore('/cdk.out/');
  project.addPackageIgnore('/cdk.out.quality/');
  project.addPackageIgnore('/scripts/');
  project.addPackageIgnore('/smoke/');
  project.addPackageIgnore('/test-reports/');
  project.addPackageIgnore('/requirements-dev.txt');
  project.addPackageIgnore('/interop/');
}

/** Where each jsii target's package lands, for the check that it carries the bundles (none for .NET: its npm package is embedded in a DLL). */
const PACKAGE_OUTPUT: Record<string, string | undefined> = { js: 'dist/js', python: 'dist/python', java: 'dist/java', go: 'dist/go', dotnet: undefined };

/**
 * Every `package:*` task builds the Lambda and CLI bundles when they are missing or stale and refuses to run without
 * them (`compile` alone does not bundle), translates the samples for the other languages' READMEs, and checks that the
 * package it built carries every bundle.
 */
function guardPackaging(project: awscdk.AwsCdkConstructLibrary, rosetta: Task): void {
  const checkAssets = `${TS_NODE} scripts/check-assets.ts`;
  for (const [target, output] of Object.entries(PACKAGE_OUTPUT)) {
    const task = project.tasks.tryFind(`package:${target}`);
    if (!task) continue;
    const steps = task.steps;
    task.reset(`${checkAssets} --build`, { name: 'build the bundles if missing or stale, and refuse to package without them' });
    if (target !== 'js') task.spawn(rosetta, { name: 'translate the README samples for this language' });
    task.addSteps(...steps);
    if (output) task.exec(`${checkAssets} ${output}`, { name: 'check that the package carries every bundle' });
  }
}
