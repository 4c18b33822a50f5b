// The one place the cdk-cmek project is configured: run `npx projen` after editing.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { awscdk, DependencyType, javascript, JsonFile } from 'projen';
import { TypescriptConfig, TypescriptConfigExtends, UpdateSnapshot } from 'projen/lib/javascript';
import { addBenchmarks } from './projenrc/bench';
import { addDeployTests } from './projenrc/deploy';
import { addQualityGates } from './projenrc/quality';

/** Every `*.lambda.ts` handler under `src/`, as a project-relative path. */
function lambdaEntrypoints(dir = 'src'): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = path.posix.join(dir, e.name);
    if (e.isDirectory()) return lambdaEntrypoints(p);
    return e.name.endsWith('.lambda.ts') ? [p] : [];
  });
}

const project = new awscdk.AwsCdkConstructLibrary({
  name: 'cdk-cmek',
  description:
    'Customer-managed KMS keys (CMEK) for vendors and cross-account workloads: least-privilege key policies, a deletion guard, monitoring, encrypted buckets and envelope-encrypted objects.',
  author: 'cdk-cmek maintainers',
  authorAddress: 'maintainers@cdk-cmek.dev',
  repositoryUrl: 'https://github.com/cdk-cmek/cdk-cmek.git',
  keywords: ['cdk', 'kms', 'cmek', 'byok', 'encryption', 'key-policy', 's3', 'envelope-encryption'],
  license: 'Apache-2.0',
  stability: 'experimental',

  defaultReleaseBranch: 'main',
  // The floor of what the bundled CLI runs on: the AWS SDK v3 and commander 14 both declare node >= 20.
  minNodeVersion: '20.0.0',
  packageManager: javascript.NodePackageManager.NPM,
  projenrcTs: true,
  projenVersion: '0.103.25',
  // The peer dependency's floor: the newest aws-cdk-lib that Maven Central and the Go module proxy serve, so that the
  // Java and Go packages resolve (both lag npm). The library is developed and tested against the newer devDependency
  // below; `test:cdk-floor` runs the construct tests against this floor.
  cdkVersion: '2.263.0',
  constructsVersion: '10.8.1',
  peerDependencyOptions: { pinnedDevDependency: false },
  jsiiVersion: '~6.0.0',
  typescriptVersion: '~6.0.0',
  cdkCliVersion: '^2.1148.1',

  // CI is `.ci/run` on a fresh clone; releases are cut by hand.
  github: false,
  release: false,
  sampleCode: false,

  publishToPypi: { distName: 'cdk-cmek', module: 'cdk_cmek' },
  publishToMaven: {
    javaPackage: 'io.github.cdkcmek',
    mavenGroupId: 'io.github.cdkcmek',
    mavenArtifactId: 'cdk-cmek',
  },
  publishToGo: { moduleName: 'github.com/cdk-cmek/cdk-cmek-go', packageName: 'cdkcmek' },
  publishToNuget: { dotNetNamespace: 'CdkCmek', packageId: 'CdkCmek' },

  // Runtime code (Lambda handlers and what only they and the CLI run, in each area's `runtime/` folder) and the CLI
  // are bundled by esbuild, not compiled by jsii.
  excludeTypescript: ['src/**/runtime/**', 'src/cli/**'],
  // Handlers are bundled below (projen's auto-discovery cannot minify).
  lambdaAutoDiscover: false,

  jestOptions: {
    jestVersion: '^30',
    // A snapshot test must be able to fail in CI: `test:update` is the deliberate way to accept changes.
    updateSnapshot: UpdateSnapshot.NEVER,
    passWithNoTests: false,
    jestConfig: {
      testMatch: ['<rootDir>/test/**/*.test.ts'],
      coverageReporters: ['text-summary', 'lcov'],
    },
  },

  devDeps: [
    // What the library is developed and tested against (the peer dependency only sets the floor).
    'aws-cdk-lib@2.276.0',
    'ts-jest@^29.4.15',
    'cdk-nag@^3.0.2',
    '@cloud-copilot/iam-simulate',
    '@cloud-copilot/iam-policy',
    'aws-sdk-client-mock@^4.1.0',
    'aws-sdk-client-mock-jest@^4.1.0',
    '@aws-sdk/client-kms@^3.1164.0',
    '@aws-sdk/client-s3@^3.1164.0',
    '@aws-sdk/lib-storage@^3.1164.0',
    '@aws-sdk/client-secrets-manager@^3.1163.0',
    '@aws-sdk/client-ssm@^3.1164.0',
    '@aws-sdk/client-cloudwatch@^3.1164.0',
    // `cdk-cmek audit` across accounts and Regions: AssumeRole, Organizations ListAccounts, EC2 DescribeRegions.
    '@aws-sdk/client-sts@^3.1164.0',
    '@aws-sdk/client-organizations@^3.1164.0',
    '@aws-sdk/client-ec2@^3.1164.0',
    // `cdk-cmek retire`: the services whose resources record a KMS key (EC2 and S3, SNS and Secrets Manager are above
    // or in projenrc/deploy.ts), and CloudTrail for the disable time and use attempts.
    '@aws-sdk/client-rds@^3.1164.0',
    '@aws-sdk/client-dynamodb@^3.1164.0',
    '@aws-sdk/client-sqs@^3.1164.0',
    '@aws-sdk/client-lambda@^3.1164.0',
    '@aws-sdk/client-cloudtrail@^3.1137.0',
    '@aws-sdk/client-cloudwatch-logs@^3.1164.0',
    '@types/aws-lambda',
    'fast-check@^4',
    'commander@^14',
    'cli-table3@^0.6.5',
    'esbuild@^0.28',
    // The CDK CLI for `npx cdk synth` of the example app (the `latest` tag is an old, broken 3.0.0).
    'aws-cdk@^2.1148.1',
  ],

  gitignore: ['cdk.out', '.venv', '.tools', 'bench/results/*.tmp', '*.tsbuildinfo', 'interop/java/target'],
  npmIgnoreOptions: { ignorePatterns: ['examples', 'integ', 'bench', '.ci', 'cdk.json'] },
});

// jsii asks for a devDependency equal to the peer's floor; we develop against a newer aws-cdk-lib on purpose and
// `test:cdk-floor` covers the floor.
const jsiiFlags = '--silence-warnings=reserved-word --silence-warnings=metadata/missing-dev-dependency';
project.compileTask.reset(`jsii ${jsiiFlags}`);
project.tasks.tryFind('watch')?.reset(`jsii -w ${jsiiFlags}`);

// projen drops a constructs devDependency it did not add itself; the peer's floor is what we build with.
project.deps.addDependency('constructs@10.8.1', DependencyType.BUILD);

// `typescriptVersion` asks for an @types/node dist-tag that does not exist; match the Node we run on.
project.deps.removeDependency('@types/node');
project.addDevDeps('@types/node@^20');

// npm ci fails on a platform-specific optional dependency without this pin.
project.package.addField('overrides', { 'unrs-resolver': '1.12.2' });

// One type-checking view of everything that is linted: the library, the bundled handlers and CLI
// (which jsii does not compile), tests, the example app, integ apps and benchmarks.
const tsconfigLint = new TypescriptConfig(project, {
  fileName: 'tsconfig.dev.json',
  extends: TypescriptConfigExtends.fromPaths(['./tsconfig.json']),
  compilerOptions: { rootDir: '.', noEmit: true },
  include: ['src/**/*.ts', 'test/**/*.ts', 'examples/**/*.ts', 'integ/**/*.ts', 'bench/**/*.ts', '.projenrc.ts', 'projenrc/**/*.ts'],
  exclude: ['node_modules'],
});
const eslintrc = project.tryFindObjectFile('.eslintrc.json')!;
eslintrc.addDeletionOverride('parserOptions.projectService');
eslintrc.addOverride('parserOptions.project', `./${tsconfigLint.fileName}`);
// Code that is bundled (handlers, CLI) or never shipped may import devDependencies.
for (const pattern of ['examples/**', 'integ/**', 'bench/**', 'scripts/**', 'src/**/runtime/**', 'src/cli/**']) {
  project.eslint?.allowDevDeps(pattern);
}
project.eslint?.addLintPattern('examples');
project.eslint?.addLintPattern('integ');
project.eslint?.addLintPattern('bench');

// Handlers: minified, with the SDK version the tests ran against bundled in (the Lambda
// runtime's SDK may predate GetKeyLastUsage). Output: assets/<dir>/<name>.lambda/index.js.
const bundler = javascript.Bundler.of(project)!;
for (const entry of lambdaEntrypoints()) {
  bundler.addBundle(entry, {
    platform: 'node',
    target: 'node22',
    externals: [],
    minify: true,
    sourcemap: false,
    // The SDK's ES module builds tree-shake far better than its CommonJS ones (929 KB → 554 KB for S3 + KMS).
    mainFields: ['module', 'main'],
  });
}
// The `cdk-cmek` CLI: one self-contained executable file.
const cliEntry = 'src/cli/main.ts';
if (fs.existsSync(cliEntry)) {
  const cli = bundler.addBundle(cliEntry, {
    platform: 'node',
    target: 'node20',
    externals: [],
    minify: true,
    sourcemap: false,
    outfile: 'cdk-cmek.js',
    executable: true,
    banner: '#!/usr/bin/env node',
  });
  project.addBins({ 'cdk-cmek': cli.outfile });
}
// Tests and the example app load the bundles as Lambda assets; round-trip tests and the template
// linters run from a project-local Python virtualenv.
const pythonEnv = project.addTask('python:env', {
  description: 'Create or refresh .venv from requirements-dev.txt (moto, cryptography, cfn-lint, checkov)',
  exec: 'bash scripts/python-env.sh',
});
// The official S3 Encryption Client for Java (interop/java, built by Maven) reads what the handler writes and
// writes what `cdk-cmek decrypt` reads. `npm test` runs it where Java and Maven are installed and skips it elsewhere;
// this task fails instead of skipping.
project.addTask('test:interop-java', {
  description: 'Interop with the official Amazon S3 Encryption Client for Java on moto (needs Java 11+ and Maven)',
  env: { CDK_CMEK_REQUIRE_OFFICIAL_CLIENT: '1' },
  exec: 'jest --maxWorkers=1 --coverage=false test/envelope/official-client.test.ts',
});
// ts-jest transpiles file by file, and jsii checks only the library: type-check everything once.
const typecheck = project.addTask('typecheck', {
  description: 'Type-check the library, handlers, CLI, tests, examples, integ apps and benchmarks',
  exec: `tsc -p ${tsconfigLint.fileName} --noEmit`,
});
project.testTask.prependSpawn(typecheck);
project.testTask.prependSpawn(bundler.bundleTask);
project.testTask.prependSpawn(pythonEnv);

new JsonFile(project, 'cdk.json', {
  obj: {
    // The example app loads the handler bundles as assets: build them first when missing or older than src/, so
    // `npx cdk synth` works on a fresh clone. ts-node only transpiles (a synth in seconds, not minutes): `npm test`
    // type-checks the example app with everything else.
    app: 'npx ts-node --transpile-only --project tsconfig.dev.json scripts/check-assets.ts --build && npx ts-node --transpile-only --prefer-ts-exts examples/app.ts',
    context: {
      '@aws-cdk/core:checkSecretUsage': true,
      '@aws-cdk/aws-iam:minimizePolicies': true,
    },
  },
});

addQualityGates(project);
addBenchmarks(project);
addDeployTests(project);

project.synth();
