// Benchmarks: the `bench` task (not part of the test command).
import { awscdk } from 'projen';

/** Adds `npm run bench`. */
export function addBenchmarks(_project: awscdk.AwsCdkConstructLibrary): void {
}
