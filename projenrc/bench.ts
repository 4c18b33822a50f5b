// Benchmarks: the `bench` task (not part of the test command) and what it needs.
import { awscdk } from 'projen';

/** Where the benchmark sources are compiled to before they run (git-ignored). */
const BUILD_DIR = 'bench/.build';

/** Adds `npm run bench`. */
export function addBenchmarks(project: awscdk.AwsCdkConstructLibrary): void {
  // The AWS Encryption SDK is the envelope benchmark's reference point; nothing ships it.
  project.addDevDeps('@aws-crypto/client-node@^5.0.2');
  project.gitignore.exclude(`/${BUILD_DIR}/`);

  const bench = project.addTask('bench', {
    description: 'Run the benchmarks and write bench/results/latest.json, bench/RESULTS.md and bench/synth-time.svg',
  });
  // The call-count benchmark runs the handler against moto_server from the project's .venv.
  bench.spawn(project.tasks.tryFind('python:env')!);
  // Compiled once up front so that no measured child process pays for TypeScript compilation; packages stay
  // external so aws-cdk-lib and the SDK load as they do for users. The runner itself rebuilds the handler
  // bundles it measures, with the bundle tasks' own commands, into the build directory. No `--keep-names`: it wraps
  // every function the library creates in a naming helper, which the tsc-compiled package users install does not do.
  bench.exec(
    `esbuild bench/*.ts --bundle --platform=node --target=node20 --packages=external --log-level=warning --outdir=${BUILD_DIR}`,
  );
  bench.exec(`node ${BUILD_DIR}/run.js`, { receiveArgs: true });
}
